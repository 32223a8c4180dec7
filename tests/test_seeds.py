"""The issue's acceptance check on the two real seed documents: every list measure, with exact spans."""

import json

import pytest

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig
from pipeline.schema import Language
from pipeline.store.validate import document_errors

CONFIG = PipelineConfig(nlp="blank")


@pytest.mark.parametrize(
    ("name", "list_measures"),
    [("meld-st-18-2018-2019-sammendrag", 31), ("veikart-helsenaering-2023-artikkel", 12)],
)
def test_seed_list_measures_match_gold_spans(seeds_dir, name: str, list_measures: int):
    result = analyse_document(seeds_dir / f"{name}.txt", CONFIG)
    gold = json.loads((seeds_dir / f"{name}.gold.json").read_text(encoding="utf-8"))
    gold_texts = {m["text"] for m in gold["measures"]}

    assert sum(m.method == "list_under_intro" for m in result.measures) == list_measures
    for measure in result.measures:
        assert result.text[measure.start : measure.end] == measure.text
        assert measure.text in gold_texts, measure.text
    assert result.document.language == Language.BOKMAAL
    assert document_errors(result.model_dump(mode="json")) == []


def test_seed_intros_and_sections_are_kept(seeds_dir):
    result = analyse_document(seeds_dir / "meld-st-18-2018-2019-sammendrag.txt", CONFIG)
    first = result.measures[0]
    assert first.intro.endswith("vil regjeringen:")
    assert first.section[-1] == "Kultur og ledelse"
    assert first.method == "list_under_intro"
    # The committee's wish list ("Komiteen ønsker …") is not the government's measures.
    assert not any("Styrke tilgangen til risikokapital" in m.text for m in result.measures)
    assert result.provenance.nlp_model.kind == "blank"
    assert any("blank tokenizer" in w for w in result.document.warnings)
