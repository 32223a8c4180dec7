"""End-to-end extraction: measures, their spans and strength, amounts, deadlines, actors and persons.

Every document here is written for these tests (Norwegian policy-style text, not taken from a real document)
and run through ``analyse_document`` with the blank NLP pipeline, so the tests do not depend on a trained model.
The expectations follow eval/GUIDELINES.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import write_docx, write_html, write_two_column_pdf

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig
from pipeline.schema import Commitment, DocumentResult, Measure

CONFIG = PipelineConfig(nlp="blank")


def _check_offsets(result: DocumentResult) -> None:
    """Every span in the output points at exactly its text in the normalised document text."""
    text = result.text
    for measure in result.measures:
        assert text[measure.start : measure.end] == measure.text
        assert measure.text == measure.text.strip()
        assert not measure.text.endswith(".")
    for commitment in result.commitments:
        for item in [*commitment.amounts, *commitment.deadlines]:
            assert text[item.start : item.end] == item.text
    for actor in [*result.actors, *result.persons]:
        for mention in actor.mentions:
            assert text[mention.start : mention.end] == mention.text


def analyse_text(tmp_path: Path, content: str, name: str = "dokument.txt") -> DocumentResult:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return analyse_file(path)


def analyse_file(path: Path) -> DocumentResult:
    result = analyse_document(path, CONFIG)
    _check_offsets(result)
    return result


def texts(result: DocumentResult) -> list[str]:
    return [m.text for m in result.measures]


def measure(result: DocumentResult, text: str) -> Measure:
    found = [m for m in result.measures if m.text == text]
    assert len(found) == 1, f"{text!r} not among {texts(result)}"
    return found[0]


def commitment(result: DocumentResult, text: str) -> Commitment:
    wanted = measure(result, text).id
    return next(c for c in result.commitments if c.measure_id == wanted)


def actor_names(result: DocumentResult) -> list[str]:
    return [a.name for a in result.actors]


# ---- lists of measures --------------------------------------------------------------------------------------

INDUSTRY_STRATEGY = """Strategi for grønn industri

Konkurransekraft

Norsk industri står overfor store omstillinger. Regjeringen mener at kostnadene må ned. For å styrke \
konkurransekraften vil regjeringen:

- etablere et nasjonalt senter for batteriteknologi i Mo i Rana.
- gi Innovasjon Norge i oppdrag å utrede en ny låneordning for små bedrifter.
- styrke samarbeidet mellom Siva og næringsklyngene
- videreutvikle ordningen for grønne industrilån. Dette skal skje i tett dialog med partene i arbeidslivet.
- innføre krav om klimarapportering og vurdere en felles nordisk løsning.

Regjeringen har innført en skattefradragsordning for forskning. Målet er å doble eksporten innen 2030.
"""


def test_list_after_vil_regjeringen(tmp_path):
    result = analyse_text(tmp_path, INDUSTRY_STRATEGY)
    assert texts(result) == [
        "etablere et nasjonalt senter for batteriteknologi i Mo i Rana",
        "gi Innovasjon Norge i oppdrag å utrede en ny låneordning for små bedrifter",
        "styrke samarbeidet mellom Siva og næringsklyngene",
        "videreutvikle ordningen for grønne industrilån. Dette skal skje i tett dialog med partene i arbeidslivet",
        "innføre krav om klimarapportering og vurdere en felles nordisk løsning",
    ]
    assert [m.strength for m in result.measures] == ["binding", "exploratory", "intention", "intention", "binding"]
    assert {m.method for m in result.measures} == {"list_under_intro"}
    first = result.measures[0]
    assert first.intro == ("Norsk industri står overfor store omstillinger. Regjeringen mener at kostnadene må ned. "
                           "For å styrke konkurransekraften vil regjeringen:")
    assert first.section == ["Strategi for grønn industri", "Konkurransekraft"]
    assert (first.verb, first.object) == ("etablere", "et nasjonalt senter for batteriteknologi i Mo i Rana")
    assert [m.id for m in result.measures] == ["m1", "m2", "m3", "m4", "m5"]
    assert [c.measure_id for c in result.commitments] == ["m1", "m2", "m3", "m4", "m5"]


@pytest.mark.parametrize(
    ("intro", "items", "strengths"),
    [
        ("Regjeringen vil:", ["legge fram en stortingsmelding om distriktspolitikk",
                              "kartlegge omfanget av ufrivillig deltid"], ["binding", "exploratory"]),
        ("Regjeringa vil:", ["byggje ut breiband i heile landet", "vurdere ei ny ordning for drosjeløyve"],
         ["binding", "exploratory"]),
        ("Komiteen ber regjeringen:", ["legge fram en vurdering av ordningen med miljøavtaler",
                                       "sikre at alle elever får tilgang til digitale læremidler"],
         ["exploratory", "binding"]),
        ("Stortinget ber regjeringa:", ["opprette eit nasjonalt senter for kystkultur",
                                        "leggje til rette for fleire lærlingplassar i staten"],
         ["binding", "intention"]),
    ],
)
def test_list_intro_forms(tmp_path, intro, items, strengths):
    content = "Oppfølging\n\nDet er behov for endringer på flere områder.\n\n" + intro + "\n\n" + "".join(
        f"- {item}\n" for item in items)
    result = analyse_text(tmp_path, content)
    assert texts(result) == items
    assert [m.strength for m in result.measures] == strengths
    assert [m.intro for m in result.measures] == [intro] * len(items)
    assert [c.responsible for c in result.commitments] == ["Regjeringen"] * len(items)


def test_numbered_list_under_tiltak_heading_with_verbless_items(tmp_path):
    content = """Handlingsplan for havnæringene

Tiltak

1. Etablering av et nasjonalt register for havvindprosjekter.
2. Utredning av en ordning for grønne lån til rederier.
3. Styrket veiledning til gründere i distriktene.
4. Ny forskrift om merking av sjømat.
5. Kartlegging av materialstrømmer i byggenæringen
"""
    result = analyse_text(tmp_path, content)
    assert texts(result) == [
        "Etablering av et nasjonalt register for havvindprosjekter",
        "Utredning av en ordning for grønne lån til rederier",
        "Styrket veiledning til gründere i distriktene",
        "Ny forskrift om merking av sjømat",
        "Kartlegging av materialstrømmer i byggenæringen",
    ]
    assert [m.strength for m in result.measures] == ["binding", "exploratory", "intention", "binding", "exploratory"]
    assert [m.section for m in result.measures] == [["Handlingsplan for havnæringene", "Tiltak"]] * 5
    assert {m.intro for m in result.measures} == {"Tiltak"}


@pytest.mark.parametrize(
    ("intro", "items"),
    [
        ("Regjeringens innsatsområder:", ["etablere flere klynger", "styrke eksporten"]),
        ("Regjeringens hovedsatsingsområder er:", ["digitalisering", "grønn omstilling"]),
        ("Målet er å:", ["øke verdiskapingen i havnæringene", "styrke konkurransekraften"]),
        ("Organisasjonene som deltok i innspillsmøtet var:", ["NHO", "LO", "Abelia"]),
        ("Regjeringen forventer at helseforetakene:", ["innfører nye innkjøpsrutiner", "etablerer felles lagre"]),
        ("Regjeringen har gjennomført følgende tiltak:", ["etablert et nytt lånefond", "innført skattefradrag"]),
        ("Komiteen ønsker at meldingen omtaler:", ["eksportstrategien", "kapitaltilgangen"]),
        pytest.param(
            "Regjeringen vil at kommunene skal:", ["etablere lokale næringsråd", "utarbeide planer for næringsareal"]),
    ],
)
def test_lists_whose_intro_is_not_a_commitment_give_no_measures(tmp_path, intro, items):
    content = "Bakgrunn\n\nDette kapittelet beskriver dagens situasjon.\n\n" + intro + "\n\n" + "".join(
        f"- {item}\n" for item in items)
    result = analyse_text(tmp_path, content)
    assert texts(result) == []


def test_innsatsomrader_heading_is_not_a_list_of_measures(tmp_path):
    content = """Strategi for sirkulær økonomi

Innsatsområder

- Plastforurensning
- Ombruk av byggevarer
- Etablering av returordninger
"""
    assert texts(analyse_text(tmp_path, content)) == []


def test_heading_that_states_a_policy_is_not_a_measure(tmp_path):
    content = """Melding om næringspolitikk

Regjeringen vil styrke eksporten

Norsk næringsliv eksporterer for lite sammenlignet med andre land.

Regjeringen vil innføre et nytt eksportråd
"""
    result = analyse_text(tmp_path, content)
    assert [b.kind for b in result.blocks] == ["heading", "heading", "paragraph", "heading"]
    assert texts(result) == []


# ---- measures in running text -------------------------------------------------------------------------------

PROSE_CASES = [
    ("Regjeringen vil etablere et eget kompetansesenter for havvind i Haugesund.",
     "Regjeringen vil etablere et eget kompetansesenter for havvind i Haugesund", "prose_commitment", "binding"),
    ("Vi skal innføre en digital søknadsportal for oppdrettere.",
     "Vi skal innføre en digital søknadsportal for oppdrettere", "prose_commitment", "binding"),
    ("Departementet vil utarbeide en veileder for kommunene om arealplanlegging i sjø.",
     "Departementet vil utarbeide en veileder for kommunene om arealplanlegging i sjø", "prose_commitment",
     "binding"),
    ("Nærings- og fiskeridepartementet skal legge fram en stortingsmelding om sjømatnæringen.",
     "Nærings- og fiskeridepartementet skal legge fram en stortingsmelding om sjømatnæringen",
     "prose_commitment", "binding"),
    ("Komiteen ber regjeringen styrke Fiskeridirektoratets tilgang til sanntidsdata.",
     "Komiteen ber regjeringen styrke Fiskeridirektoratets tilgang til sanntidsdata", "prose_request", "intention"),
    ("Komiteen ber regjeringen om å etablere et eget fond for kystkultur.",
     "Komiteen ber regjeringen om å etablere et eget fond for kystkultur", "prose_request", "binding"),
    ("Stortinget ber regjeringa leggje fram ein plan for heilårsturisme i distrikta.",
     "Stortinget ber regjeringa leggje fram ein plan for heilårsturisme i distrikta", "prose_request", "binding"),
    ("Regjeringa vil byggje eit nytt besøkssenter ved Nordkapp.",
     "Regjeringa vil byggje eit nytt besøkssenter ved Nordkapp", "prose_commitment", "binding"),
    ("Samtidig vil regjeringen utrede en ny modell for grunnrenteskatt på havbruk.",
     "Samtidig vil regjeringen utrede en ny modell for grunnrenteskatt på havbruk", "prose_commitment",
     "exploratory"),
    ("I 2026 vil regjeringen bevilge 148,3 mill. kroner til opprydding av marin forsøpling.",
     "I 2026 vil regjeringen bevilge 148,3 mill. kroner til opprydding av marin forsøpling", "prose_commitment",
     "binding"),
    ("Regjeringen vil arbeide for at flere kvinner velger teknologiske fag.",
     "Regjeringen vil arbeide for at flere kvinner velger teknologiske fag", "prose_commitment", "intention"),
    ("Ett av tiltakene er å etablere en kontaktordning for kystkommunene.",
     "etablere en kontaktordning for kystkommunene", "prose_announcement", "binding"),
    ("Statsråden sier at regjeringen vil opprette et nytt forskningsprogram for tareproduksjon.",
     "regjeringen vil opprette et nytt forskningsprogram for tareproduksjon", "reported_speech", "binding"),
    ("Departementet tar sikte på å sende forslaget til ny havbrukslov på høring i 2027.",
     "Departementet tar sikte på å sende forslaget til ny havbrukslov på høring i 2027", "prose_commitment",
     "binding"),
    ("I statsbudsjettet for 2027 foreslår regjeringen å bevilge 40 mill. kroner til nye fiskerihavner.",
     "I statsbudsjettet for 2027 foreslår regjeringen å bevilge 40 mill. kroner til nye fiskerihavner",
     "prose_commitment", "binding"),
    ("På Svalbard vil regjeringa byggje ut straumnettet.",
     "På Svalbard vil regjeringa byggje ut straumnettet", "prose_commitment", "binding"),
]


@pytest.mark.parametrize(("sentence", "expected", "method", "strength"), PROSE_CASES,
                         ids=[case[0][:40] for case in PROSE_CASES])
def test_prose_measure(tmp_path, sentence, expected, method, strength):
    # A description sentence before and after: the span is the measure's sentence only.
    content = ("Kystnæringene\n\nHavnæringene sysselsetter mange mennesker langs kysten. " + sentence
               + " Situasjonen er likevel krevende for mange bedrifter.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == [expected]
    found = result.measures[0]
    assert (found.method, found.strength) == (method, strength)
    assert found.section == ["Kystnæringene"]
    assert found.intro is None


def test_prose_commitment_by_ministry_abbreviation(tmp_path):
    content = ("Helse- og omsorgsdepartementets plan for helsedata\n\nHelsedata brukes for lite i forskningen. "
               "HOD skal etablere et nasjonalt register for medisinsk utstyr.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["HOD skal etablere et nasjonalt register for medisinsk utstyr"]


def test_prose_commitment_with_unlisted_action_verb(tmp_path):
    content = ("Digitalisering\n\nKunstig intelligens tas raskt i bruk. "
               "Regjeringen vil lage en nasjonal strategi for kunstig intelligens i offentlig sektor.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Regjeringen vil lage en nasjonal strategi for kunstig intelligens i offentlig sektor"]


def test_vi_skal_in_a_government_strategy(tmp_path):
    content = """Nasjonal strategi for kunstig intelligens

Forord

Kunstig intelligens endrer måten vi arbeider på. Vi skal etablere et nasjonalt kompetansesenter for kunstig \
intelligens. Vi skal styrke utdanningen i maskinlæring ved universitetene.
"""
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Vi skal etablere et nasjonalt kompetansesenter for kunstig intelligens",
                             "Vi skal styrke utdanningen i maskinlæring ved universitetene"]
    assert [m.strength for m in result.measures] == ["binding", "intention"]


NOT_MEASURES = [
    "Regjeringen har innført nye regler for rømming fra oppdrettsanlegg.",
    "Siden 2020 har regjeringen styrket Havforskningsinstituttet.",
    "Målet er å doble eksporten av sjømat.",
    "Regjeringen vil at flere unge skal velge en karriere i havnæringene.",
    "Regjeringen ønsker en mer bærekraftig fiskeflåte.",
    "Regjeringen ønsker å etablere flere næringshager.",
    "Regjeringen forventer at næringen tar et større miljøansvar.",
    "Regjeringen mener at havbruk har et stort vekstpotensial.",
    "Regjeringen har som ambisjon å gjøre Norge til verdens ledende havnasjon.",
    "Regjeringen har et mål om å innføre nullutslippskrav for ferjer.",
    "I fjor foreslo regjeringen å bevilge 40 mill. kroner til fiskerihavner.",
    "På Svalbard ville regjeringen bygge ut straumnettet, men planen ble lagt bort.",
    "I Danmark vil regjeringen ikke innføre en slik ordning.",
    "– Vi skal bygge mer, sier administrerende direktør Kari Hansen i NHO.",
    "«Vi skal bygge flere boliger i distriktene», sier administrerende direktør Kari Hansen i NHO.",
    pytest.param(
        "Administrerende direktør Kari Hansen i NHO sier at vi skal bygge flere boliger i distriktene."),
]


@pytest.mark.parametrize("sentence", NOT_MEASURES)
def test_sentence_that_is_not_a_measure(tmp_path, sentence):
    content = "Havnæringene\n\nHavnæringene sysselsetter mange mennesker langs kysten.\n\n" + sentence + "\n"
    assert texts(analyse_text(tmp_path, content)) == []


NEWS_ARTICLE = """Rekordår for norsk sjømateksport

Norsk sjømat ble eksportert for 170 milliarder kroner i fjor, viser nye tall. Laks sto for over to \
tredjedeler av verdien.

– Dette er et historisk godt resultat for hele næringen, sier administrerende direktør Per Olsen i Sjømat Norge.

Regjeringen innførte i fjor en ny markedsføringsordning, og Innovasjon Norge har styrket sine kontorer i \
Asia. Fiskeriminister Ola Nordmann mener resultatet viser at politikken virker.

– Vi skal fortsette å bygge opp nye markeder, sier Olsen.

Næringen forventer at regjeringen styrker tilbudet av kompetanse i årene som kommer. Målet er at eksporten \
skal øke med 50 prosent innen 2030.
"""


def test_news_article_that_only_describes_policy_has_no_measures(tmp_path):
    result = analyse_text(tmp_path, NEWS_ARTICLE, name="nyhet.txt")
    assert texts(result) == []
    assert result.commitments == []
    assert actor_names(result) == ["Sjømat Norge", "Regjeringen", "Innovasjon Norge"]
    assert [p.name for p in result.persons] == ["Per Olsen", "Ola Nordmann"]


def test_news_page_in_html(tmp_path):
    body = """<h1>Vil gjøre det enklere å starte bedrift</h1>
<p>Regjeringen legger fram en ny plan for gründere.</p>
<p>Næringsminister Ola Nordmann sier at regjeringen vil etablere en felles digital inngang for alle som vil starte
bedrift.</p>
<p>– Vi skal fjerne unødvendige skjemaer, sier Nordmann.</p>
<p>– Vi skal ansette flere rådgivere, sier leder Per Olsen i Abelia.</p>
<p>Ett av tiltakene er å innføre en ny lånegaranti for unge gründere.</p>
<p>Siden 2022 har regjeringen styrket Innovasjon Norge med 400 millioner kroner.</p>"""
    result = analyse_file(write_html(tmp_path / "nyhet.html", body, title="Gründerplan"))
    # A plan put forward now is a pending proposal, and a closing attribution is not part of the measure
    # (corpus/annotations/README.md, decisions "Time" and "Spans").
    assert texts(result) == [
        "Regjeringen legger fram en ny plan for gründere",
        "regjeringen vil etablere en felles digital inngang for alle som vil starte bedrift",
        "Vi skal fjerne unødvendige skjemaer",
        "innføre en ny lånegaranti for unge gründere",
    ]
    assert [m.method for m in result.measures] == ["prose_commitment", "reported_speech", "prose_commitment",
                                                   "prose_announcement"]
    assert [m.strength for m in result.measures] == ["binding", "binding", "binding", "binding"]
    assert "Forsiden" not in result.text and "informasjonskapsler" not in result.text
    assert actor_names(result) == ["Regjeringen", "Abelia", "Innovasjon Norge"]
    assert [p.name for p in result.persons] == ["Ola Nordmann", "Per Olsen"]


def test_word_document_with_tiltak_heading(tmp_path):
    path = write_docx(tmp_path / "plan.docx", [
        ("title", "Handlingsplan for sirkulær økonomi"),
        ("heading1", "Tiltak"),
        ("number", "Innføre en returordning for tekstiler innen 2027."),
        ("number", "Gjennomgå regelverket for avfall."),
        ("number", "Kartlegging av materialstrømmer i byggenæringen."),
        ("heading1", "Innsatsområder"),
        ("bullet", "Plastforurensning"),
        ("bullet", "Ombruk av byggevarer"),
        ("paragraph", "Regjeringen har styrket Miljødirektoratet med flere stillinger."),
    ])
    result = analyse_file(path)
    assert texts(result) == ["Innføre en returordning for tekstiler innen 2027", "Gjennomgå regelverket for avfall",
                             "Kartlegging av materialstrømmer i byggenæringen"]
    assert [m.strength for m in result.measures] == ["binding", "exploratory", "exploratory"]
    assert [m.section for m in result.measures] == [["Handlingsplan for sirkulær økonomi", "Tiltak"]] * 3
    assert [(d.text, d.year, d.kind) for d in result.commitments[0].deadlines] == [("innen 2027", 2027, "by")]
    assert actor_names(result) == ["Regjeringen", "Miljødirektoratet"]


def test_page_of_a_measure_in_paginated_text(tmp_path):
    content = ("Strategi for reiseliv\n\nReiselivet er viktig for distriktene.\n\f"
               "Regjeringen vil etablere et nasjonalt reisemålsprogram.\n\f")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Regjeringen vil etablere et nasjonalt reisemålsprogram"]
    assert result.measures[0].page == 2


def test_sentence_ending_in_a_year_is_its_own_span(tmp_path):
    content = ("Fiskeripolitikk\n\nRegjeringen vil innføre en ny ordning for fiskere innen 2027. "
               "Regjeringen vil også etablere et fond for grønn omstilling.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Regjeringen vil innføre en ny ordning for fiskere innen 2027",
                             "Regjeringen vil også etablere et fond for grønn omstilling"]


# ---- duplicates ---------------------------------------------------------------------------------------------

def test_list_measure_restated_in_prose_counts_once(tmp_path):
    content = INDUSTRY_STRATEGY + "\nRegjeringen vil etablere et nasjonalt senter for batteriteknologi.\n"
    result = analyse_text(tmp_path, content)
    assert len(result.measures) == 5
    assert texts(result).count("etablere et nasjonalt senter for batteriteknologi i Mo i Rana") == 1
    assert all("Regjeringen vil etablere" not in t for t in texts(result))


def test_prose_before_its_list_counts_once(tmp_path):
    content = """Næringsklynger

Regjeringen vil styrke samarbeidet mellom Siva og næringsklyngene.

For å få mer ut av klyngene vil regjeringen:

- styrke samarbeidet mellom Siva og næringsklyngene
- etablere et nasjonalt klyngeforum
"""
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["styrke samarbeidet mellom Siva og næringsklyngene", "etablere et nasjonalt klyngeforum"]


def test_repeated_prose_and_repeated_list_item_count_once(tmp_path):
    content = """Lærerutdanning

Regjeringen vil:

- etablere et nytt senter for lærerutdanning
- etablere et nytt senter for lærerutdanning
- kartlegge omfanget av ufrivillig deltid

Regjeringen vil innføre en femårig praktisk lærerutdanning.

Som nevnt vil regjeringen innføre en femårig praktisk lærerutdanning.

Regjeringen vil innføre en femårig praktisk lærerutdanning.
"""
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["etablere et nytt senter for lærerutdanning", "kartlegge omfanget av ufrivillig deltid",
                             "Regjeringen vil innføre en femårig praktisk lærerutdanning"]


def test_distinct_measures_with_similar_wording_are_both_kept(tmp_path):
    content = ("Energi\n\nRegjeringen vil etablere et nasjonalt senter for havvind i Bergen. Regjeringen vil "
               "etablere et nasjonalt senter for hydrogen i Mo i Rana.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["Regjeringen vil etablere et nasjonalt senter for havvind i Bergen",
                             "Regjeringen vil etablere et nasjonalt senter for hydrogen i Mo i Rana"]


# ---- strength -----------------------------------------------------------------------------------------------

STRENGTH_ITEMS = [
    # (item, strength, modality)
    ("arbeide for at flere kvinner velger teknologiske fag", "intention", "arbeide for"),
    ("ta sikte på å forskriftsfeste krav om universell utforming", "binding", "ta sikte på å forskriftsfeste"),
    ("sørge for økt bevissthet om digitale trusler i småbedrifter", "intention", "sørge for"),
    ("oppfordre fylkeskommunene til å vurdere felles innkjøp", "intention", "oppfordre"),
    ("sette ned et utvalg som skal se på finansieringen av fagskolene", "exploratory", "sette ned et utvalg"),
    ("sikre at alle elever får tilgang til digitale læremidler", "binding", "sikre at"),
    ("legge til rette for flere lærlingplasser i staten", "intention", "legge til rette for"),
    ("gi Helsedirektoratet i oppdrag å utrede en ny finansieringsmodell", "exploratory", "utrede"),
    ("legge fram en vurdering av behovet for en egen lov om plattformarbeid", "exploratory",
     "legge fram en vurdering"),
    ("legge fram en stortingsmelding om distriktspolitikk", "binding", "legge fram"),
    ("innføre en ny ordning for etter- og videreutdanning og vurdere å utvide den til private skoler", "binding",
     "innføre"),
    ("videreutvikle samarbeidet med arbeidslivets parter", "intention", "videreutvikle"),
    ("gjennomgå regelverket for offentlige anskaffelser", "exploratory", "gjennomgå"),
    ("opprette et nasjonalt kontaktpunkt for plattformarbeidere", "binding", "opprette"),
    ("Utredning av en ordning for grønne lån til rederier", "exploratory", "Utredning"),
    ("Nytt program for etterutdanning av fagarbeidere", "binding", "Nytt"),
    ("Økt kapasitet i kulturskolen", "intention", "Økt"),
    pytest.param(
        "gi Forskningsrådet i oppdrag å gjennomføre en evaluering av ordningen", "exploratory", None),
    pytest.param(
        "be Siva om en vurdering av næringshagene", "exploratory", None),
    pytest.param(
        "En nasjonal strategi mot ensomhet blant eldre", "binding", None),
]


@pytest.fixture(scope="module")
def strength_result(tmp_path_factory) -> DocumentResult:
    items = [p.values[0] if hasattr(p, "values") else p[0] for p in STRENGTH_ITEMS]
    content = "Tiltak for arbeid og utdanning\n\nTiltak\n\n" + "".join(f"- {item}\n" for item in items)
    return analyse_text(tmp_path_factory.mktemp("strength"), content)


def test_every_strength_item_is_a_measure(strength_result):
    items = [p.values[0] if hasattr(p, "values") else p[0] for p in STRENGTH_ITEMS]
    assert texts(strength_result) == items


@pytest.mark.parametrize(("item", "strength", "modality"), STRENGTH_ITEMS)
def test_strength(strength_result, item, strength, modality):
    found = commitment(strength_result, item)
    assert measure(strength_result, item).strength == strength
    assert found.strength == strength
    if modality is not None:
        assert found.modality == modality


# ---- amounts and deadlines ----------------------------------------------------------------------------------

AMOUNT_CASES = [
    # (sentence, [(text, nok, period, year, approximate)])
    ("Regjeringen vil bevilge 148,3 mill. kroner til opprydding av marin forsøpling.",
     [("148,3 mill. kroner", 148_300_000, None, None, False)]),
    ("Regjeringen vil sette av 2 mrd. kroner til grønn skipsfart.", [("2 mrd. kroner", 2e9, None, None, False)]),
    ("Regjeringen vil øke tilskuddet til reiselivsklynger med 50 millioner kroner i året.",
     [("50 millioner kroner i året", 50e6, "per_year", None, False)]),
    ("Regjeringen vil sette av ti-talls millioner kroner til pilotprosjekter for hydrogen.",
     [("ti-talls millioner kroner", 10e6, None, None, True)]),
    ("Regjeringen vil gi Siva NOK 30 millioner over tre år til inkubatorer.",
     [("NOK 30 millioner over tre år", 30e6, "over_3_years", None, False)]),
    ("Regjeringen vil sette av 1,5 milliarder kroner i 2026 til nye studentboliger.",
     [("1,5 milliarder kroner i 2026", 1.5e9, "in_year", 2026, False)]),
    ("Regjeringen vil videreføre ordningen med 1 200 millioner kroner fra 2027.",
     [("1 200 millioner kroner fra 2027", 1.2e9, "from_year", 2027, False)]),
    ("Regjeringen vil bevilge 300 millioner kroner årlig til Husbanken.",
     [("300 millioner kroner årlig", 300e6, "per_year", None, False)]),
]


@pytest.mark.parametrize(("item", "expected"), AMOUNT_CASES, ids=[case[1][0][0] for case in AMOUNT_CASES])
def test_amounts(tmp_path, item, expected):
    # As an item under a "Tiltak" heading: the measure is the whole item, and its amounts are read from it.
    content = "Finansiering\n\nTiltak\n\n- " + item + "\n"
    result = analyse_text(tmp_path, content)
    assert len(result.measures) == 1
    amounts = result.commitments[0].amounts
    assert [(a.text, a.nok, a.period, a.year, a.approximate) for a in amounts] == [
        (text, pytest.approx(nok), period, year, approximate) for text, nok, period, year, approximate in expected]


DEADLINE_CASES = [
    ("Regjeringen vil etablere et nytt register for medisinsk utstyr innen 2027.", [("innen 2027", 2027, "by")]),
    ("Regjeringen vil innføre nye krav til rapportering i løpet av 2026.", [("i løpet av 2026", 2026, "during")]),
    ("Regjeringen vil avvikle den gamle støtteordningen fra 2028.", [("fra 2028", 2028, "from")]),
    ("Regjeringen vil legge fram en stortingsmelding om sjømat høsten 2026.", [("høsten 2026", 2026, "in")]),
    ("Regjeringen vil etablere et boligfond innen utgangen av 2027.", [("innen utgangen av 2027", 2027, "by")]),
    ("Regjeringa vil opprette eit nytt kystsenter frå 2027.", [("frå 2027", 2027, "from")]),
    pytest.param(
        "Regjeringa vil innføre eit krav om tilstandsrapport innan 2028.", [("innan 2028", 2028, "by")]),
]


@pytest.mark.parametrize(("sentence", "expected"), DEADLINE_CASES)
def test_deadlines(tmp_path, sentence, expected):
    content = "Oppfølging\n\nDette kapittelet beskriver oppfølgingen.\n\n" + sentence + "\n"
    result = analyse_text(tmp_path, content)
    assert texts(result) == [sentence.rstrip(".")]
    deadlines = result.commitments[0].deadlines
    assert [(d.text, d.year, d.kind) for d in deadlines] == expected


def test_amount_and_deadline_offsets_point_into_the_document(tmp_path):
    content = ("Havmiljø\n\nI 2026 vil regjeringen bevilge 148,3 mill. kroner til opprydding av marin forsøpling "
               "langs kysten.\n")
    result = analyse_text(tmp_path, content)
    (found,) = result.commitments
    assert [(a.text, a.start) for a in found.amounts] == [("148,3 mill. kroner", result.text.index("148,3"))]
    assert [(d.text, d.year, d.kind, d.start) for d in found.deadlines] == [
        ("I 2026", 2026, "in", result.text.index("I 2026"))]
    assert found.responsible == "Regjeringen"


# ---- actors, persons and responsibility ---------------------------------------------------------------------

ACTOR_DOCUMENT = """Plan for kystnæringene

Planen ble lagt fram i dag av næringsminister Ola Nordmann og statsråd Kari Fjellheim. Kommunene og \
næringslivet har gitt innspill, og kommunene skal få mer veiledning.

Tiltak

- HOD skal etablere et nytt register for medisinsk utstyr.
- NFD skal gi Innovasjon Norges utekontorer et tydeligere eksportoppdrag.
- Siva gis i oppdrag å kartlegge behovet for nye næringshager.
- forskningsrådet skal lyse ut midler til havforskning.
- øke norsk deltakelse i EU-programmene for forskning.

Regjeringa vil styrkje samarbeidet mellom Innovasjon Noreg og Noregs forskingsråd.

Komiteen ber regjeringen styrke Fiskeridirektoratets tilgang til sanntidsdata.
"""


@pytest.fixture(scope="module")
def actor_result(tmp_path_factory) -> DocumentResult:
    return analyse_text(tmp_path_factory.mktemp("actors"), ACTOR_DOCUMENT)


def test_actors_have_canonical_names(actor_result):
    mentions = {a.name: [m.text for m in a.mentions] for a in actor_result.actors}
    assert mentions == {
        "Helse- og omsorgsdepartementet": ["HOD"],
        "Nærings- og fiskeridepartementet": ["NFD"],
        "Innovasjon Norge": ["Innovasjon Norges", "Innovasjon Noreg"],
        "Siva": ["Siva"],
        "Norges forskningsråd": ["forskningsrådet", "Noregs forskingsråd"],
        "EU": ["EU-programmene"],
        "Regjeringen": ["Regjeringa", "regjeringen"],
        "Fiskeridirektoratet": ["Fiskeridirektoratets"],
    }
    types = {a.name: a.type for a in actor_result.actors}
    assert types["Helse- og omsorgsdepartementet"] == "ministry"
    assert types["Regjeringen"] == "government"
    assert {a.name: a.abbreviation for a in actor_result.actors}["Nærings- og fiskeridepartementet"] == "NFD"


def test_generic_groups_and_persons_are_not_actors(actor_result):
    names = actor_names(actor_result)
    for generic in ("Kommunene", "kommunene", "næringslivet", "Næringslivet"):
        assert generic not in names
    assert "Ola Nordmann" not in names and "Kari Fjellheim" not in names
    assert [(p.name, p.type) for p in actor_result.persons] == [("Ola Nordmann", "person"),
                                                                 ("Kari Fjellheim", "person")]
    assert [[m.text for m in p.mentions] for p in actor_result.persons] == [["Ola Nordmann"], ["Kari Fjellheim"]]


COMPANY_NEWS = """Ny fabrikk for medisinsk utstyr

Medtech-selskapet Vitalis Sensor åpnet i dag en ny fabrikk i Trondheim. Vitalis Sensor har 140 ansatte og \
leverer til de nordiske produsentene Nordmed, Kjølvik og Fjordlab. Bygget ble reist på åtte måneder.

Photonova ASA og Helixa Therapeutics skal samarbeide om kliniske studier. Helixas nye lab ligger i \
Livsvitenskapshuset. Det sier konsernsjef Marte Lund i Helixa Therapeutics til Dagens Medisin.

- Det norske markedet er for lite for oss alene, sier Lund. Innovasjonskontoret i Statens legemiddelverk \
har gitt råd underveis.
"""


def test_companies_are_found_by_their_designator_or_an_apposition(tmp_path):
    result = analyse_text(tmp_path, COMPANY_NEWS)
    actors = {a.name: a for a in result.actors}
    # A company word ends the name ("ASA", "Therapeutics"); an organisation noun introduces it, a plural one a
    # list; whatever label the NER model gave these names, they are companies.
    for name in ("Vitalis Sensor", "Nordmed", "Kjølvik", "Fjordlab", "Photonova ASA", "Helixa Therapeutics"):
        assert actors[name].type == "company", name
    assert [m.text for m in actors["Vitalis Sensor"].mentions] == ["Vitalis Sensor", "Vitalis Sensor"]
    # Later mentions without the company word ("Helixas nye lab") are the same company.
    assert [m.text for m in actors["Helixa Therapeutics"].mentions] == [
        "Helixa Therapeutics", "Helixas", "Helixa Therapeutics"]
    assert "Statens legemiddelverk" in actors
    # Places, a common phrase after a determiner, a unit inside a named body and buildings are not actors.
    for not_actor in ("Trondheim", "Det norske markedet", "Innovasjonskontoret", "Livsvitenskapshuset", "Bygget"):
        assert not_actor not in actors
    # The person stays a person, with the later surname mention merged into the full name.
    persons = {p.name: [m.text for m in p.mentions] for p in result.persons}
    assert persons.get("Marte Lund") == ["Marte Lund", "Lund"]
    assert not set(persons) & set(actors)


def test_company_rules_at_a_sentence_start_and_places_after_an_organisation_noun(tmp_path):
    """With the shipped model, whose NER tells the places ("Kina", "India") that follow an organisation noun."""
    path = tmp_path / "nyhet.txt"
    path.write_text("Konsernet Fjordvik Medical ASA kjøper aksjer i to selskaper. Leverandørene Polarlab og "
                    "Nordbio vant anbudet. Produsentene Kina og India dominerer markedet for virkestoff.\n",
                    encoding="utf-8")
    result = analyse_document(path, PipelineConfig(nlp="best"))
    assert result.provenance.nlp_model.kind == "shipped"
    companies = {a.name for a in result.actors if a.type == "company"}
    assert companies == {"Fjordvik Medical ASA", "Polarlab", "Nordbio"}
    assert not {"Kina", "India"} & {a.name for a in result.actors}


def test_company_appositions_in_nynorsk(tmp_path):
    result = analyse_text(tmp_path, "Regjeringa vil at verksemda Havlys og føretaka Nordkapp Bio og Fjellmed skal "
                                    "få meir støtte. Havlys har 30 tilsette.\n")
    mentions = {a.name: [m.text for m in a.mentions] for a in result.actors if a.type == "company"}
    assert mentions == {"Havlys": ["Havlys", "Havlys"], "Nordkapp Bio": ["Nordkapp Bio"], "Fjellmed": ["Fjellmed"]}


def test_measure_actors_are_those_named_in_the_measure(actor_result):
    assert [(m.text, m.actors) for m in actor_result.measures] == [
        ("HOD skal etablere et nytt register for medisinsk utstyr", ["Helse- og omsorgsdepartementet"]),
        ("NFD skal gi Innovasjon Norges utekontorer et tydeligere eksportoppdrag",
         ["Nærings- og fiskeridepartementet", "Innovasjon Norge"]),
        ("Siva gis i oppdrag å kartlegge behovet for nye næringshager", ["Siva"]),
        ("forskningsrådet skal lyse ut midler til havforskning", ["Norges forskningsråd"]),
        ("øke norsk deltakelse i EU-programmene for forskning", ["EU"]),
        ("Regjeringa vil styrkje samarbeidet mellom Innovasjon Noreg og Noregs forskingsråd",
         ["Regjeringen", "Innovasjon Norge", "Norges forskningsråd"]),
        ("Komiteen ber regjeringen styrke Fiskeridirektoratets tilgang til sanntidsdata",
         ["Regjeringen", "Fiskeridirektoratet"]),
    ]


def test_responsible_actor(actor_result):
    assert commitment(actor_result, "Siva gis i oppdrag å kartlegge behovet for nye næringshager").responsible == "Siva"
    assert commitment(actor_result, "Siva gis i oppdrag å kartlegge behovet for nye næringshager").strength == \
        "exploratory"
    assert commitment(actor_result, "Regjeringa vil styrkje samarbeidet mellom Innovasjon Noreg og Noregs "
                                    "forskingsråd").responsible == "Regjeringen"
    assert commitment(actor_result, "Komiteen ber regjeringen styrke Fiskeridirektoratets tilgang til "
                                    "sanntidsdata").responsible == "Regjeringen"
    # Under "Tiltak" nobody is named for a verbless-subject item: no responsible actor is invented.
    assert commitment(actor_result, "øke norsk deltakelse i EU-programmene for forskning").responsible is None


def test_responsible_is_the_assigned_body(tmp_path):
    result = analyse_text(tmp_path, INDUSTRY_STRATEGY)
    responsible = [c.responsible for c in result.commitments]
    assert responsible == ["Regjeringen", "Innovasjon Norge", "Regjeringen", "Regjeringen", "Regjeringen"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("HOD skal etablere et nytt register for medisinsk utstyr", "Helse- og omsorgsdepartementet"),
     ("NFD skal gi Innovasjon Norges utekontorer et tydeligere eksportoppdrag", "Nærings- og fiskeridepartementet"),
     ("forskningsrådet skal lyse ut midler til havforskning", "Norges forskningsråd")],
)
def test_responsible_is_the_subject_named_by_abbreviation_or_alias(actor_result, text, expected):
    assert commitment(actor_result, text).responsible == expected


def test_responsible_ministry_with_compound_name(tmp_path):
    content = ("Sjømat\n\nNærings- og fiskeridepartementet skal legge fram en stortingsmelding om sjømatnæringen "
               "høsten 2026.\n")
    result = analyse_text(tmp_path, content)
    assert [c.responsible for c in result.commitments] == ["Nærings- og fiskeridepartementet"]


def test_responsible_for_a_request_from_stortinget(tmp_path):
    content = "Reiseliv\n\nStortinget ber regjeringa leggje fram ein plan for heilårsturisme i distrikta.\n"
    result = analyse_text(tmp_path, content)
    assert [c.responsible for c in result.commitments] == ["Regjeringen"]


def test_quoted_third_party_is_a_person_and_organisation_not_a_measure(tmp_path):
    content = ("Bolig\n\nBoligbyggingen har falt de siste årene.\n\n"
               "– Vi skal bygge mer, sier administrerende direktør Kari Hansen i NHO.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == []
    assert actor_names(result) == ["NHO"]
    assert [p.name for p in result.persons] == ["Kari Hansen"]


def test_reported_speech_with_past_tense_verb(tmp_path):
    content = ("Arbeidsliv\n\nStatsråd Kari Fjellheim varslet at regjeringen skal legge fram en handlingsplan mot "
               "sosial dumping.\n")
    result = analyse_text(tmp_path, content)
    assert texts(result) == ["regjeringen skal legge fram en handlingsplan mot sosial dumping"]


def test_measures_in_a_two_column_pdf_are_whole(tmp_path):
    from test_loaders import TWO_COLUMNS_LEFT, TWO_COLUMNS_RIGHT

    path = write_two_column_pdf(tmp_path / "strategi.pdf", "Strategi for helsedata", TWO_COLUMNS_LEFT,
                                TWO_COLUMNS_RIGHT)
    result = analyse_file(path)
    assert [(m.text, m.page) for m in result.measures] == [
        ("etablere en felles søknadsportal for alle helseregistre og biobanker", 1),
        ("utrede en ny lov om helseregistre og behandlingen av helseopplysninger", 1),
    ]


def test_a_list_intro_is_not_a_measure_itself(tmp_path):
    result = analyse_text(tmp_path, "Helsedata\n\nRegjeringen vil arbeide for å:\n\n- etablere et nytt senter for "
                                    "helsedata\n- styrke samarbeidet med kommunene\n")
    assert texts(result) == ["etablere et nytt senter for helsedata", "styrke samarbeidet med kommunene"]
