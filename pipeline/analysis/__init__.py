"""Analysing a read document: the spaCy pipeline, the per-document stages, classification, taxonomy, assembly and
scoring against gold."""
