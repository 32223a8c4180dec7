"""The Norwegian-aware pair scorer: compounds, Nynorsk, nominal style and amounts on our own sentences, the
evidence in the comparison JSON, and the cross-validated alignment on the real document pairs (from ../shared)."""

import importlib.util
import sys
from pathlib import Path

import pytest

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig
from pipeline.research import similarity
from pipeline.research.compare import compare_documents, comparison_errors, status_of, wording_overlap

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO.parent / "shared" / "corpora" / "policy-pages"


def test_compounds_split_into_known_lemmas_with_an_inflected_head():
    assert similarity.split_compound(similarity.lemma("helseteknologiordningen")) == ("helse", "teknologi", "ordning")
    assert similarity.split_compound(similarity.lemma("straumstøtteordninga")) == ("strøm", "støtte", "ordning")
    # a word of its own is not split into look-alike parts
    assert similarity.split_compound("fortsette") == ("fortsette",)
    assert similarity.split_compound("trussel") == ("trussel",)


def test_known_nouns_and_compounds_with_an_unknown_first_part_give_their_parts():
    # a noun the treebank knows is split when its parts are long and far more frequent than it
    assert similarity.split_compound("kulturfelt") == ("kultur", "felt")
    # an unknown compound keeps its known head, inflected or not
    assert similarity.split_compound(similarity.lemma("flerårsmagasinene"))[-1] == "magasin"
    # a well-known verb or a short noun stays whole
    assert similarity.split_compound("fortsette") == ("fortsette",)
    assert similarity.split_compound("trussel") == ("trussel",)


def test_a_compound_head_left_out_before_a_conjunction_is_restored():
    assert "innleie" in similarity.roots("nye regler for inn- og utleie av arbeidskraft")
    assert "distriktspolitikk" in similarity.roots("Distrikts- og regionalpolitikk")


def test_verbal_nouns_in_ning_and_else_map_to_their_verb():
    assert similarity.verb_of_noun("bevilgning") == "bevilge"
    assert similarity.verb_of_noun(similarity.lemma("ansettelser")) == "ansette"
    assert "ansette" in similarity.roots("færre midlertidige ansettelser")


def test_a_compound_and_its_spelled_out_phrase_share_their_parts():
    compound = similarity.roots("Etablere helseteknologiordningen")
    phrase = similarity.roots("etablere en ordning for helseteknologi")
    assert {"helse", "teknologi", "ordne", "etablere"} <= set(compound) & set(phrase)


def test_nynorsk_and_bokmal_forms_of_one_sentence_have_the_same_roots():
    nynorsk = "Kommunane skal få betre tilbod om opplæring, og straumstøtta skal aukast"
    bokmal = "Kommunene skal få bedre tilbud om opplæring, og strømstøtten skal økes"
    assert similarity.roots(nynorsk) == similarity.roots(bokmal)
    assert wording_overlap(nynorsk, bokmal) == 1.0
    assert status_of(nynorsk, bokmal, "binding", "binding", [], []) == "continued"
    assert status_of(nynorsk, bokmal, "binding", "intention", [], []) == "modified"  # strength changed


def test_a_new_action_verb_makes_a_near_identical_wording_modified():
    before = "styrke rådgivningen om patenter for gründere i havnæringen"
    after = "videreutvikle rådgivningen om patenter for gründere i havnæringen"
    assert wording_overlap(before, after) >= 0.8
    assert status_of(before, after, None, None, [], []) == "modified"
    assert status_of(before, "Regjeringen vil " + before, None, None, [], []) == "continued"


def test_a_phrasal_verb_in_nynorsk_matches_the_one_word_verb():
    assert similarity.roots("No skal planen setjast i verk") == similarity.roots("Nå skal planen iverksettes")


def test_nominal_and_verbal_style_share_the_action_verb():
    assert similarity.action_verb("Etablering av et nasjonalt testsenter") == "etablere"
    assert similarity.action_verb("etablere et nasjonalt testsenter") == "etablere"
    assert similarity.verb_of_noun("styrking") == "styrke"


def test_amounts_are_compared_by_value_and_years_are_not_amounts():
    assert similarity.amounts("1,4 milliarder kroner i 2024") == similarity.amounts("1 400 millioner kroner")
    assert similarity.amounts("fra 2025 til 2030") == set()
    # inflected unit words, and a rounded amount against the exact one
    assert similarity.amounts("dei 3,2 milliardane") == {3.2e9}
    assert similarity.same_amounts(similarity.amounts("3,2 milliardar"), similarity.amounts("3 247 mill. kroner"))
    assert not similarity.same_amounts(similarity.amounts("3,2 milliardar"), similarity.amounts("3 500 mill."))


def test_signals_carry_the_shared_evidence_and_the_best_candidate_scores_highest():
    earlier = ["øke bevilgningen til helseteknologiordningen med 1,4 milliarder kroner",
               "styrke samarbeidet med kommunene om velferdsteknologi"]
    later = ["Regjeringa vil auke løyvinga til ordninga for helseteknologi til 1 400 millionar kroner",
             "legge fram en stortingsmelding om eldreomsorg"]
    signals = similarity.pair_signals(earlier, later)
    pair = signals[0][0]
    assert {"helse", "teknologi"} <= set(pair.shared_roots)
    assert pair.same_amount == 1.0 and pair.shared_amounts == [1.4e9]
    assert pair.best == pytest.approx((pair.char + pair.roots) / 2)  # a mutual best: closeness 1 × similarity
    scores = [[similarity.probability(s) for s in row] for row in signals]
    assert scores[0][0] >= similarity.MIN_PROBABILITY
    assert max(scores[0][1], scores[1][0], scores[1][1]) < similarity.MIN_PROBABILITY


def _document(tmp_path: Path, name: str, items: list[str]):
    path = tmp_path / f"{name}.txt"
    path.write_text("Tiltak\n\nFor å styrke helsenæringen vil regjeringen:\n\n"
                    + "\n".join(f" • {item}" for item in items) + "\n", encoding="utf-8")
    return analyse_document(path, PipelineConfig(nlp="blank"))


def test_aligned_pairs_carry_their_evidence_in_the_comparison_json(tmp_path):
    earlier = _document(tmp_path, "plan-2022", [
        "etablere en ordning for helseteknologi i kommunene",
        "styrke veiledningen om immaterielle rettigheter for gründere",
        "utarbeide en strategi for persontilpasset medisin",
    ])
    later = _document(tmp_path, "plan-2024", [
        "Videreutvikle helseteknologiordningen i kommunane",
        "opprette et nasjonalt beredskapslager for legemidler",
    ])
    comparison = compare_documents([earlier, later])
    pair = comparison.pairs[0]
    assert [(a.a_text, a.b_text) for a in pair.aligned] == [(earlier.measures[0].text, later.measures[0].text)]
    evidence = pair.aligned[0].evidence
    assert {"helse", "teknologi", "ordne", "kommune"} <= set(evidence.shared_roots)
    assert set(evidence.signals) == set(similarity.Signals.FEATURES)
    assert evidence.contributions["best"] > 0
    assert {m.text for m in pair.new} == {later.measures[1].text}
    assert len(pair.dropped) == 2
    assert comparison_errors(comparison.model_dump(mode="json")) == []


def _real_benchmark():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("compare_real", REPO / "benchmarks" / "compare_real.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def real_pairs():
    if not (PAGES / "texts").is_dir():
        pytest.skip(f"the policy pages are not at {PAGES}")
    module = _real_benchmark()
    return module, module.load_pairs(PAGES)


def test_real_gold_names_measures_by_span_and_copies_no_text(real_pairs):
    module, pairs = real_pairs
    raw = module.GOLD.read_text(encoding="utf-8").lower()
    texts = [t for p in pairs for side in ("a", "b") for t in p[side]["texts"]]
    assert len(pairs) >= 15 and sum(len(p["gold"]) for p in pairs) >= 20
    assert not [t for t in texts if len(t) > 30 and t.lower()[:30] in raw]


def test_cross_validated_alignment_on_real_pairs_beats_the_earlier_method(real_pairs):
    module, pairs = real_pairs
    pairs = [*pairs, module.development_pair()]
    n = len(pairs) - 1
    before = module._score(module.before(pairs)[1][:n], pairs[:n])
    _, found, _, among = module.cross_validate(pairs)
    after = module._score(found[:n], pairs[:n])
    # The bar is 0.75; measured 0.63 on the 39 pairs (0.58 before the seventh session): a regression check.
    assert after["f1"] >= 0.6 and after["precision"] >= 0.7
    assert after["f1"] > before["f1"]
    agreement = module.status_agreement(pairs[:n], found[:n])
    assert agreement["accuracy"] >= 0.8
    # among distractors (90–100 measures a side) the same folds find no more gold pairs, at a far lower precision
    assert among["tp"] + among["fn"] == sum(len(p["gold"]) for p in pairs[:n])
    assert among["tp"] <= after["tp"] and among["precision"] < after["precision"]


def test_a_held_out_pair_among_distractors_keeps_its_gold_and_is_scored_on_its_own_measures(real_pairs):
    module, pairs = real_pairs
    k = next(k for k, p in enumerate(pairs) if len(p["gold"]) == 3)  # the first pair with three aligned measures
    long = module.with_distractors(pairs, k)
    assert len(long["a"]["texts"]) >= 30 and len(long["b"]["texts"]) >= 30
    chains = module._components(pairs)
    assert all(chains[m] != chains[k] for m in set(long["owner_a"]) - {k})  # no other pair of the same chain
    pages = [pairs[m][side]["page"] for m in set(long["owner_a"]) for side in ("a", "b")]
    assert len(pages) == len(set(pages))  # no page twice
    own = {g for g in long["gold"] if long["owner_a"][g[0]] == k}
    assert own == set(pairs[k]["gold"])  # the held-out pair comes first, unshifted
    assert module._score_held_out(set(long["gold"]), long, k) == (3, 0, 0)  # the other pairs' gold is not scored
    assert module._score_held_out(set(), long, k) == (0, 0, 3)
    other = next(g for g in long["gold"] if long["owner_a"][g[0]] != k)
    assert module._score_held_out({(0, other[1])}, long, k) == (0, 1, 3)  # a held-out measure on a distractor


def test_the_committed_weights_are_what_fitting_on_all_pairs_gives(real_pairs):
    module, pairs = real_pairs
    pairs = [*pairs, module.development_pair()]
    weights, intercept = module.fit(pairs)
    assert weights == pytest.approx(similarity.WEIGHTS, abs=0.01)
    assert intercept == pytest.approx(similarity.INTERCEPT, abs=0.01)
    longs = [None if pair.get("dev") else module.with_distractors(pairs, k) for k, pair in enumerate(pairs)]
    assert module.grouped_threshold(pairs, longs)[0] == pytest.approx(similarity.MIN_PROBABILITY)


def test_three_documents_chain_into_measure_histories_with_amounts_over_time(tmp_path):
    first = _document(tmp_path, "plan-2020", [
        "etablere en ordning for helseteknologi i kommunene med 50 millioner kroner",
        "vurdere et nasjonalt register for kliniske studier",
        "styrke samarbeidet med Sverige om legemiddelberedskap",
    ])
    second = _document(tmp_path, "plan-2022", [  # Nynorsk
        "vidareutvikle helseteknologiordninga i kommunane med 80 millionar kroner",
        "etablere eit nasjonalt register for kliniske studiar",
        "opprette eit fond for kommersialisering av forsking",
    ])
    third = _document(tmp_path, "plan-2024", [
        "Videreutvikle helseteknologiordningen i kommunene med 120 millioner kroner",
        "opprette et fond for kommersialisering av forskning",
        "legge fram en stortingsmelding om eldreomsorg",
    ])
    for result, expected in ((first, 3), (second, 3), (third, 3)):
        assert len(result.measures) == expected, [m.text for m in result.measures]
    comparison = compare_documents([first, second, third])
    by_start = {h.steps[0].text: h for h in comparison.histories}

    technology = by_start[first.measures[0].text]
    assert [s.document for s in technology.steps] == [0, 1, 2]
    assert [s.amounts for s in technology.steps] == [[5e7], [8e7], [1.2e8]]
    assert [s.status for s in technology.steps] == ["first", "modified", "modified"]
    assert technology.dropped_after is None and comparison.histories[0] is technology

    register = by_start[first.measures[1].text]
    assert [s.document for s in register.steps] == [0, 1] and register.dropped_after == 1
    assert register.strengths[0] != register.strengths[1]  # vurdere → etablere

    fund = by_start[second.measures[2].text]
    assert [s.document for s in fund.steps] == [1, 2] and fund.first_document == 1

    assert by_start[first.measures[2].text].dropped_after == 0
    assert by_start[third.measures[2].text].steps[0].status == "first"
    # every measure of every document is in exactly one history
    ids = [(s.document, s.measure_id) for h in comparison.histories for s in h.steps]
    assert sorted(ids) == sorted((i, m.id) for i, r in enumerate((first, second, third)) for m in r.measures)
    assert comparison_errors(comparison.model_dump(mode="json")) == []
