"""The shipped models produce the same measures, strengths and focus areas on the sample corpus as they did
before the hardening of issues #13 and #22 (exact type allowlist, pinned hashes, bounded loaders, linear
patterns). ``tests/data/sample_corpus_measures.json`` was written by tiltak 0.2.0 at commit 41d3f99, before those
changes, and regenerated after the deliberate rule changes of issue #15 (plan launches and commitments in a second
clause count; a plan's own follow-up does not) and of issue #18 (the policy-area classifier's document prior moved
three measures' policy areas into the focus taxonomy's scope, so they got a focus area); regenerate it only for a
deliberate change of extraction or models, and say so in the commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig

REPO = Path(__file__).resolve().parents[1]
SAVED = json.loads((REPO / "tests" / "data" / "sample_corpus_measures.json").read_text(encoding="utf-8"))
FIELDS = ("text", "start", "end", "strength", "focus_area", "focus_area_score", "focus_area_runner_up")


@pytest.mark.parametrize("name", sorted(SAVED))
def test_sample_document_gives_the_saved_measures(name):
    result = analyse_document(REPO / "corpus" / name, PipelineConfig())
    if result.provenance.nlp_model.kind != "shipped":  # an installed nb_core_news pipeline is preferred
        pytest.skip(f"saved with the shipped nb_tiltak_core; {result.provenance.nlp_model.name} ran")
    assert result.provenance.classifier.origin == "shipped"
    measures = [{field: getattr(m, field) for field in FIELDS} for m in result.measures]
    assert measures == SAVED[name]
