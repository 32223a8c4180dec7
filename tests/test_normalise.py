"""Normalisation: characters, words hyphenated across line breaks, and page furniture of real PDFs."""

from collections import Counter
from dataclasses import replace

import pytest
from builders import write_pdf

from pipeline.reading.loaders import load_document
from pipeline.reading.normalise import document_vocabulary, join_wrapped, normalise_line, remove_page_furniture

# --- characters ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("helse\u00adnæringen", "helsenæringen"),  # soft hyphen
        ("\ufb01nansiering av \ufb02yten", "finansiering av flyten"),  # ﬁ, ﬂ ligatures
        ("Meld.\u00a0St.\u00a07", "Meld. St. 7"),  # no-break spaces
        ("12\u202f000 kroner", "12 000 kroner"),  # narrow no-break space
        ("a\u030arlig m\u00f8te", "årlig møte"),  # NFD å → NFC å
        ("\uf0b7 styrke næringen", "• styrke næringen"),  # symbol-font bullet
        ("•\uf020styrke næringen", "• styrke næringen"),  # a bullet and the symbol font's private-use space
        ("\uf0b7\uf020\uf020styrke", "• styrke"),
        ("\uf02d self-driving buses", "– self-driving buses"),  # a symbol font's dash set as a bullet
        ("  Sør-Norge\u200b  og   Nord-Norge\t", "Sør-Norge og Nord-Norge"),  # zero-width, runs of spaces
        ("Tromsø\x07\x1f", "Tromsø"),  # control characters
    ],
)
def test_normalise_line(raw: str, clean: str):
    assert normalise_line(raw) == clean


def test_nfd_aa_becomes_one_code_point():
    decomposed = "a\u030a"
    assert len(decomposed) == 2
    assert normalise_line(decomposed) == "å" and len(normalise_line(decomposed)) == 1


# --- words hyphenated across a line break --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("om helse-", "næringen i Norge", "om helsenæringen i Norge"),
        ("helse-", "og omsorgstjenesten", "helse- og omsorgstjenesten"),
        ("Nærings-", "eller fiskeridepartementet", "Nærings- eller fiskeridepartementet"),
        ("satsing på e-", "helse", "satsing på e-helse"),
        ("i Nord-", "Norge", "i Nord-Norge"),
        ("søke EU-", "midler", "søke EU-midler"),
        ("økt FoU-", "innsats", "økt FoU-innsats"),
        ("i 2025-", "budsjettet", "i 2025-budsjettet"),
        ("den grønne", "omstillingen", "den grønne omstillingen"),
        ("tiltak –", "og mer", "tiltak – og mer"),
        ("tiltak -", "og mer", "tiltak - og mer"),
        ("", "næringen", "næringen"),
        ("helse-", "", "helse-"),
    ],
)
def test_join_wrapped(left: str, right: str, joined: str):
    assert join_wrapped(left, right, Counter()) == joined


def test_hyphen_the_document_writes_elsewhere_is_kept():
    vocabulary = document_vocabulary(["Ikke-statlige aktører får egne ordninger.", "Også ikke-"])
    assert vocabulary["ikke-statlige"] == 1
    assert join_wrapped("Også ikke-", "statlige aktører", vocabulary) == "Også ikke-statlige aktører"
    assert join_wrapped("Også ikke-", "statlige aktører", Counter()) == "Også ikkestatlige aktører"


def test_joined_spelling_in_the_document_wins_over_hyphenated():
    vocabulary = document_vocabulary(["Sjø-mat er ett ord.", "Sjømat er også ett ord."])
    assert join_wrapped("norsk sjø-", "mat", vocabulary) == "norsk sjømat"


def test_document_vocabulary_keeps_hyphenated_words_whole_and_casefolded():
    vocabulary = document_vocabulary(["Helse- og omsorgstjenesten i Nord-Norge", "NORD-NORGE og Sør-Norge"])
    assert vocabulary["nord-norge"] == 2
    assert vocabulary["sør-norge"] == 1
    assert vocabulary["helse"] == 1 and "helse-" not in vocabulary
    assert vocabulary["omsorgstjenesten"] == 1


# --- page furniture ------------------------------------------------------------------------------------------

HEADER = "Meld. St. 7 (2025–2026) Et bærekraftig næringsliv"


def _heights(document) -> dict[int, float | None]:
    return {page.number: page.height for page in document.pages}


def test_running_header_and_page_numbers_are_removed(tmp_path):
    document = load_document(write_pdf(tmp_path / "melding.pdf", [
        ["# Økonomiske konsekvenser", "Tiltakene dekkes innenfor gjeldende rammer."],
        ["Nærings- og fiskeridepartementet følger opp."],
        ["Tiltakene evalueres i 2028."],
    ], header=HEADER))

    kept, removed = remove_page_furniture(document.lines, _heights(document))

    assert [line.text for line in kept] == ["Økonomiske konsekvenser", "Tiltakene dekkes innenfor gjeldende rammer.",
                                            "Nærings- og fiskeridepartementet følger opp.",
                                            "Tiltakene evalueres i 2028."]
    assert [(line.page, line.text, line.reason) for line in removed] == [
        (1, HEADER, "running_header"), (1, "1", "page_number"),
        (2, HEADER, "running_header"), (2, "2", "page_number"),
        (3, HEADER, "running_header"), (3, "3", "page_number"),
    ]


def test_header_with_changing_numbers_is_one_running_header(tmp_path):
    pages = [["Første side om havbruk."], ["Andre side om økonomi."]]
    first = load_document(write_pdf(tmp_path / "a.pdf", pages[:1], header="Kapittel 3 Næringsutvikling",
                                    footer_page_numbers=False))
    second = load_document(write_pdf(tmp_path / "b.pdf", pages[1:], header="Kapittel 4 Næringsutvikling",
                                     footer_page_numbers=False))
    # One document whose pages carry "Kapittel 3 …" and "Kapittel 4 …" as headers.
    lines = [*first.lines, *(replace(line, page=2) for line in second.lines)]

    kept, removed = remove_page_furniture(lines, {1: first.pages[0].height, 2: second.pages[0].height})

    assert [line.text for line in kept] == ["Første side om havbruk.", "Andre side om økonomi."]
    assert {line.reason for line in removed} == {"running_header"}


def test_mirrored_running_headers_of_even_and_odd_pages_are_one_header(tmp_path):
    # A book puts the page number outside: first on even pages, last on odd ones. Pages cut out of it (here two odd
    # pages among six) carry each form too rarely to be a running header by itself.
    topics = ["skatt", "avgifter", "toll", "formue", "arv", "moms"]
    pages = [[f"Denne siden handler om {topic}."] for topic in topics]
    paths = [write_pdf(tmp_path / f"{n}.pdf", pages[n - 1:n], footer_page_numbers=False,
                       header=f"(2025–2026) Prop. 1 LS {n}" if n in (3, 5) else f"{n} Prop. 1 LS (2025–2026)")
             for n in range(1, 7)]
    lines = [replace(line, page=n) for n, path in enumerate(paths, start=1) for line in load_document(path).lines]
    heights = {n: load_document(path).pages[0].height for n, path in enumerate(paths, start=1)}

    kept, removed = remove_page_furniture(lines, heights)

    assert [line.text for line in kept] == [f"Denne siden handler om {topic}." for topic in topics]
    assert [line.page for line in removed] == [1, 2, 3, 4, 5, 6]


def test_single_page_document_keeps_everything(tmp_path):
    document = load_document(write_pdf(tmp_path / "notat.pdf", [["# Notat om sjømat", "Én side med tekst."]],
                                       header=HEADER))
    assert len(document.lines) == 4

    kept, removed = remove_page_furniture(document.lines, _heights(document))

    assert kept == document.lines
    assert removed == []


def test_first_line_repeated_on_too_few_pages_is_kept(tmp_path):
    # Six pages need a line at three page tops before it counts as a running header.
    names = ["én", "to", "tre", "fire", "fem", "seks"]
    pages = [["Regjeringen vil styrke næringen."] if n in (2, 4) else [f"Side {name}."] for n, name in enumerate(names)]
    document = load_document(write_pdf(tmp_path / "lang.pdf", pages, footer_page_numbers=False))

    kept, removed = remove_page_furniture(document.lines, _heights(document))

    assert removed == []
    assert [line.text for line in kept].count("Regjeringen vil styrke næringen.") == 2
