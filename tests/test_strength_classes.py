"""Strength classes from the annotated real pages' data card (corpus/annotations/README.md "Strength"): budget
decisions and concrete decided actions are binding, direction without a deliverable is intention, investigations are
exploratory. Texts written for these tests, Bokmål and Nynorsk."""

import pytest

from extractors.commitments import assess_strength, load_strength_rules
from pipeline.schema import Strength

RULES = load_strength_rules()

CASES = [
    # budget decisions: a sum in millions, with or without "kroner"
    ("I tillegg foreslår regjeringen 25 millioner ekstra til Kystverket", Strength.BINDING),
    ("12,5 millioner til nye lærebøker i fagskolene", Strength.BINDING),
    ("Regjeringa vil bruke 2 milliardar ekstra på rusomsorga", Strength.BINDING),
    ("Regjeringa foreslår å auke løyvinga til bibliotek med 1,2 milliardar", Strength.BINDING),
    ("Tilskuddet til fylkesveier kuttes med 30 millioner", Strength.BINDING),
    # decided quantities and passive changes to taxes and fees
    ("Sivilforsvaret økes til 9.000 tjenestepliktige", Strength.BINDING),
    ("Kystvakta skal økes fra to til fire fartøy", Strength.BINDING),
    ("Gradvis auke forskingsdelen av budsjettet til tre prosent", Strength.BINDING),
    ("Bompengesatsen skal halveres", Strength.BINDING),
    ("Drivstoffavgifta skal reduserast", Strength.BINDING),
    # presenting and proposing something concrete, in any word order
    ("Regjeringen legger nå fram en strategi for å styrke kystfisket", Strength.BINDING),
    ("I dag legg vi fram ein plan for å betre kollektivtilbodet", Strength.BINDING),
    ("Departementet gjer framlegg om at forskrifta skal gjelde frå nyttår", Strength.BINDING),
    ("Regjeringen foreslår flere endringer i regelverket for skjenking", Strength.BINDING),
    # a concrete action coordinated after a directional one
    ("Styrke kommuneøkonomien og innføre en ny tilskuddsordning for bygdeveier", Strength.BINDING),
    ("Styrkje fylkeskommunane og opprette eit regionalt fond", Strength.BINDING),
    # conditions fronted before the commitment
    ("Når avtalen går ut, vil regjeringa erstatte den med ei ny ordning", Strength.BINDING),
    # direction without a deliverable stays intention
    ("Sikre ein god kollektivtransport i distrikta", Strength.INTENTION),
    ("Regjeringen vil skape større rom for lokale initiativ", Strength.INTENTION),
    ("Regjeringen vil styrke samarbeidet med kommunene om beredskap", Strength.INTENTION),
    ("Utsleppa frå transport skal reduserast", Strength.INTENTION),
    ("Styrkje kunstnarøkonomien og leggje til rette for fleire arbeidsplassar", Strength.INTENTION),
    ("Regjeringen vil styrke innsatsen mot sosial dumping innen 2030", Strength.INTENTION),
    # "sikre at X is done" stays binding (GUIDELINES), investigations stay exploratory
    ("Sikre at alle kommuner får tilbud om veiledning fra Helsedirektoratet", Strength.BINDING),
    ("Regjeringen vil foreta en gjennomgang av oppgavene til fylkeskommunene", Strength.EXPLORATORY),
    ("Regjeringen legger fram en vurdering av ordningen neste år", Strength.EXPLORATORY),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text[:40] for text, _ in CASES])
def test_strength_class(text, expected):
    assert assess_strength(text, RULES).strength == expected
