"""Loaders: one per format, all returning a SourceDocument; ``load_document`` picks one by content."""
