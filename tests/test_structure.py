"""Structure detection on real documents: blocks, lists and their intros, pages and offsets."""

from pathlib import Path

import pytest
from builders import write_docx, write_html, write_pdf

from pipeline.loaders import load_document
from pipeline.schema import BlockKind
from pipeline.structure import StructuredDocument, build_structure

HEADER = "Meld. St. 7 (2025–2026) Et bærekraftig næringsliv"
PDF_PAGES = [
    ["# Et bærekraftig næringsliv", "Regjeringen legger fram en melding om helse-", "næringen og helse-",
     "og omsorgstjenesten i Nord-Norge. Også ikke-", "statlige aktører skal bidra.", "",
     "Ikke-statlige aktører får egne ordninger.", "",
     "For å styrke helsenæringen vil regjeringen:",
     "• etablere en nasjonal ordning for testing av", "helseteknologi", "• legge fram en handlingsplan for kliniske"],
    ["studier i Sør-Norge", "• utrede hvordan helsedata kan deles tryggere", "", "Målet er å doble eksporten innen",
     "2030, og å øke verdiskapingen i hele landet."],
    ["# Økonomiske konsekvenser", "Tiltakene dekkes innenfor gjeldende budsjett-", "rammer for Nærings- og",
     "fiskeridepartementet."],
]


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> StructuredDocument:
    path = write_pdf(tmp_path_factory.mktemp("structure") / "melding.pdf", PDF_PAGES, header=HEADER)
    return build_structure(load_document(path))


def _structure(path: Path, text: str) -> StructuredDocument:
    path.write_text(text, encoding="utf-8")
    return build_structure(load_document(path))


def _by_text(document: StructuredDocument) -> dict:
    return {document.block_text(block): block for block in document.blocks}


def _items(document: StructuredDocument) -> list:
    return [block for block in document.blocks if block.kind == BlockKind.LIST_ITEM]


def _assert_spans_consistent(document: StructuredDocument) -> None:
    previous_end = 0
    for block in document.blocks:
        span = document.block_text(block)
        assert span and span == span.strip(), block
        assert block.start >= previous_end
        previous_end = block.end
        if block.kind == BlockKind.LIST_ITEM:
            assert block.marker
            assert not span.startswith(block.marker), block
            assert document.text[: block.start].endswith(f"{block.marker} "), block


# --- a multi-page PDF ----------------------------------------------------------------------------------------


def test_pdf_text_has_no_page_furniture(pdf):
    assert "Meld. St. 7" not in pdf.text
    assert all(pdf.block_text(block) not in {"1", "2", "3"} for block in pdf.blocks)
    assert [(line.page, line.reason) for line in pdf.removed] == [
        (1, "running_header"), (1, "page_number"), (2, "running_header"), (2, "page_number"),
        (3, "running_header"), (3, "page_number"),
    ]
    assert pdf.warnings == ["removed 6 page header, footer and page-number lines"]


def test_pdf_wrapped_lines_are_joined_and_real_hyphens_kept(pdf):
    blocks = _by_text(pdf)
    assert ("Regjeringen legger fram en melding om helsenæringen og helse- og omsorgstjenesten i Nord-Norge. "
            "Også ikke-statlige aktører skal bidra.") in blocks
    assert "Tiltakene dekkes innenfor gjeldende budsjettrammer for Nærings- og fiskeridepartementet." in blocks
    assert "Målet er å doble eksporten innen 2030, og å øke verdiskapingen i hele landet." in blocks


def test_pdf_headings(pdf):
    headings = [(pdf.block_text(block), block.level, block.page) for block in pdf.blocks
                if block.kind == BlockKind.HEADING]
    assert headings == [("Et bærekraftig næringsliv", 1, 1), ("Økonomiske konsekvenser", 1, 3)]


def test_pdf_list_across_a_page_break_is_one_list_with_its_intro(pdf):
    items = _items(pdf)
    intro = _by_text(pdf)["For å styrke helsenæringen vil regjeringen:"]

    assert [pdf.block_text(item) for item in items] == [
        "etablere en nasjonal ordning for testing av helseteknologi",
        "legge fram en handlingsplan for kliniske studier i Sør-Norge",
        "utrede hvordan helsedata kan deles tryggere",
    ]
    assert len({item.list_id for item in items}) == 1 and items[0].list_id is not None
    assert {item.intro_block for item in items} == {intro.id}
    assert pdf.block_by_id(intro.id).kind == BlockKind.PARAGRAPH
    assert [(item.marker, item.level) for item in items] == [("•", 1)] * 3
    assert [(item.page, item.page_end) for item in items] == [(1, None), (1, 2), (2, None)]


def test_pdf_block_pages_and_page_at(pdf):
    pages = [(pdf.block_text(block)[:20], block.page) for block in pdf.blocks]
    assert pages == [
        ("Et bærekraftig nærin", 1), ("Regjeringen legger f", 1), ("Ikke-statlige aktøre", 1),
        ("For å styrke helsenæ", 1), ("etablere en nasjonal", 1), ("legge fram en handli", 1),
        ("utrede hvordan helse", 2), ("Målet er å doble eks", 2), ("Økonomiske konsekven", 3),
        ("Tiltakene dekkes inn", 3),
    ]
    for block in pdf.blocks:
        assert pdf.page_at(block.start) == block.page
        assert pdf.page_at(block.end - 1) == (block.page_end or block.page)
    assert pdf.page_at(pdf.text.index("kliniske")) == 1
    assert pdf.page_at(pdf.text.index("studier i Sør-Norge")) == 2


def test_pdf_spans_are_consistent(pdf):
    _assert_spans_consistent(pdf)
    assert pdf.text == "\n\n".join(
        (f"{block.marker} " if block.kind == BlockKind.LIST_ITEM else "") + pdf.block_text(block)
        for block in pdf.blocks
    )


def test_pdf_origin_maps_text_back_to_source_lines(pdf):
    assert [segment.start for segment in pdf.origin] == sorted(segment.start for segment in pdf.origin)
    assert all(a.end <= b.start for a, b in zip(pdf.origin, pdf.origin[1:], strict=False))
    studier = next(segment for segment in pdf.origin if pdf.text[segment.start:segment.end] == "studier i Sør-Norge")
    assert studier.page == 2


# --- plain text ----------------------------------------------------------------------------------------------


def test_numbered_and_lettered_items(tmp_path):
    document = _structure(tmp_path / "tiltak.txt", """Strategi for grønn omstilling

Regjeringen vil:
1. styrke Enova
2. utrede en ny ordning for havvind

Tiltakene skal vurderes i 2026:

a) forenkle regelverket for små bedrifter

b) øke støtten til næringsklynger

Departementet skal også:

(1) følge opp Nord-Norge-satsingen
(2) rapportere årlig
""")
    items = _items(document)
    assert [(item.marker, document.block_text(item)) for item in items] == [
        ("1.", "styrke Enova"), ("2.", "utrede en ny ordning for havvind"),
        ("a)", "forenkle regelverket for små bedrifter"), ("b)", "øke støtten til næringsklynger"),
        ("(1)", "følge opp Nord-Norge-satsingen"), ("(2)", "rapportere årlig"),
    ]
    lists = [item.list_id for item in items]
    assert lists[0] == lists[1] and lists[2] == lists[3] and lists[4] == lists[5]
    assert len(set(lists)) == 3  # the blank lines between a) and b) do not split their list
    intros = [document.block_text(document.block_by_id(item.intro_block)) for item in items[::2]]
    assert intros == ["Regjeringen vil:", "Tiltakene skal vurderes i 2026:", "Departementet skal også:"]
    _assert_spans_consistent(document)


def test_paragraph_between_two_lists_makes_two_lists(tmp_path):
    document = _structure(tmp_path / "to-lister.txt", """Regjeringen vil:
• styrke sjømatnæringen
• bygge ut havvind

Dette følges opp i budsjettet for 2027.

• øke eksportstøtten
• forenkle søknadene
""")
    items = _items(document)
    assert len(items) == 4
    assert items[0].list_id == items[1].list_id != items[2].list_id == items[3].list_id
    assert document.block_text(document.block_by_id(items[2].intro_block)) == "Dette følges opp i budsjettet for 2027."


def test_nested_items_get_level_2(tmp_path):
    document = _structure(tmp_path / "nestet.txt", """Regjeringen vil:
• styrke næringsklyngene
    – med vekt på Nord-Norge
    – og på innlandet
• utrede et nytt fond for grønn omstilling
""")
    items = _items(document)
    assert [(item.level, item.marker, document.block_text(item)) for item in items] == [
        (1, "•", "styrke næringsklyngene"), (2, "–", "med vekt på Nord-Norge"), (2, "–", "og på innlandet"),
        (1, "•", "utrede et nytt fond for grønn omstilling"),
    ]
    assert items[0].list_id == items[3].list_id != items[1].list_id == items[2].list_id
    assert items[1].intro_block == items[0].id  # a sublist is introduced by its parent item
    _assert_spans_consistent(document)


NEWS = """Nytt løft for boligbygging

Regjeringen legger fram en ny boligmelding i dag.

– Vi skal bygge mer, sier statsråden.

Meldingen har fått god mottakelse.

– Dette er et viktig løft for hele landet, sier ordføreren.
– Kommunene har ventet lenge på dette.

Regjeringen vil:
– styrke Husbanken
– utrede nye låneordninger for unge

Regjeringa vil:
– byggje fleire bustader i distrikta
– auke løyvingane til kommunane
"""


def test_news_quotes_are_paragraphs_and_dash_lists_are_lists(tmp_path):
    document = _structure(tmp_path / "nyhet.txt", NEWS)
    blocks = _by_text(document)

    assert blocks["– Vi skal bygge mer, sier statsråden."].kind == BlockKind.PARAGRAPH
    assert blocks["– Dette er et viktig løft for hele landet, sier ordføreren."].kind == BlockKind.PARAGRAPH
    assert blocks["– Kommunene har ventet lenge på dette."].kind == BlockKind.PARAGRAPH
    items = _items(document)
    assert [(item.marker, document.block_text(item)) for item in items] == [
        ("–", "styrke Husbanken"), ("–", "utrede nye låneordninger for unge"),
        ("–", "byggje fleire bustader i distrikta"), ("–", "auke løyvingane til kommunane"),
    ]
    intros = [document.block_text(document.block_by_id(item.intro_block)) for item in items]
    assert intros == ["Regjeringen vil:"] * 2 + ["Regjeringa vil:"] * 2
    assert items[0].list_id == items[1].list_id != items[2].list_id == items[3].list_id
    _assert_spans_consistent(document)


def test_news_quote_right_after_a_subheading_is_not_a_list(tmp_path):
    document = _structure(tmp_path / "nyhet.txt", """Nytt løft for boligbygging

Regjeringen legger fram en ny boligmelding i dag.

Viktig for distriktene

– Vi skal bygge mer i hele landet, sier statsråden.
""")
    assert _by_text(document)["– Vi skal bygge mer i hele landet, sier statsråden."].kind == BlockKind.PARAGRAPH


def test_section_path(tmp_path):
    document = _structure(tmp_path / "melding.txt", """Meld. St. 14 Tiltak for næringslivet

1 Innledning

Regjeringen legger fram en melding om økt verdiskaping.

1.1 Bakgrunn

Næringslivet i Nord-Norge står foran store endringer.

2 Tiltak

Regjeringa vil:
– styrke klyngene
""")
    blocks = _by_text(document)
    title = "Meld. St. 14 Tiltak for næringslivet"
    assert [(document.block_text(b), b.level) for b in document.blocks if b.kind == BlockKind.HEADING] == [
        (title, 1), ("1 Innledning", 2), ("1.1 Bakgrunn", 3), ("2 Tiltak", 2),
    ]
    assert document.section_path(blocks[title]) == []
    assert document.section_path(blocks["1.1 Bakgrunn"]) == [title, "1 Innledning"]
    assert document.section_path(blocks["Næringslivet i Nord-Norge står foran store endringer."]) == [
        title, "1 Innledning", "1.1 Bakgrunn"]
    assert document.section_path(blocks["styrke klyngene"]) == [title, "2 Tiltak"]


def test_plain_text_without_pages_has_no_page(tmp_path):
    document = _structure(tmp_path / "notat.txt", "Notat om sjømat\n\nÉn kort tekst om økt eksport.\n")
    assert [block.page for block in document.blocks] == [None, None]
    assert document.page_at(0) is None
    assert document.removed == [] and document.warnings == []


def test_form_feed_pages_reach_the_blocks(tmp_path):
    document = _structure(tmp_path / "sider.txt", "Første side om havbruk.\fAndre side om økonomi.\n")
    assert [(document.block_text(b), b.page) for b in document.blocks] == [
        ("Første side om havbruk.", 1), ("Andre side om økonomi.", 2)]
    assert document.page_at(document.text.index("økonomi")) == 2


# --- markers a structured source keeps apart -----------------------------------------------------------------


def test_html_markers_are_in_the_text_but_outside_the_spans(tmp_path):
    page = write_html(tmp_path / "nyhet.html", "<h1>Ny plan for helsenæringen</h1><p>Regjeringen vil:</p>"
                      "<ul><li>opprette et råd for helseinnovasjon<ul><li>med representanter fra næringen</li></ul>"
                      "</li><li>styrke eksportsatsingen</li></ul><h2>Økonomi</h2>"
                      "<ol><li>øke løyvingene</li><li>forenkle søknadene</li></ol>", title="Ny plan")
    document = build_structure(load_document(page))

    items = _items(document)
    assert [(item.marker, item.level, document.block_text(item)) for item in items] == [
        ("•", 1, "opprette et råd for helseinnovasjon"), ("•", 2, "med representanter fra næringen"),
        ("•", 1, "styrke eksportsatsingen"), ("1.", 1, "øke løyvingene"), ("2.", 1, "forenkle søknadene"),
    ]
    assert "\n\n• styrke eksportsatsingen\n\n" in document.text
    assert document.text.endswith("\n\n1. øke løyvingene\n\n2. forenkle søknadene")
    assert items[0].list_id == items[2].list_id != items[1].list_id
    assert document.block_text(document.block_by_id(items[0].intro_block)) == "Regjeringen vil:"
    assert document.block_text(document.block_by_id(items[3].intro_block)) == "Økonomi"
    _assert_spans_consistent(document)


def test_docx_markers_are_in_the_text_but_outside_the_spans(tmp_path):
    path = write_docx(tmp_path / "strategi.docx", [
        ("title", "Strategi for helsedata"), ("paragraph", "For å bedre tilgangen til data vil regjeringen:"),
        ("bullet", "etablere en helseanalyseplattform"), ("bullet", "forenkle søknadsprosessen"),
        ("pagebreak", ""), ("heading1", "Økonomi"), ("number", "øke løyvingene"), ("number", "måle effekten"),
    ])
    document = build_structure(load_document(path))

    items = _items(document)
    assert [(item.marker, document.block_text(item), item.page) for item in items] == [
        ("•", "etablere en helseanalyseplattform", 1), ("•", "forenkle søknadsprosessen", 1),
        ("1.", "øke løyvingene", 2), ("2.", "måle effekten", 2),
    ]
    assert "\n\n• etablere en helseanalyseplattform\n\n• forenkle søknadsprosessen\n\n" in document.text
    assert "\n\n1. øke løyvingene\n\n2. måle effekten" in document.text
    assert items[0].list_id == items[1].list_id != items[2].list_id == items[3].list_id
    headings = [(document.block_text(b), b.level) for b in document.blocks if b.kind == BlockKind.HEADING]
    assert headings == [("Strategi for helsedata", 1), ("Økonomi", 2)]
    assert document.page_at(document.text.index("måle effekten")) == 2
    _assert_spans_consistent(document)


def test_docx_symbol_font_bullets_typed_with_a_private_use_space_are_list_items(tmp_path):
    # Word documents converted from older templates type the bullet and a symbol font's space into the paragraph.
    path = write_docx(tmp_path / "handlingsplan.docx", [
        ("paragraph", "Kommunen skal:"), ("paragraph", "\uf0b7\uf020kartlegge behovet for tolketjenester"),
        ("paragraph", "•\uf020lage en plan for rekruttering"), ("paragraph", "Planen revideres årlig."),
    ])
    document = build_structure(load_document(path))

    items = _items(document)
    assert [(item.marker, document.block_text(item)) for item in items] == [
        ("•", "kartlegge behovet for tolketjenester"), ("•", "lage en plan for rekruttering")]
    assert items[0].list_id == items[1].list_id
    assert document.block_text(document.block_by_id(items[0].intro_block)) == "Kommunen skal:"
    assert "\uf020" not in document.text
    _assert_spans_consistent(document)
