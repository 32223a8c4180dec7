"""Measures read from the parse of a clause (extractors.measures.clause_verdict) and the wider prose patterns, with
the project's shipped spaCy pipeline (``nlp="best"``): a government subject committing with a modal to any action,
adverbials between the modal and the action, Nynorsk a-infinitives, passive budget decisions, allocations told by
who gets the money, amount-only list items, plans put forward now, second clauses, closing attributions; and beside
each its negative: done already, negated, a demand, a question, a goal, an organisation's own wish.

Every text here is written for these tests, in the shape of news, budget pages and plans (Bokmål and Nynorsk).
"""

from __future__ import annotations

from pathlib import Path

from test_extraction import analyse_file, texts

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig

CONFIG = PipelineConfig(nlp="best")


def _analyse(tmp_path: Path, content: str):
    path = tmp_path / "side.txt"
    path.write_text(content, encoding="utf-8")
    result = analyse_document(path, CONFIG)
    for measure in result.measures:
        assert result.text[measure.start:measure.end] == measure.text
    return result


def test_a_government_commitment_with_any_action_verb_and_adverbials_between(parsed_pipeline, tmp_path: Path):
    content = ("Ny plan for kysten\n\n"
               "Regjeringen vil neste år flytte flere statlige arbeidsplasser til kystkommunene.\n\n"
               "Derfor vil regjeringa i mykje større grad enn før leggja til rette for nye fiskerihamner.\n\n"
               "Regjeringen har flyttet mange arbeidsplasser de siste årene.\n\n"
               "Regjeringen vil ikke flytte Fiskeridirektoratet.\n\n"
               "Vil regjeringen flytte flere arbeidsplasser?\n\n"
               "Kystforbundet krever at regjeringen skal flytte flere arbeidsplasser.\n")
    found = texts(_analyse(tmp_path, content))
    assert "Regjeringen vil neste år flytte flere statlige arbeidsplasser til kystkommunene" in found
    assert "Derfor vil regjeringa i mykje større grad enn før leggja til rette for nye fiskerihamner" in found
    assert not [t for t in found if "har flyttet" in t or "ikke flytte" in t or t.startswith("Vil regjeringen")
                or "krever" in t]


def test_passive_budget_decisions_are_measures_past_and_demanded_ones_are_not(parsed_pipeline, tmp_path: Path):
    content = ("Statsbudsjettet for neste år\n\n"
               "Barnetrygden økes med 300 kroner i måneden fra 1. januar.\n\n"
               "Eigedomsskatten på fritidsbustader skal reduserast.\n\n"
               "Skatten på fritidsboliger ble økt i fjor.\n\n"
               "Bevilgningen til fritidsklubber må økes, skriver Ungdomsforbundet.\n")
    found = texts(_analyse(tmp_path, content))
    assert "Barnetrygden økes med 300 kroner i måneden fra 1. januar" in found
    assert "Eigedomsskatten på fritidsbustader skal reduserast" in found
    assert not [t for t in found if "ble økt" in t or "må økes" in t]


def test_an_allocation_told_by_who_gets_the_money_and_amount_items_in_a_list(parsed_pipeline, tmp_path: Path):
    content = ("Dette får kommunene i budsjettet\n\n"
               "Politiet får 400 millioner kroner mer til nye patruljer i distriktene.\n\n"
               "Blant de andre postene i budsjettet:\n\n"
               "- 40 millioner kroner til nye lærlingplasser i kommunene\n"
               "- 12 millionar kroner meir til leirskular\n\n"
               "Vi får mange spørsmål om budsjettet.\n")
    found = texts(_analyse(tmp_path, content))
    assert "Politiet får 400 millioner kroner mer til nye patruljer i distriktene" in found
    assert "40 millioner kroner til nye lærlingplasser i kommunene" in found
    assert "12 millionar kroner meir til leirskular" in found
    assert not [t for t in found if t.startswith("Vi får")]


def test_a_second_clause_commitment_spans_the_sentence_and_a_closing_attribution_is_cut(parsed_pipeline,
                                                                                        tmp_path: Path):
    content = ("Nytt tilbud til unge\n\n"
               "Ventetiden i psykisk helsevern har økt, og regjeringen vil derfor opprette et nytt lavterskeltilbud "
               "for unge.\n\n"
               "– Regjeringen vil styrke Arbeidstilsynet med flere inspektører, sier arbeidsministeren.\n")
    found = texts(_analyse(tmp_path, content))
    # GUIDELINES: prose is the whole sentence from its start; the attribution is not part of the measure.
    assert ("Ventetiden i psykisk helsevern har økt, og regjeringen vil derfor opprette et nytt lavterskeltilbud "
            "for unge") in found
    assert "Regjeringen vil styrke Arbeidstilsynet med flere inspektører" in found


def test_a_plan_put_forward_now_is_a_measure_a_plan_put_forward_before_is_not(parsed_pipeline, tmp_path: Path):
    content = ("Ny melding\n\n"
               "Regjeringa legg i dag fram ei stortingsmelding om nynorsk i skulen.\n\n"
               "Regjeringen la fram en tilsvarende melding i 2019.\n")
    found = texts(_analyse(tmp_path, content))
    assert found == ["Regjeringa legg i dag fram ei stortingsmelding om nynorsk i skulen"]


def test_priorities_and_an_organisations_own_first_person_plans_are_not_measures(parsed_pipeline, tmp_path: Path):
    content = ("Kronikk\n\n"
               "Regjeringen vil prioritere fire innsatsområder de neste årene.\n\n"
               "Derfor vil vi i Næringsforeningen i større grad enn før samarbeide med skolene.\n\n"
               "Målet er at flere skal fullføre videregående.\n")
    assert texts(_analyse(tmp_path, content)) == []


def test_without_a_parse_the_clause_rules_stay_silent(tmp_path: Path):
    """The blank pipeline has no parse: only the patterns decide, and the passive decision is not guessed."""
    path = tmp_path / "side.txt"
    path.write_text("Budsjett\n\nBarnetrygden økes med 300 kroner i måneden fra 1. januar.\n", encoding="utf-8")
    assert texts(analyse_file(path)) == []


def test_storting_decisions_in_running_text(tmp_path: Path):
    content = ("Forslag til vedtak\n\n"
               "Stortinget samtykker i at Forsvarsdepartementet inngår kontrakt om nye helikoptre innenfor en "
               "kostnadsramme på 4 milliarder kroner.\n\n"
               "Stortinget vedtek å oppheve lova om tilskot til veterinærdekning.\n\n"
               "Stortinget har tidligere samtykket i at departementet kan inngå slike avtaler.\n")
    result = _analyse(tmp_path, content)
    found = texts(result)
    assert any(text.startswith("Stortinget samtykker i at Forsvarsdepartementet") for text in found), found
    assert "Stortinget vedtek å oppheve lova om tilskot til veterinærdekning" in found, found
    assert not any("tidligere" in text for text in found), found
    assert {m.strength.value for m in result.measures} == {"binding"}
