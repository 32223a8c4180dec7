"""Extractors: measures, actors and commitments from a structured, parsed document."""
