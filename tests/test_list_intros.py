"""The rules that decide whether a list's intro line commits the author to its items."""

import pytest

from extractors.measures import last_sentence, load_list_intro_rules, trim_measure_span
from pipeline.config import PipelineConfig
from pipeline.schema import Block, BlockKind

RULES = load_list_intro_rules(PipelineConfig().list_intros)


def _intro(kind: BlockKind, text: str) -> tuple[Block, str]:
    return Block(id="b1", kind=kind, start=0, end=len(text), page=None), text


@pytest.mark.parametrize(
    "text",
    [
        "For å styrke arbeidet med kommersialisering vil regjeringen:",
        "Regjeringen vil:",
        "Regjeringa vil:",
        "For å gjere tenestene betre vil regjeringa:",
        "Regjeringen mener næringspolitikken er godt innrettet, men ser behov for tiltak. For å legge til rette "
        "for videre vekst vil regjeringen:",
        "Komiteen ber regjeringen:",
        "Stortinget ber regjeringa:",
        "Nærings- og fiskeridepartementet vil:",
        "Vi vil:",
        "Regjeringen vil gjennomføre følgende tiltak:",
        "For å nå målene vil regjeringen i samarbeid med partene:",
        "For å nå målet med reformen vil regjeringa:",
        "Regjeringen tar sikte på å:",
        "Regjeringa tek sikte på å:",
    ],
)
def test_commitment_intros(text: str):
    assert RULES.introduces_measures(*_intro(BlockKind.PARAGRAPH, text))


@pytest.mark.parametrize(
    "text",
    [
        "«Komiteen ønsker at det legges fram en melding om helseindustrien som tar opp minst disse punktene:",
        "Regjeringens hovedsatsingsområder er:",
        "Innsatsområdene i strategien er:",
        "Målet er å:",
        "Målene for satsingen er:",
        "Regjeringen ønsker å:",
        "Regjeringen har innført disse ordningene:",
        "Regjeringen forventer at helseforetakene:",
        "Organisasjonene som deltok var:",
        # A commitment without the colon does not introduce a list
        "Regjeringen vil styrke helsenæringen.",
    ],
)
def test_not_commitment_intros(text: str):
    assert not RULES.introduces_measures(*_intro(BlockKind.PARAGRAPH, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Tolv utvalgte tiltak fra veikartet", True), ("Tiltak", True), ("Regjeringens tiltak", True),
     ("Innsatsområder", False), ("Kultur og ledelse", False), ("Mål og tiltak i tidligere planer", True)],
)
def test_measure_headings(text: str, expected: bool):
    assert RULES.introduces_measures(*_intro(BlockKind.HEADING, text)) is expected


def test_list_item_is_never_an_intro():
    assert not RULES.introduces_measures(*_intro(BlockKind.LIST_ITEM, "vil regjeringen:"))


def test_last_sentence_of_intro():
    assert last_sentence("Dette er bakgrunnen. For å nå målet vil regjeringen:") == "For å nå målet vil regjeringen:"


@pytest.mark.parametrize(
    ("item", "kept"),
    [("  etablere en helseanalyseplattform. ", "etablere en helseanalyseplattform"),
     ("styrke klyngene; og", "styrke klyngene"),
     ("utrede mulighetene, og vurdere eventuelle insentiver", "utrede mulighetene, og vurdere eventuelle insentiver"),
     ("legge fram en plan innen 2025.", "legge fram en plan innen 2025")],
)
def test_measure_span_drops_marker_space_and_final_punctuation(item: str, kept: str):
    start, end = trim_measure_span(item, 0, len(item))
    assert item[start:end] == kept
