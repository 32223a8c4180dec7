"""Loaders on real files: the format comes from the bytes, and each loader keeps what its format knows."""

import io
import random
import zipfile
from pathlib import Path

import pytest
from builders import write_docx, write_html, write_pdf, write_two_column_pdf
from fault_inputs import write_html_with_wrong_charset, write_mixed_encoding_text

from pipeline.errors import UnsupportedFormatError
from pipeline.reading.loaders import SUPPORTED_SUFFIXES, load_document, sniff_format
from pipeline.reading.source import LineKind, SourceFormat

PDF_PAGES = [
    ["# Økonomiske konsekvenser", "Tiltakene i meldingen dekkes innenfor gjeldende rammer.",
     "Små og mellomstore bedrifter får særlig oppmerksomhet."],
    ["Nærings- og fiskeridepartementet følger opp arbeidet.", "", "Første tiltak gjelder sjømatnæringen."],
    ["Tiltakene evalueres i 2028 av Forskningsrådet."],
]
HEADER = "Meld. St. 7 (2025–2026) Et bærekraftig næringsliv"


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pdf")
    return write_pdf(folder / "melding.pdf", PDF_PAGES, header=HEADER, title="Et bærekraftig næringsliv – Meld. St. 7")


def _refusal(path: Path) -> str:
    with pytest.raises(UnsupportedFormatError) as caught:
        load_document(path)
    error = caught.value
    assert error.path == path
    assert error.stage == "load"
    message = str(error)
    assert message.startswith(f"{path}: load: ")
    assert "\n" not in message
    return message


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- sniffing: the content decides, not the extension -------------------------------------------------------


def test_pdf_saved_as_txt_is_read_as_pdf_with_a_warning(pdf_path, tmp_path):
    renamed = tmp_path / "melding.txt"
    renamed.write_bytes(pdf_path.read_bytes())

    document = load_document(renamed)

    assert document.format == SourceFormat.PDF
    assert document.page_count == 3
    assert "Nærings- og fiskeridepartementet følger opp arbeidet." in [line.text for line in document.lines]
    assert ".txt" in document.warnings[0] and "pdf" in document.warnings[0]


def test_matching_extension_gives_no_extension_warning(pdf_path):
    document = load_document(pdf_path)
    assert not any("file name ends in" in warning for warning in document.warnings)


def test_html_saved_as_txt_is_read_as_html(tmp_path):
    page = tmp_path / "pressemelding.txt"
    page.write_text("<!DOCTYPE html>\n<html lang=\"nb\"><body><main><h1>Løft for sjømatnæringen</h1>"
                    "<p>Regjeringen styrker næringen i Nord-Norge.</p></main></body></html>", encoding="utf-8")

    document = load_document(page)

    assert document.format == SourceFormat.HTML
    assert [(line.kind, line.text) for line in document.lines] == [
        (LineKind.HEADING, "Løft for sjømatnæringen"),
        (LineKind.PARAGRAPH, "Regjeringen styrker næringen i Nord-Norge."),
    ]
    assert any(".txt" in warning and "html" in warning for warning in document.warnings)


def test_text_that_mentions_markup_later_stays_text(tmp_path):
    note = tmp_path / "notat.txt"
    note.write_text("Notat om nettsidene\n\nSidene bruker <main> og <article> for hovedinnholdet.\n", encoding="utf-8")
    assert sniff_format(note.read_bytes(), note) == SourceFormat.TEXT
    assert load_document(note).format == SourceFormat.TEXT


def test_docx_named_pdf_is_read_as_docx(tmp_path):
    source = write_docx(tmp_path / "strategi.docx", [("paragraph", "Strategien gjelder for hele Sør-Norge.")])
    renamed = tmp_path / "strategi.pdf"
    renamed.write_bytes(source.read_bytes())

    document = load_document(renamed)

    assert document.format == SourceFormat.DOCX
    assert [line.text for line in document.lines] == ["Strategien gjelder for hele Sør-Norge."]
    assert ".pdf" in document.warnings[0]


def test_spreadsheet_zip_is_refused_mentioning_docx(tmp_path):
    sheet = tmp_path / "budsjett.docx"
    sheet.write_bytes(_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                            "xl/worksheets/sheet1.xml": "<worksheet>Beløp i kroner</worksheet>".encode()}))

    message = _refusal(sheet)

    assert "spreadsheet" in message and ".xlsx" in message
    assert "docx" in message


def test_zip_without_word_content_is_refused(tmp_path):
    archive = tmp_path / "vedlegg.docx"
    archive.write_bytes(_zip({"bilder/kart-over-nord-norge.png": b"\x89PNG\r\n"}))
    message = _refusal(archive)
    assert "not a Word document" in message


def test_truncated_zip_is_refused_as_damaged(tmp_path):
    source = write_docx(tmp_path / "full.docx", [("paragraph", "Høringsfristen er 1. mars.")])
    damaged = tmp_path / "avkortet.docx"
    damaged.write_bytes(source.read_bytes()[:200])
    assert "damaged zip" in _refusal(damaged)


def test_empty_file_is_refused(tmp_path):
    empty = tmp_path / "tom.txt"
    empty.write_bytes(b"")
    assert "empty" in _refusal(empty)


def test_random_bytes_named_pdf_are_refused_naming_the_file(tmp_path):
    noise = tmp_path / "ødelagt.pdf"
    noise.write_bytes(random.Random(2025).randbytes(4096))
    message = _refusal(noise)
    assert "ødelagt.pdf" in message
    assert "binary" in message


def test_truncated_pdf_is_refused_as_damaged(pdf_path, tmp_path):
    data = pdf_path.read_bytes()
    truncated = tmp_path / "halv.pdf"
    truncated.write_bytes(data[: len(data) // 2])
    assert "damaged or truncated PDF" in _refusal(truncated)


def test_password_protected_pdf_is_refused_cleanly(tmp_path):
    locked = write_pdf(tmp_path / "unntatt.pdf", [["Unntatt offentlighet: økonomiske detaljer."]], encrypt="hemmelig")
    _refusal(locked)  # an UnsupportedFormatError naming the file, not a crash


def test_password_protected_pdf_says_so(tmp_path):
    locked = write_pdf(tmp_path / "unntatt.pdf", [["Unntatt offentlighet: økonomiske detaljer."]], encrypt="hemmelig")
    assert "password-protected" in _refusal(locked)


def test_old_binary_word_file_is_refused(tmp_path):
    old = tmp_path / "høringsnotat.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Høringsnotat".encode("utf-16-le"))
    message = _refusal(old)
    assert "old binary Office file" in message
    assert ".docx" in message


def test_unreadable_path_is_refused(tmp_path):
    assert "cannot read" in _refusal(tmp_path / "finnes-ikke.pdf")


def test_supported_suffixes_cover_every_format():
    assert set(SUPPORTED_SUFFIXES.values()) == set(SourceFormat)


# --- plain text ----------------------------------------------------------------------------------------------


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "melding.txt"
    path.write_bytes("\ufeffNærings- og fiskeridepartementet\nÅpen og trygg økonomi".encode())

    document = load_document(path)

    assert document.encoding == "utf-8-sig"
    assert [line.text for line in document.lines] == ["Nærings- og fiskeridepartementet", "Åpen og trygg økonomi"]
    assert document.warnings == []


def test_cp1252_is_decoded_with_a_warning(tmp_path):
    path = tmp_path / "gammel.txt"
    path.write_bytes("Nærings- og fiskeridepartementet\n– styrke sjømatnæringen i Sør-Norge".encode("cp1252"))

    document = load_document(path)

    assert document.encoding == "cp1252"
    assert [line.text for line in document.lines] == ["Nærings- og fiskeridepartementet",
                                                      "– styrke sjømatnæringen i Sør-Norge"]
    assert len(document.warnings) == 1 and "cp1252" in document.warnings[0]


def test_utf16_with_bom_and_windows_line_ends(tmp_path):
    path = tmp_path / "eksport.txt"
    path.write_bytes("Nærings- og fiskeridepartementet\r\nÅ øke eksporten er målet.\r\n".encode("utf-16"))

    document = load_document(path)

    assert document.format == SourceFormat.TEXT
    assert document.encoding == "utf-16"
    assert [line.text for line in document.lines] == ["Nærings- og fiskeridepartementet", "Å øke eksporten er målet."]


def test_utf8_with_a_line_pasted_from_cp1252_keeps_every_letter(tmp_path):
    """Not read as a whole in cp1252 (which turned every UTF-8 'æøå' of the file into 'Ã¦Ã¸Ã¥')."""
    document = load_document(write_mixed_encoding_text(tmp_path / "blandet.txt"))

    texts = [line.text for line in document.lines]
    assert document.encoding == "utf-8"
    assert "Tiltak for sjømat og næringsliv i Sør-Norge" in texts
    assert texts[-2:] == ["Tiltaket gjelder også små bedrifter på Sørlandet.", "Økt eksport er målet."]
    assert not any("Ã" in text for text in texts)
    assert len(document.warnings) == 1
    assert document.warnings[0].startswith("mixed encodings: the text is UTF-8 but 4 bytes on 1 line (line 8) are "
                                           "not; read those bytes as cp1252")


def test_utf8_with_stray_bytes_on_many_lines_counts_them(tmp_path):
    path = tmp_path / "mange.txt"
    path.write_bytes("Første linje med æ\n".encode() + "å\n".encode("cp1252") * 3 + "Siste linje: ø\n".encode())

    document = load_document(path)

    assert [line.text for line in document.lines] == ["Første linje med æ", "å", "å", "å", "Siste linje: ø"]
    assert "3 bytes on 3 lines (the first: line 2)" in document.warnings[0]


def test_utf8_with_bom_and_a_stray_cp1252_byte(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "Sjømat\n".encode() + "Kyst og sjø\n".encode("cp1252"))

    document = load_document(path)

    assert document.encoding == "utf-8-sig"
    assert [line.text for line in document.lines] == ["Sjømat", "Kyst og sjø"]
    assert "1 bytes on 1 line (line 2)" in document.warnings[0]


@pytest.mark.parametrize("declared", ["iso-8859-1", "windows-1252", "utf-16", "utf-16le", "ascii"])
def test_html_whose_bytes_are_utf8_is_read_as_utf8_whatever_it_declares(tmp_path, declared):
    page = write_html_with_wrong_charset(tmp_path / "side.html", declared=declared, body_encoding="utf-8")

    document = load_document(page)

    assert document.encoding == "utf-8"
    assert [line.text for line in document.lines][:1] == ["Løft for sjømatnæringen"]
    assert "Regjeringen vil styrke næringen i Nord-Norge og Sør-Norge" in document.lines[1].text
    assert len(document.warnings) == 1
    assert f"declared charset {declared!r} contradicts the bytes" in document.warnings[0]
    assert "UTF-8" in document.warnings[0]


@pytest.mark.parametrize("declared", ["windows-1251", "koi8-r"])
def test_html_whose_declared_code_page_garbles_the_letters_is_detected(tmp_path, declared):
    page = write_html_with_wrong_charset(tmp_path / "side.html", declared=declared, body_encoding="cp1252")

    document = load_document(page)

    assert document.encoding == "cp1252"
    assert document.lines[0].text == "Løft for sjømatnæringen"
    assert f"declared charset {declared!r} contradicts the bytes" in document.warnings[0]
    assert "cp1252" in document.warnings[0]


def test_html_declared_latin1_reads_windows_dashes_as_browsers_do(tmp_path):
    page = write_html_with_wrong_charset(tmp_path / "side.html", declared="iso-8859-1", body_encoding="cp1252")
    page.write_bytes(page.read_bytes().replace(b"Nord-Norge og", b"Nord-Norge \x96 og"))  # cp1252's en dash

    document = load_document(page)

    assert document.encoding == "iso-8859-1"
    assert "Nord-Norge – og Sør-Norge" in document.lines[1].text
    assert document.warnings == []


def test_html_declaring_utf8_with_cp1252_bytes_says_so(tmp_path):
    page = write_html_with_wrong_charset(tmp_path / "side.html", declared="utf-8", body_encoding="cp1252")

    document = load_document(page)

    assert document.lines[0].text == "Løft for sjømatnæringen"
    assert "declared charset 'utf-8' does not fit the bytes; read as cp1252" in document.warnings[0]


def test_form_feeds_give_pages(tmp_path):
    path = tmp_path / "pdftotext.txt"
    path.write_text("Første side om havbruk\nfortsatt første side\fAndre side: økonomi\n\fTredje side: ærlig talt",
                    encoding="utf-8")

    document = load_document(path)

    assert document.page_count == 3
    assert [page.number for page in document.pages] == [1, 2, 3]
    assert [(line.text, line.page) for line in document.lines] == [
        ("Første side om havbruk", 1), ("fortsatt første side", 1), ("Andre side: økonomi", 2),
        ("Tredje side: ærlig talt", 3),
    ]
    assert [line.blank_before for line in document.lines] == [True, False, True, True]


def test_text_without_form_feeds_has_no_pages(tmp_path):
    path = tmp_path / "notat.txt"
    path.write_text("Én side med tekst om næringsutvikling.\n", encoding="utf-8")
    document = load_document(path)
    assert document.page_count is None
    assert document.lines[0].page is None


def test_trailing_form_feed_does_not_add_a_page(tmp_path):
    path = tmp_path / "pdftotext.txt"
    path.write_text("Første side om havbruk\fAndre side om økonomi\f", encoding="utf-8")
    assert load_document(path).page_count == 2


def test_markdown_headings_have_levels(tmp_path):
    path = tmp_path / "strategi.md"
    path.write_text("# Strategi for grønn næring\n\nRegjeringen vil satse på Nord-Norge.\n\n## Tiltak ##\n",
                    encoding="utf-8")

    document = load_document(path)

    assert [(line.kind, line.level, line.text) for line in document.lines] == [
        (LineKind.HEADING, 1, "Strategi for grønn næring"),
        (None, None, "Regjeringen vil satse på Nord-Norge."),
        (LineKind.HEADING, 2, "Tiltak"),
    ]


def test_hash_lines_in_plain_txt_are_not_markdown(tmp_path):
    path = tmp_path / "strategi.txt"
    path.write_text("# Strategi for grønn næring\n", encoding="utf-8")
    line = load_document(path).lines[0]
    assert (line.kind, line.text) == (None, "# Strategi for grønn næring")


# --- PDF -----------------------------------------------------------------------------------------------------


def test_pdf_pages_lines_and_layout(pdf_path):
    document = load_document(pdf_path)

    assert document.format == SourceFormat.PDF
    assert document.page_count == 3
    assert all(round(page.width) == 595 and round(page.height) == 842 for page in document.pages)
    assert document.title == "Et bærekraftig næringsliv – Meld. St. 7"
    assert document.encoding is None
    assert len(document.sha256) == 64 and document.size_bytes == pdf_path.stat().st_size
    assert [(line.page, line.text) for line in document.lines] == [
        (1, HEADER), (1, "Økonomiske konsekvenser"), (1, "Tiltakene i meldingen dekkes innenfor gjeldende rammer."),
        (1, "Små og mellomstore bedrifter får særlig oppmerksomhet."), (1, "1"),
        (2, HEADER), (2, "Nærings- og fiskeridepartementet følger opp arbeidet."),
        (2, "Første tiltak gjelder sjømatnæringen."), (2, "2"),
        (3, HEADER), (3, "Tiltakene evalueres i 2028 av Forskningsrådet."), (3, "3"),
    ]
    assert all(line.layout is not None and line.kind is None for line in document.lines)


def test_pdf_layout_tells_heading_from_body(pdf_path):
    lines = {line.text: line for line in load_document(pdf_path).lines}
    heading = lines["Økonomiske konsekvenser"].layout
    body = lines["Tiltakene i meldingen dekkes innenfor gjeldende rammer."].layout
    footer = lines["1"].layout
    assert heading.bold and heading.font_size == 15
    assert not body.bold and body.font_size == 11
    assert heading.top < body.top < footer.top
    assert footer.bottom > 800 and lines[HEADER].layout.top < 50
    assert body.x0 == pytest.approx(72, abs=1)


TWO_COLUMNS_LEFT = [
    "Regjeringen vil gjøre det enklere og raskere å",
    "bruke helsedata til forskning og innovasjon.",
    "",
    "For å få til dette vil regjeringen:",
    "• etablere en felles søknadsportal for alle",
    "  helseregistre og biobanker",
    "• utrede en ny lov om helseregistre og",
    "  behandlingen av helseopplysninger",
]
TWO_COLUMNS_RIGHT = ["Helsedata er en viktig ressurs for forskning", "og innovasjon i helsenæringen. Mange registre",
                     "er i dag vanskelige å bruke, og det tar lang", "tid å få svar på en søknad om tilgang.", "",
                     "Målet er at søknader om tilgang til data skal", "behandles innen 60 dager i hele landet."]


def test_two_text_columns_are_read_one_after_the_other(tmp_path):
    path = write_two_column_pdf(tmp_path / "strategi.pdf", "Strategi for helsedata", TWO_COLUMNS_LEFT,
                                TWO_COLUMNS_RIGHT)
    lines = [line.text for line in load_document(path).lines]
    columns = [line.strip() for line in TWO_COLUMNS_LEFT + TWO_COLUMNS_RIGHT if line]
    assert lines == ["Strategi for helsedata", *columns, "1"]


def test_a_table_with_a_narrow_column_stays_one_line_per_row(tmp_path):
    measures = ["Etablere en nasjonal testarena", "Utrede en ordning for risikokapital",
                "Styrke kliniske studier i kommunene", "Legge fram en plan for helsedata",
                "Videreutvikle eksportsatsingen"]
    actors = ["HOD", "NFD", "HOD", "HOD", "NFD"]
    path = write_two_column_pdf(tmp_path / "tabell.pdf", "Tiltak", measures, actors)
    lines = [line.text for line in load_document(path).lines]
    assert lines == ["Tiltak", *(f"{m} {a}" for m, a in zip(measures, actors, strict=True)), "1"]


def test_pypdfium2_backend_reads_the_same_lines_and_pages_without_layout(pdf_path):
    plumber = load_document(pdf_path)
    document = load_document(pdf_path, pdf_backend="pypdfium2")
    assert document.format == SourceFormat.PDF and document.page_count == 3
    assert document.title == plumber.title and document.sha256 == plumber.sha256
    assert [(line.page, line.text) for line in document.lines] == [(line.page, line.text) for line in plumber.lines]
    assert all(line.layout is None for line in document.lines)


def test_pypdfium2_backend_refuses_bad_pdfs_naming_the_file(pdf_path, tmp_path):
    truncated = tmp_path / "halv.pdf"
    truncated.write_bytes(pdf_path.read_bytes()[:400])
    locked = write_pdf(tmp_path / "unntatt.pdf", [["Unntatt offentlighet: økonomiske detaljer."]], encrypt="hemmelig")
    for path, reason in ((truncated, "damaged or truncated PDF"), (locked, "password-protected")):
        with pytest.raises(UnsupportedFormatError) as caught:
            load_document(path, pdf_backend="pypdfium2")
        assert str(caught.value).startswith(f"{path}: load: ") and reason in str(caught.value)


def test_pdf_without_text_warns(tmp_path):
    blank = write_pdf(tmp_path / "skannet.pdf", [[], []], footer_page_numbers=False)
    document = load_document(blank)
    assert document.lines == []
    assert document.page_count == 2
    assert document.warnings and document.warnings[0].startswith("no_text_layer")


# --- HTML ----------------------------------------------------------------------------------------------------

ARTICLE = """<h1>Ny plan for helsenæringen</h1>
<p class="ingress">Regjeringen legger fram en plan for økt eksport.</p>
<h2>Tiltak</h2>
<p>Regjeringen vil:</p>
<ul>
  <li>opprette et råd for helseinnovasjon
    <ul><li>med representanter fra næringen</li><li>og fra sykehusene</li></ul>
  </li>
  <li><p>styrke eksportsatsingen</p></li>
</ul>
<h3>Økonomi</h3>
<ol><li>øke løyvingene til Forskningsrådet</li><li>forenkle søknadene</li></ol>
<ol start="3"><li>evaluere ordningen</li></ol>
<table><tr><th>År</th><th>Beløp</th></tr><tr><td>2026</td><td>12 mill. kr</td></tr></table>
<p>Les mer&nbsp;på nettstedet.</p>"""


@pytest.fixture(scope="module")
def html_document(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    return load_document(write_html(folder / "nyhet.html", ARTICLE, title="Ny plan - regjeringen.no"))


def test_html_article_lines(html_document):
    assert html_document.format == SourceFormat.HTML
    assert html_document.encoding == "utf-8"
    assert [(line.kind, line.level, line.marker, line.text) for line in html_document.lines] == [
        (LineKind.HEADING, 1, None, "Ny plan for helsenæringen"),
        (LineKind.PARAGRAPH, None, None, "Regjeringen legger fram en plan for økt eksport."),
        (LineKind.HEADING, 2, None, "Tiltak"),
        (LineKind.PARAGRAPH, None, None, "Regjeringen vil:"),
        (LineKind.LIST_ITEM, 1, "•", "opprette et råd for helseinnovasjon"),
        (LineKind.LIST_ITEM, 2, "•", "med representanter fra næringen"),
        (LineKind.LIST_ITEM, 2, "•", "og fra sykehusene"),
        (LineKind.LIST_ITEM, 1, "•", "styrke eksportsatsingen"),
        (LineKind.HEADING, 3, None, "Økonomi"),
        (LineKind.LIST_ITEM, 1, "1.", "øke løyvingene til Forskningsrådet"),
        (LineKind.LIST_ITEM, 1, "2.", "forenkle søknadene"),
        (LineKind.LIST_ITEM, 1, "3.", "evaluere ordningen"),
        (LineKind.TABLE_ROW, None, None, "År | Beløp"),
        (LineKind.TABLE_ROW, None, None, "2026 | 12 mill. kr"),
        (LineKind.PARAGRAPH, None, None, "Les mer på nettstedet."),
    ]
    assert all(line.page is None for line in html_document.lines)
    assert html_document.page_count is None


def test_html_chrome_is_dropped(html_document):
    text = "\n".join(line.text for line in html_document.lines)
    for chrome in ("Forsiden", "Tema", "informasjonskapsler", "Godta", "Relatert", "Annen nyhet",
                   "Regjeringen.no er", "analytics", "font-family"):
        assert chrome not in text


def test_html_list_keys_group_items_of_one_list(html_document):
    keys = {line.text: line.list_key for line in html_document.lines if line.kind == LineKind.LIST_ITEM}
    assert keys["opprette et råd for helseinnovasjon"] == keys["styrke eksportsatsingen"]
    assert keys["med representanter fra næringen"] == keys["og fra sykehusene"]
    assert keys["med representanter fra næringen"] != keys["styrke eksportsatsingen"]
    assert keys["øke løyvingene til Forskningsrådet"] == keys["forenkle søknadene"] != keys["evaluere ordningen"]
    assert len(set(keys.values())) == 4


def test_html_title_from_h1(html_document):
    assert html_document.title == "Ny plan for helsenæringen"


def test_html_title_from_title_element_without_site_name(tmp_path):
    page = write_html(tmp_path / "side.html", "<p>Regjeringen styrker havbruksforskningen.</p>",
                      title="Mer til havbruksforskning - regjeringen.no")
    assert load_document(page).title == "Mer til havbruksforskning"


def test_html_page_without_main_drops_marked_chrome(tmp_path):
    page = tmp_path / "gammel-side.html"
    page.write_text("""<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8"><title>Havbruk</title></head><body>
<nav><a href="/tema">Tema og politikk</a></nav>
<div id="cookie-consent">Vi bruker informasjonskapsler.</div>
<div role="banner">Logo for departementet</div>
<div class="innhold"><h1>Ny havbruksstrategi</h1><p>Regjeringen vil satse på havbruk i Nord-Norge.</p>
<aside><h2>Relatert</h2><p>Eldre nyheter</p></aside>
<div class="share-buttons">Del på Facebook</div></div>
<div role="contentinfo">Postadresse: Postboks 8090 Dep</div>
<script>document.write("Skriptet kjørte");</script>
</body></html>""", encoding="utf-8")

    document = load_document(page)

    assert [line.text for line in document.lines] == ["Ny havbruksstrategi",
                                                      "Regjeringen vil satse på havbruk i Nord-Norge."]


def test_html_page_level_header_and_footer_are_dropped(tmp_path):
    page = tmp_path / "gammel-side.html"
    page.write_text("""<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8"><title>Havbruk</title></head><body>
<header><a href="/">Regjeringen.no</a></header>
<div class="innhold"><h1>Ny havbruksstrategi</h1><p>Regjeringen vil satse på havbruk i Nord-Norge.</p></div>
<footer><p>Kontakt departementet</p></footer>
</body></html>""", encoding="utf-8")

    document = load_document(page)

    assert [line.text for line in document.lines] == ["Ny havbruksstrategi",
                                                      "Regjeringen vil satse på havbruk i Nord-Norge."]


def test_html_declared_windows_1252_is_decoded(tmp_path):
    page = write_html(tmp_path / "eldre.html", "<h1>Nærings- og fiskeridepartementet</h1>"
                      "<p>Økt støtte til små bedrifter – også i Nord-Norge.</p>", title="Næring",
                      charset="windows-1252")
    assert "Nærings".encode("cp1252") in page.read_bytes()  # really single-byte on disk

    document = load_document(page)

    assert document.encoding == "windows-1252"
    assert [line.text for line in document.lines] == ["Nærings- og fiskeridepartementet",
                                                      "Økt støtte til små bedrifter – også i Nord-Norge."]
    assert document.warnings == []


def test_html_1000_deep_divs_load(tmp_path):
    page = tmp_path / "dyp.html"
    page.write_text("<!DOCTYPE html><html><body><main>" + "<div>" * 1000 + "<p>Dypt nede: ærlig tale.</p>"
                    + "</div>" * 1000 + "<p>Etter nøstingen.</p></main></body></html>", encoding="utf-8")
    assert [line.text for line in load_document(page).lines] == ["Dypt nede: ærlig tale.", "Etter nøstingen."]


def _deep_page(path: Path) -> Path:
    path.write_text("<!DOCTYPE html><html><body><main><p>Før nøstingen: æøå.</p>" + "<div>" * 5000
                    + "<p>Dypt nede i strukturen.</p>" + "</div>" * 5000
                    + "<p>Etter nøstingen.</p></main></body></html>", encoding="utf-8")
    return path


def test_html_5000_deep_divs_do_not_exhaust_the_stack(tmp_path):
    document = load_document(_deep_page(tmp_path / "dyp.html"))  # a RecursionError here fails the test
    assert document.lines[0].text == "Før nøstingen: æøå."


def test_html_5000_deep_divs_keep_their_text_or_are_refused(tmp_path):
    path = _deep_page(tmp_path / "dyp.html")
    try:
        document = load_document(path)
    except UnsupportedFormatError as error:
        assert "deep" in str(error) or "nest" in str(error)
    else:
        assert [line.text for line in document.lines] == ["Før nøstingen: æøå.", "Dypt nede i strukturen.",
                                                          "Etter nøstingen."]


# --- DOCX ----------------------------------------------------------------------------------------------------

DOCX_ITEMS = [
    ("title", "Strategi for helsedata"),
    ("heading1", "Innledning"),
    ("paragraph", "For å bedre tilgangen til data vil regjeringen:"),
    ("bullet", "etablere en helseanalyseplattform"),
    ("bullet", "forenkle søknadsprosessen"),
    ("heading2", "Økonomi og gjennomføring"),
    ("number", "første tiltak: øke løyvingene"),
    ("number", "andre tiltak: måle effekten"),
    ("table", "År | Beløp"),
    ("table", "2026 | 12 mill. kr"),
    ("pagebreak", ""),
    ("paragraph", "Tiltakene gjelder også i Nord-Norge."),
]


@pytest.fixture(scope="module")
def docx_document(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docx")
    return load_document(write_docx(folder / "strategi.docx", DOCX_ITEMS))


def test_docx_lines(docx_document):
    assert docx_document.format == SourceFormat.DOCX
    assert docx_document.title == "Strategi for helsedata"
    assert [(line.kind, line.level, line.marker, line.text, line.page) for line in docx_document.lines] == [
        (LineKind.HEADING, 1, None, "Strategi for helsedata", 1),
        (LineKind.HEADING, 2, None, "Innledning", 1),
        (LineKind.PARAGRAPH, None, None, "For å bedre tilgangen til data vil regjeringen:", 1),
        (LineKind.LIST_ITEM, 1, "•", "etablere en helseanalyseplattform", 1),
        (LineKind.LIST_ITEM, 1, "•", "forenkle søknadsprosessen", 1),
        (LineKind.HEADING, 3, None, "Økonomi og gjennomføring", 1),
        (LineKind.LIST_ITEM, 1, "1.", "første tiltak: øke løyvingene", 1),
        (LineKind.LIST_ITEM, 1, "2.", "andre tiltak: måle effekten", 1),
        (LineKind.TABLE_ROW, None, None, "År | Beløp", 1),
        (LineKind.TABLE_ROW, None, None, "2026 | 12 mill. kr", 1),
        (LineKind.PARAGRAPH, None, None, "Tiltakene gjelder også i Nord-Norge.", 2),
    ]
    assert docx_document.page_count == 2


def test_docx_list_keys(docx_document):
    keys = [line.list_key for line in docx_document.lines if line.kind == LineKind.LIST_ITEM]
    assert keys[0] == keys[1] and keys[2] == keys[3]
    assert keys[0] != keys[2]


def test_docx_without_page_breaks_has_no_pages(tmp_path):
    document = load_document(write_docx(tmp_path / "kort.docx", [("paragraph", "Én side om sjømat.")]))
    assert document.page_count is None
    assert document.lines[0].page is None


@pytest.mark.parametrize("garbage", ["dette er ikke XML, men ødelagt tekst", "<w:document>ødelagt<<"])
def test_damaged_docx_is_refused(tmp_path, garbage):
    source = write_docx(tmp_path / "kilde.docx", [("paragraph", "Høringsfristen er 1. mars.")])
    with zipfile.ZipFile(source) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist()}
    entries["word/document.xml"] = garbage.encode()
    damaged = tmp_path / "skadet.docx"
    damaged.write_bytes(_zip(entries))

    assert sniff_format(damaged.read_bytes(), damaged) == SourceFormat.DOCX
    assert "damaged Word document" in _refusal(damaged)


def test_pipe_table_rows_in_plain_text_become_table_rows(tmp_path):
    from pipeline.reading.source import LineKind

    path = tmp_path / "tabell.txt"
    path.write_text("Oversikt\n\n| Tiltak | Ansvar |\n|:---|---:|\n| etablere et senter | HOD |\n\n"
                    "a | b | c\n\nEn setning med én | strek er ikke en tabell.\n", encoding="utf-8")
    lines = load_document(path).lines
    assert [(line.text, line.kind) for line in lines] == [
        ("Oversikt", None), ("Tiltak | Ansvar", LineKind.TABLE_ROW), ("etablere et senter | HOD", LineKind.TABLE_ROW),
        ("a | b | c", LineKind.TABLE_ROW), ("En setning med én | strek er ikke en tabell.", None)]
