"""Measure forms found when the extractor was probed on real policy texts outside the seeds (committee
recommendations, budget propositions, news about white papers): numbered Storting requests under any intro,
proposals without an action verb, impersonal budget proposals, "de/dei" for a government named just before,
done-already items under "Regjeringen vil:", bans and decided sums as binding.

Every text here is written for these tests, in the shape of those documents, and run with the blank NLP pipeline.
Each form has a negative case beside it.
"""

from __future__ import annotations

from pathlib import Path

from test_extraction import analyse_text, measure, texts


def test_numbered_storting_requests_are_measures_whatever_the_intro(tmp_path: Path):
    content = ("Innstilling fra transportkomiteen\n\nKomiteens tilråding\n\n"
               "Komiteen rår Stortinget til å gjøre følgende vedtak:\n\n"
               "1. Stortinget ber regjeringen utrede en ny ordning for lokale ruteflyginger i Nord-Norge.\n\n"
               "2. Stortinget ber regjeringen innføre et makspris-tak på ferjebilletter fra 2027.\n\n"
               "3. Dokument 8:112 S (2025–2026) vedlegges protokollen.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Stortinget ber regjeringen utrede en ny ordning for lokale ruteflyginger i Nord-Norge",
                             "Stortinget ber regjeringen innføre et makspris-tak på ferjebilletter fra 2027"]
    assert [m.strength for m in result.measures] == ["exploratory", "binding"]
    assert {m.method for m in result.measures} == {"list_item_sentence"}


def test_a_list_of_topics_under_a_plain_intro_stays_empty(tmp_path: Path):
    content = ("Bakgrunn\n\nKomiteen har hatt høring med disse organisasjonene:\n\n"
               "- Norsk Industri\n- Fellesforbundet\n- KS\n")
    assert texts(analyse_text(tmp_path, content)) == []


def test_a_proposal_needs_no_action_verb_and_a_decided_sum_is_binding(tmp_path: Path):
    content = ("Statsbudsjettet 2027\n\n"
               "Regjeringen foreslår 120 millioner kroner til nye lærlingplasser i offentlig sektor.\n\n"
               "Regjeringa føreslår eit forbod mot sal av energidrikk til barn under 16 år.\n\n"
               "Regjeringen foreslår å øke bevilgningen til fylkesveiene med 300 millioner kroner.\n\n"
               "Regjeringen vil øke innsatsen mot arbeidslivskriminalitet.\n\n"
               "Mange mener at forslaget kommer for sent.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == [
        "Regjeringen foreslår 120 millioner kroner til nye lærlingplasser i offentlig sektor",
        "Regjeringa føreslår eit forbod mot sal av energidrikk til barn under 16 år",
        "Regjeringen foreslår å øke bevilgningen til fylkesveiene med 300 millioner kroner",
        "Regjeringen vil øke innsatsen mot arbeidslivskriminalitet",
    ]
    assert [m.strength for m in result.measures] == ["binding", "binding", "binding", "intention"]


def test_impersonal_budget_proposals_are_measures_from_the_start_of_the_sentence(tmp_path: Path):
    content = ("Kap. 1320 Statens vegvesen\n\n"
               "Budsjettet for 2027 prioriterer vedlikehold, og blant annet foreslås det 450 millioner kroner til "
               "tunneloppgradering.\n\n"
               "Det gjerast også framlegg om å auke løyvinga til trafikktryggleik med 12 mill. kroner.\n\n"
               "På dette grunnlaget gjer Kommunal- og distriktsdepartementet framlegg om å flytte 2 mill. kroner "
               "til kap. 500.\n\n"
               "– Det foreslås altfor lite til vedlikehold, sier ordfører Kari Nilsen i KS.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == [
        "Budsjettet for 2027 prioriterer vedlikehold, og blant annet foreslås det 450 millioner kroner til "
        "tunneloppgradering",
        "Det gjerast også framlegg om å auke løyvinga til trafikktryggleik med 12 mill. kroner",
        "På dette grunnlaget gjer Kommunal- og distriktsdepartementet framlegg om å flytte 2 mill. kroner til "
        "kap. 500",
    ]
    assert all(m.strength == "binding" for m in result.measures)


def test_de_and_dei_are_the_government_only_right_after_it_is_named(tmp_path: Path):
    content = ("Folkehelse\n\nRegjeringen la fredag fram en ny melding om folkehelse. "
               "De vil også innføre aldersgrense for kjøp av solarium-tjenester.\n\n"
               "Bedriftene i bransjen er bekymret for omsetningen. De vil ha lavere moms på tjenestene.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["De vil også innføre aldersgrense for kjøp av solarium-tjenester"]
    assert result.measures[0].strength == "binding"


def test_a_far_antecedent_does_not_make_de_the_government(tmp_path: Path):
    filler = "Kommunene har lenge etterlyst mer forutsigbare rammer for drift av skolene og barnehagene. " * 6
    content = f"Kommuneøkonomi\n\nRegjeringen la fram kommuneproposisjonen tirsdag.\n\n{filler}\n\n" \
              "De vil innføre nye krav til rapportering.\n"
    assert texts(analyse_text(tmp_path, content)) == []


def test_a_list_after_dei_vil_is_measures_when_the_government_was_just_named(tmp_path: Path):
    content = ("Tobakk\n\nHelseministeren presenterte den nye strategien i dag. Dei vil innføre:\n\n"
               "- Røykeforbod på alle leikeplassar\n- Forbod mot sal av snus på nett\n\n"
               "Organisasjonane for tobakksbransjen er kritiske. Dei vil ha:\n\n"
               "- lågare avgifter på snus\n- færre reglar for sal\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Røykeforbod på alle leikeplassar", "Forbod mot sal av snus på nett"]
    assert [m.strength for m in result.measures] == ["binding", "binding"]


def test_done_already_and_goals_under_regjeringen_vil_are_not_measures(tmp_path: Path):
    content = ("Rus\n\nRegjeringen vil:\n\n"
               "- Regjeringen har som overordnet mål at ingen skal vente på behandling\n"
               "- Regjeringen har innført en ny ordning for ettervern\n"
               "- Har styrket lavterskeltilbudene i kommunene\n"
               "- Gjeninnført ordningen med gratis ettervern\n"
               "- etablere et nasjonalt kompetansesenter for ettervern\n")
    assert texts(analyse_text(tmp_path, content)) == ["etablere et nasjonalt kompetansesenter for ettervern"]


def test_dated_adverbials_and_bans_in_prose(tmp_path: Path):
    content = ("Digitalisering\n\nRegjeringen vil frem mot 2030 etablere en felles plattform for kommunale "
               "tjenester.\n\nRegjeringen vil forby reklame for pengespill rettet mot barn.\n\n"
               "Regjeringen vil redusere skjemaveldet for småbedrifter.\n\n"
               "Regjeringen vil gjøre det enklere å starte bedrift.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == [
        "Regjeringen vil frem mot 2030 etablere en felles plattform for kommunale tjenester",
        "Regjeringen vil forby reklame for pengespill rettet mot barn",
        "Regjeringen vil redusere skjemaveldet for småbedrifter",
    ]
    assert [m.strength for m in result.measures] == ["binding", "binding", "intention"]


def test_reported_speech_with_skriver(tmp_path: Path):
    content = ("Havbruk\n\nI meldingen skriver departementet at regjeringen vil innføre en ny "
               "konsesjonsordning for havbruk til havs.\n")
    result = analyse_text(tmp_path, content)
    assert measure(result, "regjeringen vil innføre en ny konsesjonsordning for havbruk til havs").method \
        == "reported_speech"
