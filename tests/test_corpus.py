"""The sample corpus the README's main command runs on: intact, and every sample yields its measures."""

import hashlib
import json

import pytest
from conftest import REPO

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig
from pipeline.store.validate import document_errors

CORPUS = REPO / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
ENTRIES = MANIFEST["documents"] if isinstance(MANIFEST, dict) else MANIFEST


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["file"])
def test_sample_matches_manifest_and_is_analysed(entry):
    path = CORPUS / entry["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    result = analyse_document(path, PipelineConfig(nlp="blank"))
    assert document_errors(result.model_dump(mode="json")) == []
    assert result.document.language == entry["language"]
    assert result.document.document_type == entry["document_type"]
    assert result.document.format == entry["format"]
    assert len(result.measures) >= 3
