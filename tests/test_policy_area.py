"""Policy areas (CAP major topics, issue #18): the shipped classifier loads after its checks, measures of every
field get their CAP code through the real pipeline, focus areas stay null outside the domain taxonomy's scope, the
output validates, a short measure takes its field from its document (the document prior), and the recipe's nested
grouped cross-validation is reproducible."""

import json
import shutil
from pathlib import Path

import pytest

from pipeline.analysis.classify import check_artifact_types, classify_measures, load_classifier
from pipeline.analysis.policy_area import (
    CAP_CODES,
    DEFAULT_POLICY_AREAS,
    DEFAULT_POLICY_MODEL,
    POLICY_ARTIFACT_TYPES,
    PolicyAreaError,
    classify_policy_areas,
    document_reading_features,
    document_text,
    document_window,
    load_policy_areas,
    load_policy_classifier,
    measure_context,
    weighted_features,
)
from pipeline.analysis.process import analyse_document
from pipeline.analysis.taxonomy import load_taxonomy
from pipeline.config import PipelineConfig
from pipeline.schema import DocumentResult, Measure
from pipeline.store.validate import document_errors

REPO = Path(__file__).resolve().parents[1]
TEXTS = REPO.parent / "shared" / "corpora" / "policy-pages" / "texts"


def test_the_taxonomy_holds_the_21_cap_major_topics_with_three_labels_each():
    taxonomy = load_policy_areas()
    assert tuple(taxonomy.codes) == CAP_CODES
    for topic in taxonomy.topics:
        assert topic.name and topic.name_nn and topic.name_en and len(topic.description) > 40
    assert taxonomy.label(3) == "Helse" and taxonomy.label(16) == "Forsvar"


def test_the_shipped_artifact_loads_after_its_sha256_and_types_are_checked():
    card = json.loads((DEFAULT_POLICY_MODEL / "card.json").read_text(encoding="utf-8"))
    data = (DEFAULT_POLICY_MODEL / card["artifact"]).read_bytes()
    check_artifact_types(data, DEFAULT_POLICY_MODEL / card["artifact"], POLICY_ARTIFACT_TYPES)  # raises otherwise
    classifier = load_policy_classifier()
    assert classifier.info.artifact_sha256 == card["artifact_sha256"]
    assert classifier.document_weight == card["evaluation"]["cross_validation"]["document_weight"]
    assert sorted(classifier.classes) == sorted(CAP_CODES)
    assert load_policy_classifier() is classifier  # once per process
    # The card describes the data in the repository: retraining on changed data must rewrite it.
    for part in ("own_words", "terms"):
        entry = card["training_data"][part]
        import hashlib
        assert hashlib.sha256((DEFAULT_POLICY_MODEL / "data" / entry["file"]).read_bytes()).hexdigest() == \
            entry["sha256"]


def test_a_damaged_artifact_is_refused_before_loading(tmp_path: Path):
    folder = tmp_path / "policy"
    shutil.copytree(DEFAULT_POLICY_MODEL, folder, ignore=shutil.ignore_patterns("data", "*.py"))
    artifact = folder / "classifier.skops"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    with pytest.raises(PolicyAreaError, match=r"classifier\.skops: sha256 .* does not match its card"):
        load_policy_classifier(folder)


def _document(tmp_path: Path) -> Path:
    # Measures in the project's own words (not in the training data), from different fields, in both standards.
    text = (
        "Handlingsplan for fylket 2027–2030\n\n"
        "Fylkeskommunen vil:\n\n"
        "- byggje ny rassikra tunnel på fylkesvegen mellom dei to ferjekaiane og auke talet på bussavgangar\n"
        "- kjøpe inn fleire kunstverk til fylkesgalleriet og gje stipend til unge forfattarar og musikarar\n"
        "- øke antallet heimevernssoldater i regionen og bygge et nytt øvingsfelt for Hæren\n"
        "- etablere et regionalt testsenter der bedrifter kan prøve ut ny medisinsk teknologi sammen med "
        "sykehuset\n"
    )
    path = tmp_path / "handlingsplan.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_measures_of_different_fields_get_their_cap_code_through_the_pipeline(tmp_path: Path):
    result = analyse_document(_document(tmp_path), PipelineConfig(nlp="blank"))
    by_field = {m.text.split()[0]: m for m in result.measures}
    assert set(by_field) == {"byggje", "kjøpe", "øke", "etablere"}, [m.text for m in result.measures]
    transport, culture, defence, health = (by_field[v] for v in ("byggje", "kjøpe", "øke", "etablere"))
    assert (transport.policy_area, transport.policy_area_label) == (10, "Transport")  # Nynorsk
    assert culture.policy_area == 23  # Nynorsk
    assert (defence.policy_area, defence.policy_area_label) == (16, "Forsvar")  # Bokmål
    assert health.policy_area in (3, 17)  # Bokmål: a health-technology test centre (health or technology)
    for measure in result.measures:
        assert 0 < measure.policy_area_runner_up_score <= measure.policy_area_score <= 1
        assert measure.policy_area_runner_up != measure.policy_area
    # Outside the health-industry taxonomy's scope: no focus area (not `annet`); inside: one.
    for measure in (transport, culture, defence):
        assert measure.focus_area is None and measure.focus_area_score is None
    assert health.focus_area == "test_pilotering"
    # The document's distribution: every measure once, counts per code.
    assert sum(s.count for s in result.policy_areas) == len(result.measures)
    assert {s.code for s in result.policy_areas} == {m.policy_area for m in result.measures}
    assert [s.label for s in result.focus_areas] == ["test_pilotering"]
    assert result.provenance.policy_area_classifier.name == "tiltak-policy-area"
    # The output validates against the published schema (1.2.0) and round-trips through the models.
    data = json.loads(result.model_dump_json())
    assert data["schema_version"] == "1.2.0" and document_errors(data) == []
    assert DocumentResult.model_validate(data).measures[0].policy_area == result.measures[0].policy_area


def test_focus_area_is_null_exactly_outside_the_taxonomy_scope():
    taxonomy = load_taxonomy()
    assert taxonomy.scope == [3, 6, 15, 17, 18, 19, 20]
    classifier = load_classifier()
    text = "opprette flere kliniske studier i sykehusene i samarbeid med legemiddelindustrien"
    measures = [Measure(id=f"m{i}", text=text, start=0, end=len(text), page=None, method="test", policy_area=code)
                for i, code in enumerate((3, 10, None, 23))]
    summaries = classify_measures(measures, classifier)
    assert [m.focus_area is not None for m in measures] == [True, False, True, False]
    assert measures[0].focus_area == "kliniske_studier"
    assert summaries[0].count == 2 and summaries[0].share == 1.0  # shares among the measures in scope


def test_context_is_cut_at_whole_words():
    text = "ord " * 200 + "MÅLET" + " etter" * 100
    start = text.index("MÅLET")
    context = measure_context(text, start, start + 5)
    assert "MÅLET" not in context and context.startswith("ord") and context.endswith("etter")
    assert len(context) <= 400 + 200 + 1


# Three documents of different fields (the project's own words), each ending in the same short list item that names
# no field: only the document says which field it belongs to.
SHORT_MEASURE_DOCUMENTS = {
    10: "Ferjestrategi for fylkesvegane\n\nFylket har mange ferjesamband, og mange reisande er avhengige av ferja "
        "for å kome seg til jobb og skule. Ferjeprisane har auka, og ventetida ved kaiane er lang om sommaren. "
        "Fylkeskommunen vil:\n\n- ",
    3: "Plan for sjukeheimar og heimetenester\n\nKommunen får fleire eldre som treng pleie og omsorg. Ventelistene til "
       "sjukeheimsplass er lange, og heimetenesta manglar sjukepleiarar. Kommunen vil:\n\n- ",
    6: "Skolebehovsplan for kommunen\n\nElevtallet i grunnskolen øker, og flere skoler mangler lærere med fordypning "
       "i matematikk. Kommunen vil:\n\n- ",
}


@pytest.mark.parametrize("measure", ["styrkje ordninga", "øke bevilgningen"])
def test_a_short_measure_gets_its_field_from_its_document(measure: str):
    classifier = load_policy_classifier()
    assert 0 < classifier.document_weight < 1
    alone = set()
    for code, opening in SHORT_MEASURE_DOCUMENTS.items():
        text = opening + measure + "\n"
        start = text.index(measure)
        item = Measure(id="m1", text=measure, start=start, end=start + len(measure), page=None, method="test")
        [summary] = classify_policy_areas([item], text, classifier)
        assert item.policy_area == summary.code == code, (code, item.policy_area)
        assert 0 < item.policy_area_runner_up_score <= item.policy_area_score <= 1
        [without_document] = classifier.predict([measure], [measure_context(text, start, item.end)])
        alone.add(without_document.code)
    assert len(alone) == 1  # the measure and its near context alone give one answer whatever the document


def test_measures_close_together_share_one_document_reading():
    text = "Tittel på planen\n" + "ord " * 2000
    windows = {document_window(text, start, start + 40) for start in range(3000, 3400, 20)}
    assert len(windows) == 1
    [window] = windows
    assert window[1] - window[0] <= 6000 and window[0] <= 3000 and window[1] >= 3440
    assert document_text(text, window).startswith("Tittel på planen\n")
    assert document_window("kort tekst", 0, 4) == (0, 10)


def _reading_cases() -> list[tuple[str, str]]:
    """Texts to read windows of: long ones made of real pages (many windows overlap, so the pieces are shared),
    and ones written here for the edges (no whitespace to cut at, only whitespace, hyphens, Greek final sigma)."""
    cases = [("no whitespace", "Tittel\n" + "a" * 9000), ("only whitespace", " \n\t" * 3000),
             ("edges", "Tittel på planen\n\nΣΟΦΟΣ helse-  og omsorgs-departementet -- x- -y a--b  \t\n" * 120)]
    if TEXTS.is_dir():
        pages = [path.read_text(encoding="utf-8") for path in sorted(TEXTS.glob("*.txt"))[:90]]
        cases += [(f"pages {i}-{i + 30}", "\n\n".join(pages[i:i + 30])) for i in range(0, 90, 30)]
    return cases


@pytest.mark.parametrize("name, text", _reading_cases(), ids=[name for name, _text in _reading_cases()])
def test_the_document_reading_from_shared_pieces_equals_reading_each_window(name: str, text: str):
    """The fast reading (each piece of the text featurised once) gives the rows that featurising every window's
    own text gives, for windows anywhere in the text, overlapping or not, and the same topics."""
    import random

    classifier = load_policy_classifier()
    rng = random.Random(len(text))
    starts = sorted(rng.sample(range(len(text)), 60))
    windows = list(dict.fromkeys(document_window(text, start, min(len(text), start + rng.randint(0, 400)))
                                 for start in starts))
    fast = document_reading_features(classifier.idf, text, windows)
    direct = weighted_features(classifier.idf, [document_text(text, window) for window in windows],
                               [""] * len(windows))
    assert fast.shape == direct.shape == (len(windows), direct.shape[1])
    assert abs(fast - direct).max() < 1e-12
    assert (classifier.model.predict_proba(fast).argmax(axis=1)
            == classifier.model.predict_proba(direct).argmax(axis=1)).all()


def test_the_recipe_reproduces_its_grouped_cross_validation_on_a_subset(tmp_path: Path, prefect_harness):
    """A quick version of `tiltak train-policy-area` (the real Prefect flow) on 60 annotated pages: the figures in
    the card are those of the recipe's cross-validation, the same on a second run, and the model it writes loads."""
    if not TEXTS.is_dir():
        pytest.skip("../shared/corpora/policy-pages/texts is not present")
    from flows import train_policy_area
    from models.policy_area.train import DEFAULT_ANNOTATIONS, cross_validate, read_own_words, read_real_measures

    annotations = tmp_path / "annotations"
    (annotations / "first").mkdir(parents=True)
    (annotations / "adjudicated").mkdir()
    pages = [p for p in sorted((DEFAULT_ANNOTATIONS / "first").glob("*.json"))
             if json.loads(p.read_text(encoding="utf-8"))["measures"]][:60]
    for page in pages:
        shutil.copy(page, annotations / "first" / page.name)
        adjudicated = DEFAULT_ANNOTATIONS / "adjudicated" / page.name
        if adjudicated.is_file():
            shutil.copy(adjudicated, annotations / "adjudicated" / page.name)
    out = tmp_path / "model"

    card = train_policy_area(annotations=str(annotations), texts=str(TEXTS), out=str(out), folds=3)

    real = read_real_measures(annotations, TEXTS)
    again = cross_validate(read_own_words(), real, folds=3)
    figures = card["evaluation"]["cross_validation"]
    assert figures["overall"] == again["overall"] and figures["per_topic"] == again["per_topic"]
    assert figures["overall"]["measures"] == len(real) == card["training_data"]["real_measures"]["measures"]
    assert 0.3 < figures["overall"]["top1_accuracy"] <= figures["overall"]["top2_accuracy"] <= 1.0
    # The document weight: chosen per outer fold on its training sites (nested), the shipped one on all sites.
    assert len(figures["document_weight_per_fold"]) == 3
    grid = {row["document_weight"] for row in figures["document_weight_grid"]}
    assert set(figures["document_weight_per_fold"]) <= grid and figures["document_weight"] in grid
    assert set(figures["per_language"]) <= {"nb", "nn"}
    assert "top-1" in (out / "README.md").read_text(encoding="utf-8")
    classifier = load_policy_classifier(out, DEFAULT_POLICY_AREAS)
    assert classifier.info.artifact_sha256 == card["artifact_sha256"]
    assert classifier.document_weight == figures["document_weight"]
    assert classifier.document_weight == figures["document_weight"]
    [prediction] = classifier.predict(["bygge ny firefelts riksvei og flere gang- og sykkelveier"])
    assert prediction.code == 10
