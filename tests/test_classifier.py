"""The focus-area classifier: taxonomy validation, safe loading, predictions, training flow, document summary."""

import json
import shutil
from pathlib import Path

import pytest

from pipeline.analysis.classify import ClassifierError, classify_measures, load_classifier
from pipeline.analysis.process import analyse_document
from pipeline.analysis.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from pipeline.config import PipelineConfig
from pipeline.errors import TiltakError
from pipeline.schema import Measure

SHIPPED = DEFAULT_TAXONOMY.parents[1]


def _measure(number: int, text: str) -> Measure:
    return Measure(id=f"m{number}", text=text, start=0, end=len(text), page=None, method="test")


def test_shipped_taxonomy_is_valid_and_has_the_fallback():
    taxonomy = load_taxonomy()
    assert taxonomy.fallback == "annet" and "annet" in taxonomy.ids
    assert len(taxonomy.ids) == 14 and taxonomy.display_name("klynger") == "Klynger"


@pytest.mark.parametrize(("yaml_text", "problem"), [
    ("name: x\nversion: '1'\nfallback: annet\nlabels:\n- {id: a, name: A, covers: a}\n- {id: a, name: B, covers: b}\n",
     "not unique"),
    ("name: x\nversion: '1'\nfallback: annet\nlabels:\n- {id: a, name: A, covers: a}\n- {id: b, name: B, covers: b}\n",
     "fallback"),
    ("name: x\nversion: '1'\nfallback: a\nlabels: [{id: a, name: A}]\n", "labels"),
    ("labels: [unclosed\n", "cannot read"),
])
def test_a_bad_taxonomy_is_refused_naming_the_file_and_the_problem(tmp_path: Path, yaml_text: str, problem: str):
    path = tmp_path / "taksonomi.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(TiltakError, match=problem) as caught:
        load_taxonomy(path)
    assert str(path) in str(caught.value)


def test_shipped_classifier_predicts_unseen_measures_with_scores_and_runner_up():
    classifier = load_classifier()
    assert classifier.info.name == "tiltak-focus-area" and classifier.info.taxonomy == "helsenaering"
    # Written for this test, not taken from the training data.
    texts = {
        "opprette et nytt testsenter der bedrifter kan prøve ut medisinsk utstyr i sykehusmiljø": "test_pilotering",
        "gjøre det enklere for sykehusene å delta i kliniske multisenterstudier med industrien": "kliniske_studier",
        "styrke norske selskapers deltakelse i EUs forsknings- og innovasjonsprogrammer": "internasjonalt_samarbeid",
        "bygge ut kollektivtilbudet i de største byene": "annet",
    }
    predictions = classifier.predict(list(texts))
    assert [p.label for p in predictions] == list(texts.values())
    for prediction in predictions:
        assert 0.0 <= prediction.runner_up_score <= prediction.score <= 1.0 or prediction.label == "annet"
        assert prediction.runner_up and prediction.runner_up != prediction.label


def test_classify_measures_fills_fields_and_summarises_the_document():
    measures = [_measure(1, "etablere en nasjonal plattform for tilgang til helsedata og helseregistre"),
                _measure(2, "forenkle søknader om tilgang til data fra kvalitetsregistrene"),
                _measure(3, "styrke eksportfremmearbeidet for norsk helseteknologi i utlandet")]
    summary = classify_measures(measures, load_classifier())
    assert [m.focus_area for m in measures] == ["helsedata", "helsedata", "eksport"]
    assert all(m.focus_area_score is not None and m.focus_area_runner_up for m in measures)
    assert [(s.label, s.count, s.measures) for s in summary] == [("helsedata", 2, ["m1", "m2"]),
                                                                ("eksport", 1, ["m3"])]
    assert sum(s.share for s in summary) == pytest.approx(1.0)


def test_a_tampered_artifact_is_refused(tmp_path: Path):
    copy = tmp_path / "klassifikator"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("data", "*.py", "__pycache__"))
    artifact = copy / "classifier.skops"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    with pytest.raises(ClassifierError, match="does not match its card"):
        load_classifier(copy)


def test_a_classifier_for_another_taxonomy_is_refused(tmp_path: Path):
    other = tmp_path / "taksonomi.yaml"
    other.write_text(DEFAULT_TAXONOMY.read_text(encoding="utf-8").replace("version: 1.1.0", "version: 1.1.1"),
                     encoding="utf-8")
    with pytest.raises(ClassifierError, match="trained on another taxonomy"):
        load_classifier(SHIPPED, other)


def test_train_classifier_flow_on_a_custom_taxonomy(prefect_harness, tmp_path: Path):
    from flows import train_classifier

    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text(
        "name: samferdsel\nversion: 0.1.0\nfallback: annet\nlabels:\n"
        "  - {id: vei, name: Vei, covers: roads}\n  - {id: jernbane, name: Jernbane, covers: rail}\n"
        "  - {id: annet, name: Annet, covers: other}\n", encoding="utf-8")
    topics = {
        "vei": ["bygge ny firefelts motorvei mellom {a} og {b}", "utbedre riksveien ved {a}",
                "redusere bompengene på veien til {b}", "asfaltere fylkesveiene rundt {a}"],
        "jernbane": ["bygge dobbeltspor på jernbanen mellom {a} og {b}", "elektrifisere togstrekningen til {a}",
                     "kjøpe nye togsett til lokaltogene ved {b}", "øke antall togavganger fra {a}"],
        "annet": ["styrke skolehelsetjenesten i {a}", "bygge nytt kulturhus i {b}",
                  "gi flere lærere videreutdanning i {a}", "øke støtten til idrettslag i {b}"],
    }
    places = [("Bergen", "Voss"), ("Trondheim", "Steinkjer"), ("Tromsø", "Narvik"), ("Oslo", "Hamar")]
    rows = [{"text": template.format(a=a, b=b), "label": label}
            for label, templates in topics.items() for template in templates for a, b in places]
    # The Hamar measures stand for ones rewritten from a real document: one source, so one cross-validation fold.
    for row in rows:
        if "Hamar" in row["text"]:
            row["source_url"] = "https://example.no/plan-for-innlandet?kapittel=3"
    data = tmp_path / "training.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    test = tmp_path / "test.jsonl"
    test.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "bygge dobbeltspor på jernbanen til Lillehammer", "label": "jernbane"},
        {"text": "utbedre riksveien ved Lillehammer", "label": "vei"},
        {"text": "gi flere lærere videreutdanning i Lillehammer", "label": "annet"},
        {"text": "asfaltere fylkesveiene rundt Gjøvik", "label": "jernbane"},  # mislabelled on purpose
    ]), encoding="utf-8")
    out = tmp_path / "modell"

    card = train_classifier(data=str(data), out=str(out), taxonomy=str(taxonomy), version="0.1.0", test=str(test))

    assert card["training_data"]["examples"] == 48 and card["taxonomy"]["labels"] == ["vei", "jernbane", "annet"]
    assert card["metrics"]["cv_macro_f1"] > 0.8
    from_source = sum("source_url" in row for row in rows)
    assert from_source == 6 and card["training_data"]["from_real_documents"] == from_source
    assert card["metrics"]["cv_real_documents"]["examples"] == from_source
    bands = card["metrics"]["cv_real_documents"]["reliability"]
    assert sum(band["measures"] for band in bands) == from_source
    assert all(band["score_from"] <= band["mean_score"] <= band["score_to"] for band in bands)
    held_out = card["metrics"]["held_out_test"]
    assert held_out["examples"] == 4 and held_out["top1_accuracy"] == 0.75 and held_out["sha256"]
    assert "## Held-out test" in (out / "README.md").read_text(encoding="utf-8")
    assert (out / "README.md").read_text(encoding="utf-8").startswith("# tiltak-focus-area 0.1.0")
    trained = load_classifier(out, taxonomy)
    assert [p.label for p in trained.predict(["bygge dobbeltspor på jernbanen til Kongsberg",
                                              "utbedre riksveien ved Kongsberg"])] == ["jernbane", "vei"]


def test_every_output_has_focus_areas_and_the_classifier_in_provenance(seeds_dir: Path):
    result = analyse_document(seeds_dir / "veikart-helsenaering-2023-artikkel.txt", PipelineConfig(nlp="blank"))
    assert all(m.focus_area and m.focus_area_score is not None for m in result.measures)
    assert sum(area.count for area in result.focus_areas) == len(result.measures)
    assert result.provenance.classifier.name == "tiltak-focus-area"
    assert result.provenance.classifier.artifact_sha256 == json.loads(
        (SHIPPED / "card.json").read_text(encoding="utf-8"))["artifact_sha256"]


def test_measures_from_one_real_document_share_a_cross_validation_group():
    from models.focus_area.train import Example, document_groups

    examples = [Example("a", "annet", "nb", "bullet", "https://example.no/melding?ch=3"),
                Example("b", "annet", "nb", "bullet", "https://example.no/melding?ch=5"),
                Example("c", "annet", "nb", "bullet", "https://example.no/strategi"),
                Example("d", "annet", "nb", "bullet"), Example("e", "annet", "nb", "bullet")]
    groups = document_groups(examples)
    assert groups[0] == groups[1] != groups[2]
    assert len(set(groups[2:])) == 3


def test_the_shipped_artifact_keeps_its_vocabularies_as_plain_integers():
    """skops writes each NumPy scalar as an archive member of its own; a vocabulary of NumPy ints made the
    artifact 34,000 members, twice the size and three times slower to load."""
    import zipfile

    card = json.loads((SHIPPED / "card.json").read_text(encoding="utf-8"))
    with zipfile.ZipFile(SHIPPED / card["artifact"]) as archive:
        assert len(archive.infolist()) < 500
    features = load_classifier().model.named_steps["features"]
    for _name, vectorizer in features.transformer_list:
        assert all(type(index) is int for index in vectorizer.vocabulary_.values())


def test_reliability_bands_count_how_often_the_top_label_is_right_by_score():
    import numpy as np

    from models.focus_area.train import reliability

    classes = ["a", "b"]
    probabilities = np.array([[0.95, 0.05], [0.92, 0.08], [0.3, 0.7], [0.45, 0.55], [1.0, 0.0]])
    bands = reliability(["a", "b", "b", "a", "a"], probabilities, classes)
    assert [(b["score_from"], b["measures"], b["accuracy"]) for b in bands] == [(0.4, 1, 0.0), (0.6, 1, 1.0),
                                                                                (0.9, 3, round(2 / 3, 3))]
