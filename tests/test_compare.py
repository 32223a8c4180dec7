"""Comparing documents: real Norwegian texts through the pipeline, then aligned, classified and summarised."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig
from pipeline.errors import TiltakError
from pipeline.research.compare import (
    COMPARISON_SCHEMA_FILE,
    ComparisonResult,
    align,
    alignment_text,
    compare_documents,
    comparison_errors,
    comparison_json_schema,
    load_result,
)
from pipeline.store.validate import SCHEMAS_DIR, render_schema

REPO = Path(__file__).resolve().parents[1]

INTRO = "Tiltak\n\nFor å styrke helsenæringen vil regjeringen:\n\n"
PLAN_2022 = (
    "Handlingsplan for helseteknologi 2022\n\nInnledning\n\nHelse- og omsorgsdepartementet har utarbeidet "
    "en handlingsplan for helseteknologi. Helsedirektoratet har bidratt med kunnskapsgrunnlaget.\n\n" + INTRO
    + " • etablere et nasjonalt senter for testing av medisinsk utstyr og e-helseløsninger i samarbeid med "
      "universitetssykehusene\n"
      " • styrke veiledningen om immaterielle rettigheter for gründere i helsesektoren\n"
      " • vurdere en nasjonal ordning for risikoavlastning når kommuner tar i bruk velferdsteknologi\n"
      " • gi Innovasjon Norge i oppdrag å styrke eksportrådgivningen til bedrifter i helsenæringen\n"
      " • utarbeide en strategi for persontilpasset medisin\n"
)
PLAN_2024 = (
    "Handlingsplan for helseteknologi 2024\n\nInnledning\n\nHelse- og omsorgsdepartementet har revidert "
    "handlingsplanen for helseteknologi. Norges forskningsråd har bidratt med kunnskapsgrunnlaget.\n\n" + INTRO
    + " • etablere et nasjonalt senter for testing av medisinsk utstyr og e-helseløsninger i samarbeid med "
      "universitetssykehusene\n"
      " • videreutvikle veiledningen om immaterielle rettigheter for gründere og forskere i helsesektoren, blant "
      "annet gjennom nye kurs\n"
      " • etablere en nasjonal ordning for risikoavlastning når kommuner tar i bruk velferdsteknologi\n"
      " • gi Innovasjon Norge og Siva i oppdrag å styrke eksportrådgivningen til bedrifter i helsenæringen\n"
      " • opprette et nasjonalt beredskapslager for legemidler\n"
)
PLAN_2026 = (
    "Handlingsplan for helseteknologi 2026\n\n" + INTRO
    + " • videreutvikle veiledningen om immaterielle rettigheter for gründere og forskere i helsesektoren, blant "
      "annet gjennom nye kurs\n"
      " • utrede et fond for kommersialisering av helseinnovasjoner fra kommunene\n"
)


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("plans")
    results = {}
    for name, text in (("plan-2022", PLAN_2022), ("plan-2024", PLAN_2024), ("plan-2026", PLAN_2026)):
        path = folder / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        results[name] = analyse_document(path, PipelineConfig(nlp="blank"))
    return results


@pytest.fixture(scope="module")
def comparison(documents) -> ComparisonResult:
    return compare_documents([documents["plan-2022"], documents["plan-2024"]])


def _pair_with(comparison: ComparisonResult, words: str):
    pair = comparison.pairs[0]
    return next(p for p in pair.aligned if words in p.a_text and words in p.b_text)


def test_the_fixture_documents_are_read_as_intended(documents):
    assert [len(documents[n].measures) for n in ("plan-2022", "plan-2024", "plan-2026")] == [5, 5, 2]


def test_an_unchanged_measure_is_continued_with_similarity_near_one(comparison):
    pair = _pair_with(comparison, "nasjonalt senter for testing")
    assert pair.status == "continued"
    assert pair.similarity >= 0.99 and pair.text_similarity >= 0.99
    assert pair.changed == []


def test_a_reworded_measure_is_modified_with_wording_changed(comparison):
    pair = _pair_with(comparison, "immaterielle rettigheter")
    assert pair.status == "modified"
    assert "wording" in pair.changed and "strength" not in pair.changed and "actors" not in pair.changed


def test_vurdere_to_etablere_is_modified_with_strength_changed(comparison):
    pair = _pair_with(comparison, "ordning for risikoavlastning")
    assert pair.status == "modified"
    assert "strength" in pair.changed
    assert (pair.a_strength, pair.b_strength) == ("exploratory", "binding")
    assert pair.similarity >= 0.99  # aligned on what the measure is about, without its action wording


def test_an_added_actor_makes_a_near_identical_measure_modified(comparison):
    pair = _pair_with(comparison, "eksportrådgivningen")
    assert pair.status == "modified"
    assert "actors" in pair.changed and pair.actors_added == ["Siva"] and pair.actors_removed == []
    assert comparison.pairs[0].measure_actors_gained == ["Siva"]


def test_new_and_dropped_measures(comparison):
    pair = comparison.pairs[0]
    assert [m.text for m in pair.new] == ["opprette et nasjonalt beredskapslager for legemidler"]
    assert [m.text for m in pair.dropped] == ["utarbeide en strategi for persontilpasset medisin"]
    assert pair.counts.model_dump() == {"continued": 1, "modified": 3, "new": 1, "dropped": 1}
    assert pair.new[0].nearest_similarity is not None and pair.new[0].nearest_similarity < 0.2


def test_focus_area_shares_and_deltas_add_up(comparison):
    a, b = comparison.documents
    for document in (a, b):
        assert sum(f.share for f in document.focus_areas) == pytest.approx(1.0, abs=1e-3)
        assert sum(f.count for f in document.focus_areas) == document.measure_count
    deltas = comparison.pairs[0].focus_area_deltas
    assert {d.label for d in deltas} == {f.label for f in a.focus_areas} | {f.label for f in b.focus_areas}
    for d in deltas:
        assert d.delta == pytest.approx(d.b_share - d.a_share, abs=1e-3)
    assert sum(d.delta for d in deltas) == pytest.approx(0.0, abs=1e-3)
    assert [abs(d.delta) for d in deltas] == sorted((abs(d.delta) for d in deltas), reverse=True)


def test_strength_profile_shares_and_deltas(comparison):
    a, b = comparison.documents
    for document in (a, b):
        profile = document.strength_profile
        shares = profile.binding + profile.intention + profile.exploratory + profile.unassessed
        assert shares == pytest.approx(1.0, abs=1e-3)
        assert sum(profile.counts.values()) == document.measure_count
    # 2022: 3 binding, 1 intention, 1 exploratory; 2024: the "vurdere" measure became binding.
    assert (a.strength_profile.binding, a.strength_profile.exploratory) == (0.6, 0.2)
    assert (b.strength_profile.binding, b.strength_profile.exploratory) == (0.8, 0.0)
    deltas = comparison.pairs[0].strength_deltas
    assert (deltas.binding, deltas.intention, deltas.exploratory) == (pytest.approx(0.2), 0.0, pytest.approx(-0.2))


def test_actors_gained_and_lost(comparison):
    pair = comparison.pairs[0]
    assert {"Norges forskningsråd", "Siva"} <= set(pair.actors_gained)
    assert "Helsedirektoratet" in pair.actors_lost
    assert not set(pair.actors_gained) & set(pair.actors_lost)


def test_three_documents_are_compared_each_with_the_next(documents):
    result = compare_documents([documents[n] for n in ("plan-2022", "plan-2024", "plan-2026")])
    assert [(p.a, p.b, p.a_id, p.b_id) for p in result.pairs] == [
        (0, 1, "plan-2022", "plan-2024"), (1, 2, "plan-2024", "plan-2026")]
    later = result.pairs[1]
    assert (later.aligned[0].status, later.aligned[0].changed) == ("continued", [])


def test_leftovers_with_little_in_common_are_not_aligned(documents):
    # Until the refit on 29 real pairs this failed: at the threshold then (0.35) the two leftovers of a small document
    # ('gi Innovasjon Norge … eksportrådgivningen' / 'utrede et fond … helseinnovasjoner') were aligned.
    later = compare_documents([documents[n] for n in ("plan-2024", "plan-2026")]).pairs[0]
    assert [(p.status, p.changed) for p in later.aligned] == [("continued", [])]
    assert later.counts.dropped == 4 and [m.text[:20] for m in later.new] == ["utrede et fond for k"]


def test_fewer_than_two_documents_are_refused(documents):
    with pytest.raises(TiltakError, match="at least two"):
        compare_documents([documents["plan-2022"]])


def test_alignment_is_one_to_one_and_a_weak_pair_never_displaces_a_strong_one():
    similarity = np.array([[0.5, 0.45], [0.1, 0.0]])
    # Maximising the raw total would pair a0-b1 (0.45) and a1-b0 (0.1): 0.55 > 0.5. The a1-b0 pair is below the
    # threshold and would be dropped afterwards, leaving a0 with its second-best match; only eligible pairs count.
    assert align(similarity, 0.2) == [(0, 0, 0.5)]
    assert align(np.zeros((0, 3)), 0.2) == []


def test_alignment_text_drops_only_a_leading_action_wording():
    assert alignment_text("Legge til rette for næringslivets tilgang til helsedata") == (
        "næringslivets tilgang til helsedata")
    assert alignment_text("vurdere insentiver for kommersialisering") == "insentiver for kommersialisering"
    assert alignment_text("etableringen av et senter") == "etableringen av et senter"  # not a whole word
    assert alignment_text("Siva gis i oppdrag å utrede katapultordningen") == (
        "Siva gis i oppdrag å utrede katapultordningen")


def test_the_committed_comparison_schema_is_generated_from_the_models():
    committed = (SCHEMAS_DIR / COMPARISON_SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == render_schema(comparison_json_schema()), "stale: regenerate with `tiltak schema --write`"


def test_the_comparison_json_validates_against_the_committed_schema(comparison):
    data = json.loads(json.dumps(comparison.model_dump(mode="json")))
    schema = json.loads((SCHEMAS_DIR / COMPARISON_SCHEMA_FILE).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(data)) == []
    assert comparison_errors(data) == []
    data["pairs"][0]["aligned"][0]["status"] = "unchanged"
    assert any("unchanged" in error for error in comparison_errors(data))


def test_load_result_names_the_file_and_the_reason(tmp_path):
    with pytest.raises(TiltakError, match=r"mangler\.json: no such file"):
        load_result(tmp_path / "mangler.json")
    other = tmp_path / "annet.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(TiltakError, match=r"annet\.json: not a tiltak document JSON"):
        load_result(other)


def _write_outputs(documents, folder: Path) -> list[Path]:
    paths = []
    for name in ("plan-2022", "plan-2024", "plan-2026"):
        path = folder / f"{name}.json"
        path.write_text(json.dumps(documents[name].model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def test_compare_flow_writes_a_valid_comparison(prefect_harness, documents, tmp_path):
    from flows import compare_flow

    paths = _write_outputs(documents, tmp_path)
    out = tmp_path / "sammenligning" / "plan.json"
    returned = compare_flow(paths=[str(p) for p in paths], out=str(out))
    written = json.loads(out.read_text(encoding="utf-8"))
    assert comparison_errors(written) == []
    assert written["pairs"] == returned["pairs"] and len(written["pairs"]) == 2
    assert [d["id"] for d in written["documents"]] == ["plan-2022", "plan-2024", "plan-2026"]
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def _app() -> typer.Typer:
    from pipeline.cli.compare import register

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """tiltak (test)"""

    register(app)
    return app


def test_cli_compare_refuses_a_bad_file_in_one_line(documents, tmp_path):
    paths = _write_outputs(documents, tmp_path)
    runner = CliRunner()
    missing = tmp_path / "mangler.json"
    result = runner.invoke(_app(), ["compare", str(paths[0]), str(missing)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"tiltak: error: {missing}: no such file"]
    broken = tmp_path / "ødelagt.json"
    broken.write_text("{ikke json", encoding="utf-8")
    result = runner.invoke(_app(), ["compare", str(broken), str(paths[1])])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1
    assert lines[0].startswith(f"tiltak: error: {broken}: not a tiltak document JSON")
    result = runner.invoke(_app(), ["compare", str(paths[0])])
    assert result.exit_code == 2 and "at least two" in result.output


def test_cli_compare_prints_a_summary_and_writes_the_file(prefect_harness, documents, tmp_path):
    paths = _write_outputs(documents, tmp_path)
    out = tmp_path / "plan-sammenligning.json"
    result = CliRunner().invoke(_app(), ["compare", *map(str, paths[:2]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "plan-2022" in result.output and "continued" in result.output
    assert "exploratory → binding" in result.output
    assert "new      m5: opprette et nasjonalt beredskapslager" in result.output
    assert comparison_errors(json.loads(out.read_text(encoding="utf-8"))) == []


def _benchmark():
    spec = importlib.util.spec_from_file_location("compare_seeds", REPO / "benchmarks" / "compare_seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Measured (blank NLP, the pair scorer of pipeline/research/similarity.py, fitted on 39 real document pairs and the
# development pair, never on the seeds): 3 predicted pairs, 2 correct, of 8 gold pairs: precision 0.67, recall 0.25,
# 1 of the 3 clear pairs found (fitted on 29 real pairs before the seventh session: 0.60 and 0.375; on the first 19:
# 0.44 and 0.50; the earlier TF-IDF method: 0.50 and 0.25); the correct pairs agree with gold on modified. A
# regression check, with a margin.
SEED_PRECISION, SEED_RECALL, MARGIN = 0.67, 0.25, 0.1


def test_seed_alignment_against_the_gold_alignment(seeds_dir):
    report = _benchmark().evaluate_alignment(seeds_dir, nlp="blank")
    assert report["measures_mapped"] == {"a": "31/31", "b": "13/13"}
    assert report["alignment"]["precision"] >= SEED_PRECISION - MARGIN
    assert report["alignment"]["recall"] >= SEED_RECALL - MARGIN / 2
    assert report["status_agreement"]["accuracy"] == 1.0


def test_gold_alignment_names_measures_without_copying_their_text(seeds_dir):
    alignment, gold_a, gold_b = _benchmark().load_gold(seeds_dir)  # checks every hash against the gold files
    raw = (REPO / "benchmarks" / "gold" / "seed_alignment.json").read_text(encoding="utf-8").lower()
    assert not [m["text"] for m in gold_a + gold_b if m["text"].lower()[:40] in raw]
    assert [item["b_index"] for item in alignment["alignment"]] == list(range(len(gold_b)))
    assert {item["status"] for item in alignment["alignment"]} <= {"continued", "modified", "new"}
