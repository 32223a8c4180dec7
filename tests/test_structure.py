"""Structure detection on real documents: blocks, lists and their intros, pages and offsets."""

from pathlib import Path

import pytest
from builders import write_docx, write_html, write_pdf

from pipeline.reading.loaders import load_document
from pipeline.reading.structure import StructuredDocument, build_structure
from pipeline.schema import BlockKind

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


# --- typography of real PDFs, in generated files ---------------------------------------------------------------
# Each page is a list of (x, top, size, bold, text) runs, placed where a typesetter puts them: bullets drawn as
# glyphs of their own, hanging indents, first-line indents, two columns, footnotes, contents with leaders.

PAGE_HEIGHT = 842.0


def _typeset_pdf(path: Path, pages: list[list[tuple[float, float, float, bool, str]]]) -> Path:
    from builders import _register_fonts
    from reportlab.pdfgen import canvas

    regular, bold = _register_fonts()
    pdf = canvas.Canvas(str(path), pagesize=(595.0, PAGE_HEIGHT))
    for runs in pages:
        for x, top, size, heavy, text in runs:
            pdf.setFont(bold if heavy else regular, size)
            pdf.drawString(x, PAGE_HEIGHT - top - size, text)
        pdf.showPage()
    pdf.save()
    return path


def _column(x: float, top: float, lines: list[str], *, size: float = 10.0, step: float = 13.0, hang: float = 16.0
            ) -> list[tuple[float, float, float, bool, str]]:
    """Lines of one column from ``top`` down. "– text" / "1. text": an item whose marker is at ``x``; ">text": a
    wrapped line of an item (at the hanging indent); "¶text": a paragraph's indented first line; "" a gap."""
    runs = []
    for line in lines:
        if line:
            if line.startswith((">", "¶")):
                runs.append((x + hang, top, size, False, line[1:]))
            else:
                runs.append((x, top, size, False, line))
        top += step
    return runs


def _bullet_items(x_glyph: float, x_text: float, top: float, items: list[list[str]], small: bool = False) -> list:
    """Items whose bullet is a glyph drawn apart from the text, the text wrapping under itself: a larger "•" on the
    text's baseline (its top above the text's, so it is read first), or a small one set lower (read after it)."""
    runs = []
    for item in items:
        runs.append((x_glyph, top + 5, 8.0, False, "•") if small else (x_glyph, top - 7, 18.0, False, "•"))
        for line in item:
            runs.append((x_text, top, 11.0, False, line))
            top += 16
        top += 10
    return runs


def test_bullets_drawn_as_glyphs_are_list_items_with_their_intro(tmp_path):
    page_one = [
        (70, 70, 20.0, True, "FOLKEHELSE"),
        (70, 110, 11.0, False, "Helse er et viktig tema for unge i fylket."),
        (70, 135, 11.0, False, "Ungdomsrådet vil derfor:"),
        *_bullet_items(106, 125, 160, [
            ["Ansette flere helsesykepleiere i de videregående", "skolene."],
            ["Strebe etter åpne helsetilbud om kvelden."],
        ]),
        *_bullet_items(106, 125, 244, [["Styrke forebyggende arbeid mot rus og gjøre",
                                        "lavterskeltilbudene kjent for alle."]], small=True),
        (515, 780, 11.0, True, "4"),
    ]
    page_two = [
        *_bullet_items(106, 125, 70, [["Gi elevrådene opplæring i", "medvirkning hvert år."]]),
        (70, 140, 20.0, True, "KULTUR"),
        (70, 180, 11.0, False, "Kulturlivet trenger unge stemmer."),
        (515, 780, 11.0, True, "5"),
    ]
    document = build_structure(load_document(_typeset_pdf(tmp_path / "plan.pdf", [page_one, page_two])))

    items = _items(document)
    assert [(item.marker, document.block_text(item), item.page) for item in items] == [
        ("•", "Ansette flere helsesykepleiere i de videregående skolene.", 1),
        ("•", "Strebe etter åpne helsetilbud om kvelden.", 1),
        ("•", "Styrke forebyggende arbeid mot rus og gjøre lavterskeltilbudene kjent for alle.", 1),
        ("•", "Gi elevrådene opplæring i medvirkning hvert år.", 2),
    ]
    assert len({item.list_id for item in items}) == 1
    assert document.block_text(document.block_by_id(items[0].intro_block)) == "Ungdomsrådet vil derfor:"
    headings = [document.block_text(b) for b in document.blocks if b.kind == BlockKind.HEADING]
    assert headings == ["FOLKEHELSE", "KULTUR"]  # no "•" and no page number among them
    _assert_spans_consistent(document)


def test_a_lone_bullet_line_in_plain_text_opens_the_item_on_the_next_line(tmp_path):
    document = _structure(tmp_path / "plan.txt", "Kommunen skal:\n•\nkartlegge behovet for tolker\n•\n"
                                                  "lage en plan for rekruttering\n")
    assert [(item.marker, document.block_text(item)) for item in _items(document)] == [
        ("•", "kartlegge behovet for tolker"), ("•", "lage en plan for rekruttering")]
    _assert_spans_consistent(document)


TWO_COLUMN_LEFT = [
    "Andre forslag som berører personer og hus-", "holdninger:",
    "– Finnmarksfradraget økes med 50 pst., til", ">45 000 kroner.",
    "– Fagforeningsfradraget økes til 8 700 kroner,", ">med sikte på en videre opptrapping.",
    "– Det innføres en varig ordning for utsatt beta-", ">ling av formuesskatt. Ordningen ble varslet",
    ">i fjor og har vært på høring.",
    "Regjeringen foreslår at klimaavgiftene økes i", "tråd med opptrappingsplanen. Det gir",
    "forutsigbarhet for næringslivet.",
    "¶Flere hull i skattesystemet foreslås tettet,", "blant annet i eiendomssektoren.",
    "¶Andre forslag som berører næringslivet:",
    "– Minstesatsen for inntektsføring i jordbruks-", ">konto senkes.",
    "– Sektoravgiftene under Nasjonal kommunika-", ">sjonsmyndighet og",
]
TWO_COLUMN_RIGHT = [
    ">Norges vassdrags- og energidirektorat økes",
    ">for å finansiere satsinger i sektorene.",
    "– prisjustere avgiften på naturgass, se for-", ">slaget til vedtak bokstav", ">c. Dette er omtalt i punkt 4.2.",
    "¶Biltrafikken gir samfunnet kostnader i", "form av kø og støy.",
    "¶Tabell 1.1 viser virkningene av forslagene", "for 2026.",
    "¶Utviklingen kan svekke tilliten i samfunnet", "– både til staten og til hverandre. Det gjør", "oss mer sårbare.",
]


def test_hanging_indent_lists_end_where_the_indent_ends_in_two_columns(tmp_path):
    runs = _column(58, 80, TWO_COLUMN_LEFT) + _column(307, 80, TWO_COLUMN_RIGHT)
    # Enough rows on both sides of the gutter for the loader to read two columns.
    document = build_structure(load_document(_typeset_pdf(tmp_path / "prop.pdf", [runs])))
    items = [document.block_text(item) for item in _items(document)]
    paragraphs = [document.block_text(b) for b in document.blocks if b.kind == BlockKind.PARAGRAPH]

    assert items == [
        "Finnmarksfradraget økes med 50 pst., til 45 000 kroner.",
        "Fagforeningsfradraget økes til 8 700 kroner, med sikte på en videre opptrapping.",
        "Det innføres en varig ordning for utsatt betaling av formuesskatt. Ordningen ble varslet i fjor og har "
        "vært på høring.",
        "Minstesatsen for inntektsføring i jordbrukskonto senkes.",
        # continued in the next column at the items' indent, though the line opens with a capital
        "Sektoravgiftene under Nasjonal kommunikasjonsmyndighet og Norges vassdrags- og energidirektorat økes for "
        "å finansiere satsinger i sektorene.",
        # "c." after "bokstav" is the letter of a reference, not an item
        "prisjustere avgiften på naturgass, se forslaget til vedtak bokstav c. Dette er omtalt i punkt 4.2.",
    ]
    # The prose after an item is a paragraph of its own, without a blank line before it.
    assert "Regjeringen foreslår at klimaavgiftene økes i tråd med opptrappingsplanen. Det gir forutsigbarhet for " \
           "næringslivet." in paragraphs
    # A first-line indent starts a paragraph; the indented first line after an item opens the paragraph after it.
    assert "Flere hull i skattesystemet foreslås tettet, blant annet i eiendomssektoren." in paragraphs
    assert "Andre forslag som berører næringslivet:" in paragraphs
    assert "Biltrafikken gir samfunnet kostnader i form av kø og støy." in paragraphs
    assert "Tabell 1.1 viser virkningene av forslagene for 2026." in paragraphs
    # A dash the sentence wrapped to the start of a line is no item.
    assert "Utviklingen kan svekke tilliten i samfunnet – både til staten og til hverandre. Det gjør oss mer " \
           "sårbare." in paragraphs
    lists = [item.list_id for item in _items(document)]
    assert lists[0] == lists[1] == lists[2] != lists[3] == lists[4] == lists[5]
    intro = document.block_by_id(_items(document)[3].intro_block)
    assert document.block_text(intro) == "Andre forslag som berører næringslivet:"
    _assert_spans_consistent(document)


def test_numbered_list_and_paragraph_over_a_page_break_past_a_footnote(tmp_path):
    page_one = [
        (70, 70, 16.0, True, "2 Forslag"),
        *_column(70, 100, [
            "Departementet foreslår følgende endringer:",
            "1. Satsen i sone I økes med ett prosentpoeng", ">fra neste år.",
            "2. Fradraget for reiser til og fra arbeid", ">trappes ned over tre år.",
            "",
            "Endringene gir om lag 400 millioner kroner i økte inntekter1 og styrker",
            "grunnlaget for den regionale ordningen, som etter",
        ], size=11.0, step=15.0),
        (70, 760, 8.0, False, "1 Anslaget er usikkert og bygger på tall for 2024."),
        (70, 772, 8.0, False, "2 Se også kapittel 5."),
    ]
    page_two = _column(70, 70, [
        "dagens regler gjelder ut 2027.",
        "",
        "Departementet viser videre til disse punktene:",
        "3. Ordningen evalueres innen utgangen av 2028.",
    ], size=11.0, step=15.0)
    page_two_list = _column(70, 200, [
        "1. Først kartlegges behovet.", "2. Deretter sendes forslaget på høring.",
    ], size=11.0, step=15.0)
    document = build_structure(load_document(_typeset_pdf(tmp_path / "prop.pdf", [page_one, page_two + page_two_list])))

    blocks = _by_text(document)
    running = blocks["Endringene gir om lag 400 millioner kroner i økte inntekter1 og styrker grunnlaget for den "
                     "regionale ordningen, som etter dagens regler gjelder ut 2027."]
    assert (running.kind, running.page, running.page_end) == (BlockKind.PARAGRAPH, 1, 2)
    assert document.page_at(running.start) == 1 and document.page_at(running.end - 1) == 2
    assert document.page_at(document.text.index("dagens regler gjelder")) == 2
    footnotes = [blocks["1 Anslaget er usikkert og bygger på tall for 2024."], blocks["2 Se også kapittel 5."]]
    assert [(b.kind, b.page) for b in footnotes] == [(BlockKind.PARAGRAPH, 1)] * 2
    assert all(block.start > running.end for block in footnotes)  # they follow the paragraph they interrupt

    items = _items(document)
    assert [(item.marker, item.page) for item in items] == [("1.", 1), ("2.", 1), ("3.", 2), ("1.", 2), ("2.", 2)]
    assert items[0].list_id == items[1].list_id != items[2].list_id
    assert items[2].list_id != items[3].list_id == items[4].list_id  # "1." restarts a list
    _assert_spans_consistent(document)


def test_numbered_list_continues_over_a_page_with_footnotes(tmp_path):
    page_one = [*_column(70, 600, ["Regjeringen vil:", "1. styrke tilsynet med", ">skatterådgivere", "",
                                   "2. utrede en ny ordning for", ">innrapportering"], size=11.0, step=15.0),
                (70, 770, 8.0, False, "1 Se Prop. 1 S for tallene.")]
    page_two = _column(70, 70, ["3. forenkle skattemeldingen for", ">små foretak", "",
                                "Dette følges opp i budsjettet."], size=11.0, step=15.0)
    document = build_structure(load_document(_typeset_pdf(tmp_path / "plan.pdf", [page_one, page_two])))

    items = _items(document)
    assert [(item.marker, document.block_text(item), item.page) for item in items] == [
        ("1.", "styrke tilsynet med skatterådgivere", 1), ("2.", "utrede en ny ordning for innrapportering", 1),
        ("3.", "forenkle skattemeldingen for små foretak", 2)]
    assert len({item.list_id for item in items}) == 1
    assert document.block_text(document.block_by_id(items[2].intro_block)) == "Regjeringen vil:"
    note = _by_text(document)["1 Se Prop. 1 S for tallene."]
    assert note.kind == BlockKind.PARAGRAPH


def test_headings_by_size_and_weight_and_what_is_never_a_heading(tmp_path):
    page = [
        (70, 60, 18.0, True, "3 Klima og miljø"),
        (70, 95, 14.0, True, "3.1 Utslipp fra veitrafikk"),
        *_column(70, 125, ["Utslippene fra veitrafikken har gått ned siden 2015, men", "må ned mer."],
                 size=11.0, step=15.0),
        (70, 165, 11.0, True, "Tiltak for tungtransport"),
        *_column(70, 185, ["Regjeringen vil bruke avgifter og støtte sammen.", "Målet er nullutslipp."],
                 size=11.0, step=15.0),
        (70, 230, 11.0, True, "Regjeringen vil:"),
        (70, 250, 16.0, False, "•"),
        (300, 400, 24.0, True, "2026"),
        (515, 780, 11.0, True, "17"),
    ]
    document = build_structure(load_document(_typeset_pdf(tmp_path / "kapittel.pdf", [page])))
    headings = [(document.block_text(b), b.level) for b in document.blocks if b.kind == BlockKind.HEADING]

    assert headings == [("3 Klima og miljø", 1), ("3.1 Utslipp fra veitrafikk", 2), ("Tiltak for tungtransport", 3)]
    kinds = {document.block_text(b): b.kind for b in document.blocks}
    # a bold line ending in a colon introduces a list; a lone glyph, a year and a page number are not headings
    assert kinds["Regjeringen vil:"] == BlockKind.PARAGRAPH
    assert all(kinds.get(text, BlockKind.PARAGRAPH) == BlockKind.PARAGRAPH for text in ("•", "2026", "17"))


def test_tables_of_contents_are_tables_not_lists_or_headings(tmp_path):
    page = [
        (250, 60, 17.0, True, "Innhold"),
        *_column(58, 100, [
            "1 Hovedtrekk i politikken . . . . . . . . . . . . . . . . . . . . . . 17",
            "1.1 Mål for politikken . . . . . . . . . . . . . . . . . . . . . . . . 17",
            "1.2 Hovedtrekk i opplegget for 2026 . . . . . . . . . . . . . . . . 19",
            "2. Tiltak mot skatteunndragelse ....................................... 23",
            "3. Oppdatert modell for verdsetting av bolig –",
            ">oppfølging av anmodningsvedtak . . . . . . . . . . . . . . 104",
            "4. Gjeldende fra 1. juli 2026 ……… 112",
        ], size=10.6, step=16.0, hang=37.0),
        (70, 260, 14.0, True, "Innledning"),
        *_column(70, 290, ["Meldingen handler om skattepolitikken.", "", "Regjeringen vil:",
                           "1. styrke tilsynet", "2. forenkle reglene"], size=10.6, step=14.0),
    ]
    document = build_structure(load_document(_typeset_pdf(tmp_path / "innhold.pdf", [page])))
    tables = [document.block_text(b) for b in document.blocks if b.kind == BlockKind.TABLE]

    assert [text.split(" . ")[0].split("...")[0].split(" …")[0].strip() for text in tables] == [
        "1 Hovedtrekk i politikken", "1.1 Mål for politikken", "1.2 Hovedtrekk i opplegget for 2026",
        "2. Tiltak mot skatteunndragelse", "3. Oppdatert modell for verdsetting av bolig – oppfølging av "
        "anmodningsvedtak", "4. Gjeldende fra 1. juli 2026"]
    assert [document.block_text(item) for item in _items(document)] == ["styrke tilsynet", "forenkle reglene"]
    headings = [document.block_text(b) for b in document.blocks if b.kind == BlockKind.HEADING]
    assert headings == ["Innhold", "Innledning"]


def test_contents_lines_with_page_references_are_tables(tmp_path):
    page = [(230, 280, 28.0, True, "INNHOLD"),
            *_column(140, 360, ["Innledning s. 3", "Medvirkning s. 4", "Samferdsel s. 6", "Kultur s. 10"],
                     size=14.0, step=26.6)]
    document = build_structure(load_document(_typeset_pdf(tmp_path / "plan.pdf", [page])))
    assert [(document.block_text(b), b.kind) for b in document.blocks] == [
        ("INNHOLD", BlockKind.HEADING), ("Innledning s. 3", BlockKind.TABLE), ("Medvirkning s. 4", BlockKind.TABLE),
        ("Samferdsel s. 6", BlockKind.TABLE), ("Kultur s. 10", BlockKind.TABLE)]


def test_a_date_or_a_reference_wrapped_to_the_start_of_a_line_is_not_an_item(tmp_path):
    document = _structure(tmp_path / "prop.txt", """Departementet foreslår at endringene trer i kraft fra
1. januar 2027. Forslaget er omtalt i skatteloven § 6-
19. Se også bokstav
c. i samme ledd.

Regjeringen vil:
1. styrke tilsynet
2. forenkle reglene
""")
    paragraphs = [document.block_text(b) for b in document.blocks if b.kind == BlockKind.PARAGRAPH]
    assert paragraphs[0] == ("Departementet foreslår at endringene trer i kraft fra 1. januar 2027. Forslaget er "
                             "omtalt i skatteloven § 6-19. Se også bokstav c. i samme ledd.")
    assert [(item.marker, document.block_text(item)) for item in _items(document)] == [
        ("1.", "styrke tilsynet"), ("2.", "forenkle reglene")]


def test_a_contents_entry_naming_measures_heads_no_column_of_measures(tmp_path):
    from extractors.measures import extract_table_measures, load_list_intro_rules

    document = _structure(tmp_path / "innhold.txt", "Innhold\n\n"
                          "1 Tiltak for bedre beredskap ........................ 5\n"
                          "2 Organisering av arbeidet .......................... 9\n"
                          "3 Økonomiske konsekvenser ........................... 14\n\n"
                          "1 Tiltak for bedre beredskap\n\nRegjeringen vil styrke beredskapen.\n")
    rules = load_list_intro_rules(Path(__file__).resolve().parents[1] / "extractors" / "data" / "list_intros.yaml")

    assert [b.kind for b in document.blocks][:4] == [BlockKind.HEADING, *[BlockKind.TABLE] * 3]
    assert extract_table_measures(document, rules) == []


def test_a_covers_type_sizes_do_not_push_the_chapters_down(tmp_path):
    cover = [(70, 200, 36.0, True, "Handlingsplan"), (70, 260, 24.0, False, "Fylkesrådet"),
             (70, 300, 20.0, False, "Gjelder fra 2026")]
    body = []
    topics = ["Helse", "Skole", "Samferdsel"]
    for chapter in range(1, 4):
        body.append([(70, 130, 16.0, True, f"{chapter} {topics[chapter - 1]}"),
                     (70, 170, 11.0, False, "Her står litt tekst om temaet."),
                     (70, 200, 13.0, True, f"{chapter}.1 Et delkapittel"),
                     (70, 230, 11.0, False, "Her står mer tekst om temaet."),
                     (70, 260, 13.0, True, f"{chapter}.2 Et annet delkapittel"),
                     (70, 290, 11.0, False, "Og her står enda mer tekst.")])
    document = build_structure(load_document(_typeset_pdf(tmp_path / "plan.pdf", [cover, *body])))
    levels = {document.block_text(b): b.level for b in document.blocks if b.kind == BlockKind.HEADING}

    assert levels["Handlingsplan"] == levels["Fylkesrådet"] == 1
    assert [levels[f"{n} {topic}"] for n, topic in enumerate(topics, start=1)] == [1, 1, 1]
    assert [levels[f"{n}.1 Et delkapittel"] for n in range(1, 4)] == [2, 2, 2]
