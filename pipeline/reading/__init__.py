"""Reading a document: finding inputs, the format loaders, normalising, structure (headings, lists, pages) and
document metadata."""
