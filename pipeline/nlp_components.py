"""Kept so that an install made before the subpackages (its ``spacy_factories`` entry point names this module) still
finds the ``tiltak_block_boundaries`` factory; the components are in ``pipeline.analysis.nlp_components``.
Reinstalling (``pip install -e .``) points the entry point there."""

from pipeline.analysis.nlp_components import make_block_boundaries

__all__ = ["make_block_boundaries"]
