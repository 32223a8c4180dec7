"""Measure forms found when the extractor was probed on real policy texts outside the seeds (committee
recommendations, budget propositions, news about white papers): numbered Storting requests under any intro,
proposals without an action verb, impersonal budget proposals, "de/dei" for a government named just before,
done-already items under "Regjeringen vil:", bans and decided sums as binding.

Every text here is written for these tests, in the shape of those documents, and run with the blank NLP pipeline
(``analyse_parsed``: the shipped model, where the rule reads the parse). Each form has a negative case beside it.
"""

from __future__ import annotations

from pathlib import Path

from test_extraction import _check_offsets, analyse_text, measure, texts

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig


def test_numbered_storting_requests_are_measures_whatever_the_intro(tmp_path: Path):
    content = ("Innstilling fra transportkomiteen\n\nKomiteens tilråding\n\n"
               "Komiteen rår Stortinget til å gjøre følgende vedtak:\n\n"
               "1. Stortinget ber regjeringen utrede en ny ordning for lokale ruteflyginger i Nord-Norge.\n\n"
               "2. Stortinget ber regjeringen innføre et makspris-tak på ferjebilletter fra 2027.\n\n"
               "3. Stortinget ber regjeringen nedsette et utvalg som skal gjennomgå ferjeprisene.\n\n"
               "4. Dokument 8:112 S (2025–2026) vedlegges protokollen.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Stortinget ber regjeringen utrede en ny ordning for lokale ruteflyginger i Nord-Norge",
                             "Stortinget ber regjeringen innføre et makspris-tak på ferjebilletter fra 2027",
                             "Stortinget ber regjeringen nedsette et utvalg som skal gjennomgå ferjeprisene"]
    # GUIDELINES: a binding verb wrapped around an investigation ("sette ned et utvalg som skal se på") is exploratory
    assert [m.strength for m in result.measures] == ["exploratory", "binding", "exploratory"]
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


def test_a_pipe_table_in_a_text_file_is_a_table_of_measures_under_regjeringen_vil(tmp_path: Path):
    content = ("Digital forvaltning\n\n"
               "| Regjeringen vil: | Ansvarlig departement: | Status: |\n"
               "|---|---|---|\n"
               "| etablere en felles løsning for digital post til innbyggerne | Digitaliserings- og "
               "forvaltningsdepartementet | Pågår |\n"
               "| utrede nye krav til universell utforming av apper | Kultur- og likestillingsdepartementet | Ikke "
               "startet |\n\n"
               "Tallene for 2025 | 2026 viste en økning.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["etablere en felles løsning for digital post til innbyggerne",
                             "utrede nye krav til universell utforming av apper"]
    assert {m.method for m in result.measures} == {"table_row"}
    assert [c.responsible for c in result.commitments] == ["Digitaliserings- og forvaltningsdepartementet",
                                                           "Kultur- og likestillingsdepartementet"]
    assert [m.strength for m in result.measures] == ["binding", "exploratory"]


def test_unmarked_items_after_a_committing_intro_are_a_list(tmp_path: Path):
    """News sites set list items as paragraphs of their own, without markers."""
    content = ("Skole\n\nKunnskapsministeren la fram stortingsmeldingen i dag. Regjeringen vil:\n\n"
               "Innføre en ny time med fysisk aktivitet på mellomtrinnet.\n\n"
               "Gi alle lærere rett til videreutdanning i lesing\n\n"
               "Utrede gratis skolemat.\n\n"
               "Meldingen har fått blandet mottakelse blant rektorene, som mener at skolene allerede har for mange "
               "oppgaver og for lite tid til undervisning, og at nye fag tar tid fra andre fag.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Innføre en ny time med fysisk aktivitet på mellomtrinnet",
                             "Gi alle lærere rett til videreutdanning i lesing", "Utrede gratis skolemat"]
    assert {m.method for m in result.measures} == {"list_under_intro"}


def test_paragraphs_after_a_colon_that_read_as_prose_are_not_a_list(tmp_path: Path):
    content = ("Skole\n\nRegjeringen vil:\n\n"
               "Innføre en ny time med fysisk aktivitet. Timen skal komme i tillegg til dagens kroppsøving.\n\n"
               "Rektorene er kritiske. De mener at skolene har for mange oppgaver.\n\n"
               "Dette sa statsråden:\n\n"
               "Skolen er viktig.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == []
    assert [b.kind for b in result.blocks if b.kind == "list_item"] == []


def test_a_decided_action_in_the_present_tense_is_a_measure_past_and_ongoing_work_are_not(tmp_path: Path):
    content = ("Friluftsliv\n\nMange barn er for lite ute. Derfor lanserer regjeringen et nasjonalt program for "
               "friluftsskoler.\n\nRegjeringa etablerer eit nytt fond for turstiar i 2027.\n\n"
               "Regjeringen lanserte i fjor en strategi for nærfriluftsliv.\n\n"
               "Regjeringen arbeider for at flere skal bruke naturen.\n\n"
               "– Nå etablerer vi flere turruter nær byene, sier klima- og miljøministeren.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Derfor lanserer regjeringen et nasjonalt program for friluftsskoler",
                             "Regjeringa etablerer eit nytt fond for turstiar i 2027"]
    assert [m.strength for m in result.measures] == ["binding", "binding"]


def test_a_list_of_areas_is_not_a_list_of_measures(tmp_path: Path):
    content = ("Sammendrag\n\nRegjeringen vil legge særlig vekt på fem områder:\n\n"
               "- forebygging\n- tidlig innsats\n- behandling\n- ettervern\n- kunnskap\n")
    assert texts(analyse_text(tmp_path, content)) == []


def test_reported_speech_with_de_when_the_government_speaks(tmp_path: Path):
    content = ("Radon\n\nI svaret til Stortinget svarer regjeringen at de vil legge fram en ny radonstrategi i "
               "2027.\n\nBransjen svarer at de vil innføre egne krav til målinger.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["de vil legge fram en ny radonstrategi i 2027"]
    assert result.measures[0].method == "reported_speech"


def test_items_of_one_table_are_not_restatements_of_each_other(tmp_path: Path):
    content = ("Digitalisering\n\n| Regjeringen vil: | Ansvar |\n"
               "| styrke samarbeidet med KS om digitalisering i kommunene | KDD |\n"
               "| styrke samarbeidet om digitalisering mellom kommunene og staten | KDD |\n\n"
               "Statsbudsjettet\n\nRegjeringen foreslår å bevilge 300 millioner kroner til alderspensjon.\n\n"
               "Regjeringen foreslår å bevilge 120 millioner kroner til dagpenger.\n")
    assert len(texts(analyse_text(tmp_path, content))) == 4


def test_strength_looks_past_a_fronted_purpose_clause_and_at_named_deliverables(tmp_path: Path):
    content = ("Spill\n\nFor å beskytte barn og unge mot pengespillreklame og få bedre kontroll med utenlandske "
               "selskaper, vil regjeringen forby reklame for spill uten norsk lisens.\n\nRegjeringen vil:\n\n"
               "- utvikle en nasjonal handlingsplan mot spillavhengighet\n"
               "- utvikle samarbeidet med frivillige organisasjoner\n")
    result = analyse_text(tmp_path, content)
    assert [(m.text[:40], m.strength) for m in result.measures] == [
        ("For å beskytte barn og unge mot pengespi", "binding"),
        ("utvikle en nasjonal handlingsplan mot sp", "binding"),
        ("utvikle samarbeidet med frivillige organ", "intention")]


def test_passive_allocations_and_a_fronted_total_are_measures(tmp_path: Path):
    content = ("Sykehus\n\nI revidert budsjett bevilges det 430 millioner kroner til nye sengeplasser.\n\n"
               "Totalt vil regjeringen øke bevilgningene til sykehusene med 2 milliarder kroner.\n\n"
               "Det ble bevilget 300 millioner kroner i fjor.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["I revidert budsjett bevilges det 430 millioner kroner til nye sengeplasser",
                             "Totalt vil regjeringen øke bevilgningene til sykehusene med 2 milliarder kroner"]
    assert [m.strength for m in result.measures] == ["binding", "binding"]


def test_an_organisations_proposals_are_not_the_authors_measures(tmp_path: Path):
    content = ("Legemidler\n\nLMI foreslår følgende tiltak:\n\n- innføre en egen finansieringsordning for "
               "kliniske studier\n- etablere et nasjonalt legemiddellager\n\n"
               "For å sikre tilgangen vil regjeringen:\n\n- utrede et nasjonalt beredskapslager for legemidler\n")
    assert texts(analyse_text(tmp_path, content)) == ["utrede et nasjonalt beredskapslager for legemidler"]


def test_how_the_plan_itself_is_followed_up_is_not_a_measure(tmp_path: Path):
    # Data card (corpus/annotations/README.md): plan mechanics are not measures; the plan's own measures are.
    content = ("Oppfølging\n\nRegjeringen vil etablere et nasjonalt senter for sjømatforskning i Bergen.\n\n"
               "Regjeringen vil legge fram en årlig status for arbeidet med strategien.\n\n"
               "Nærings- og fiskeridepartementet skal rapportere om gjennomføringen av tiltakene i budsjettet.\n\n"
               "Handlingsplanen skal evalueres i 2030.\n\n"
               "Regjeringa vil leggje fram ein status for oppfølginga av planen kvart år.\n")
    assert texts(analyse_text(tmp_path, content)) == [
        "Regjeringen vil etablere et nasjonalt senter for sjømatforskning i Bergen"]


def analyse_parsed(tmp_path: Path, content: str):
    """The text through the shipped spaCy model, for the rules that read the parse (clause_verdict)."""
    path = tmp_path / "dokument.txt"
    path.write_text(content, encoding="utf-8")
    result = analyse_document(path, PipelineConfig(nlp="best"))
    assert result.provenance.nlp_model.kind == "shipped"
    _check_offsets(result)
    return result


def test_vi_decides_in_a_quote_that_a_government_speaker_closes(tmp_path: Path):
    # "vi" + a decision in the present tense is the government's only when a minister's attribution closes the quote;
    # the attribution is not part of the span (GUIDELINES: reported speech without the attribution).
    content = ("Eldreomsorg\n\nEldre skal få et bedre tilbud. Derfor setter vi av 200 millioner kroner til nye "
               "sykehjemsplasser neste år, sier helseminister Ola Nordmann.\n\n"
               "Vi trenger frivillige. Derfor setter vi av tid til dugnad hver vår, sier styreleder Per Hansen i "
               "velforeningen.\n\n"
               "– Derfor startar vi no arbeidet med ein ny nasjonal strategi for havbruk, seier fiskeriministeren.\n\n"
               "– Derfor startar vi no arbeidet med ein ny strategi for laget, seier leiaren i Fiskarlaget.\n")
    result = analyse_parsed(tmp_path, content)
    assert texts(result) == [
        "Derfor setter vi av 200 millioner kroner til nye sykehjemsplasser neste år",
        "Derfor startar vi no arbeidet med ein ny nasjonal strategi for havbruk"]
    assert [m.strength for m in result.measures] == ["binding", "binding"]


def test_a_dated_present_passive_is_a_decision(tmp_path: Path):
    # News about a budget deal: "Bostøtten forlenges ut 2027" is decided; without a year, amount, modal or government
    # nothing tells it from a description, and a past form is done already.
    content = ("Bostøtte\n\nBostøtten forlenges ut 2027.\n\nBostøtten forlenges ofte.\n\n"
               "Bostøtten ble forlenget ut 2023.\n\nKan bostøtten forlenges ut 2027?\n")
    result = analyse_parsed(tmp_path, content)
    assert texts(result) == ["Bostøtten forlenges ut 2027"]
    assert result.measures[0].strength == "binding"  # a decided extension (data card: concrete decided actions)


def test_a_modal_bli_with_its_participle_is_a_passive_decision(tmp_path: Path):
    # Nynorsk participles ("utvikla", "avvikla") that the parser reads as nouns; after "vil" the participle must close
    # its clause: "Det vil bli auka press …" foretells and is no decision.
    content = ("Tenester\n\nI tillegg skal det bli utvikla nye digitale verktøy for pasientar.\n\n"
               "Samtidig vil den gamle ordninga bli avvikla.\n\n"
               "Det vil bli auka press på tenestene framover.\n\nDet kan bli utvikla nye verktøy.\n")
    assert texts(analyse_parsed(tmp_path, content)) == [
        "I tillegg skal det bli utvikla nye digitale verktøy for pasientar",
        "Samtidig vil den gamle ordninga bli avvikla"]


def test_den_after_the_government_named_in_the_same_report(tmp_path: Path):
    # "varsler regjeringen at den vil …": the span starts at the embedded subject "den"; "Den" after a third party's
    # sentence is not the government.
    content = ("Handlingsplan\n\nI handlingsplanen varsler regjeringen at den vil innføre strengere krav til merking "
               "av sjømat.\n\nBransjen har laget en ny standard. Den vil gi bedre merking av varer.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["den vil innføre strengere krav til merking av sjømat"]
    assert result.measures[0].strength == "binding"


def test_the_main_points_of_a_white_paper_are_its_measures(tmp_path: Path):
    # A fact sheet lists a white paper's main points under "Hovedpunktene er" (a heading without a colon) or
    # "Hovudpunkta i meldinga er:"; a list of areas stays out.
    content = ("Faktaark: melding om fagskolen\n\nRegjeringen legger i dag fram en melding om fagskolen.\n\n"
               "Hovedpunktene er\n\n• ny finansieringsordning for fagskolene\n\n• flere studieplasser i helsefag\n\n"
               "Kontakt oss\n\nHovudpunkta i meldinga er:\n\n- eit nasjonalt fagskoleråd\n- betre studiestøtte\n\n"
               "Hovedområdene er:\n\n- helse\n- teknologi\n")
    assert texts(analyse_text(tmp_path, content)) == [
        "Regjeringen legger i dag fram en melding om fagskolen",  # a plan launch (data card)
        "ny finansieringsordning for fagskolene", "flere studieplasser i helsefag",
        "eit nasjonalt fagskoleråd", "betre studiestøtte"]


def test_a_fronted_budget_year_before_an_inverted_proposal(tmp_path: Path):
    # Budget summaries open with the year: "For 2027 foreslår regjeringa …", "Frå 2028 vil regjeringa …"; the same
    # frame with an organisation as the subject is its demand, not the author's measure.
    content = ("Samferdsel\n\nFor 2027 foreslår regjeringa å auke løyvingane til fylkesvegar med 400 millionar "
               "kroner.\n\nFrå 2028 vil regjeringa innføre nullutsleppskrav for nye ferjer.\n\n"
               "For 2027 foreslår Norsk Ferjeforbund å halvere billettprisane.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == [
        "For 2027 foreslår regjeringa å auke løyvingane til fylkesvegar med 400 millionar kroner",
        "Frå 2028 vil regjeringa innføre nullutsleppskrav for nye ferjer"]
    assert [m.strength for m in result.measures] == ["binding", "binding"]
