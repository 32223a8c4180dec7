"""Word documents (.docx): the body's paragraphs, tables, content controls and text boxes in document order.

* Headings: heading styles (English and Norwegian names) and Title, with their level; a heading that Word numbers
  ("3.2") shows its number. A table of one cell holding one short heading-like line ("TILTAK:", "REKRUTTERING",
  as municipal plans set their section headers) is a heading one level below the document's styled headings,
  each look of such cells (their fill, else weight and size; in the order they first appear) one level deeper, at
  most three levels; a one-cell table
  holding more (a text frame, a box) is read as its paragraphs and lists. Tables of more cells are table rows.
* Lists: paragraphs with Word numbering (``w:numPr`` on the paragraph, or on its style or a style it is based on)
  are list items at their level (``w:ilvl``), with the marker Word shows rendered from the numbering definition
  ("•", "1.", "b)", "iv.", "2.1"), counted per numbering instance, which is also their list. A bullet typed as text
  in a symbol font (Wingdings "Ø" and a tab) is a list item too, in the list next to it if there is one.
* Text: text boxes (DrawingML or VML; the two versions Word stores of one box are read once) after the paragraph
  that holds them; tracked changes as accepted (insertions kept, deletions dropped); field results shown, field
  codes not; hidden text, headers, footers, footnotes, endnotes and comments left out (a footnote's reference
  mark too); tables of contents (TOC styles) left out, since they repeat the headings. A tab is a space, a
  non-breaking hyphen "-", a soft hyphen nothing.
* Pages are known only where Word recorded them (page breaks and the page breaks Word rendered when it last
  saved the file).

Size: a file whose XML parts exceed ``MAX_XML_BYTES`` (or 200 times the file's size plus ``XML_ALLOWANCE``) is refused
before it is inflated; the XML is parsed by python-docx's parser, which expands no entities; text, styles and tables
are read from the XML directly, with the clock checked for every paragraph, table and table row.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import UnsupportedFormatError
from pipeline.reading.loaders.limits import NO_LIMITS, LoadLimits
from pipeline.reading.source import LineKind, PageInfo, SourceDocument, SourceFormat, SourceLine

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
MATH = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024  # all parts, images included
MAX_COMPRESSION_RATIO = 200
# The XML parts are parsed into a tree of about ten times their size. A government report of several hundred
# pages is a few MB of XML; more than this is refused before it is inflated.
MAX_XML_BYTES = 32 * 1024 * 1024
XML_ALLOWANCE = 16 * 1024 * 1024  # on top of the ratio, for small files with much markup
_HEADING_STYLE = re.compile(r"^(?:heading|overskrift)\s*(\d)$", re.I)
_TITLE_STYLE = re.compile(r"^(?:title|tittel)$", re.I)
_LIST_STYLE = re.compile(r"^(?:list|liste)\s*(bullet|number|punkt|nummer)", re.I)
_TOC_STYLE = re.compile(r"^(?:toc|innholdsfortegnelse)\s*\d$", re.I)
_SPACES = re.compile(r"\s+")
_LEVEL_PLACEHOLDER = re.compile(r"%([1-9])")

# A one-cell table is a heading when it holds one line this short that does not end a sentence (":" may end it).
FRAME_HEADING_MAX_CHARS = 120
FRAME_HEADING_MAX_WORDS = 14
FRAME_HEADING_LOOKS = 3  # distinct looks of one-cell headings, each a level deeper; more share the deepest
_SENTENCE_END = re.compile(r"[.!?;,…]$|[.!?] [A-ZÆØÅ]")

# Bullets typed as text: the private-use characters of symbol fonts (Symbol, Wingdings) as Word stores them, and
# Unicode bullets; U+F020 is a symbol font's space.
SYMBOL_FONT_SPACE = "\uf020"
_TYPED_BULLETS = frozenset("\uf0b7\uf0a7\uf076\uf0d8\uf0fc\uf0a8\uf06e\uf0be•●▪◦■►➢")
_UNICODE_BULLETS = frozenset("•●▪◦‣○■□►▸➢✓✔–—-*·")
_SYMBOL_FONTS = frozenset({"symbol", "wingdings", "wingdings 2", "wingdings 3", "webdings"})


def _check_archive(path: Path, data: bytes) -> None:
    """Refuse zip bombs before any XML is inflated: the parts' sizes as the zip declares them (zipfile stops
    reading a part at its declared size, so a part cannot inflate further than declared)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES or total > MAX_COMPRESSION_RATIO * max(len(data), 1) + 50_000_000:
        raise UnsupportedFormatError(path, f"Word document would inflate to {total / 1e6:.0f} MB from "
                                           f"{len(data) / 1e6:.1f} MB (a zip bomb?); refused")
    xml = sum(info.file_size for info in infos if not info.filename.lower().startswith("word/media/"))
    if xml > MAX_XML_BYTES or xml > MAX_COMPRESSION_RATIO * len(data) + XML_ALLOWANCE:
        raise UnsupportedFormatError(path, f"Word document holds {xml / 1e6:.1f} MB of XML in {len(data) / 1e6:.2f} "
                                           f"MB (at most {MAX_XML_BYTES / 1e6:.0f} MB, and at most "
                                           f"{MAX_COMPRESSION_RATIO} times the file size plus "
                                           f"{XML_ALLOWANCE / 1e6:.0f} MB); refused as too large to read safely")


def _val(element, name: str, default: str | None = None) -> str | None:
    """The ``w:val`` (or ``w:name``) attribute of the child ``w:name`` of ``element``."""
    if element is None:
        return default
    child = element.find(f"{W}{name}")
    return child.get(f"{W}val", default) if child is not None else default


def _on(element, name: str) -> bool:
    """A toggle property (``<w:b/>``, ``<w:vanish w:val="0"/>``) of ``element`` (an rPr)."""
    if element is None:
        return False
    child = element.find(f"{W}{name}")
    return child is not None and child.get(f"{W}val", "true").lower() not in {"0", "false", "off", "none"}


# --- numbering -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Level:
    """One level of a numbering definition (``w:lvl``)."""

    fmt: str = "bullet"
    text: str | None = None  # lvlText: "%1." "%1.%2" or a bullet glyph
    start: int = 1
    style: str | None = None  # the paragraph style this level belongs to (w:pStyle), for style numbering
    symbol_font: bool = False  # the glyph is in a symbol font: a private-use character, not its Unicode self


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() and len(value) <= 6 else default


def _read_level(node) -> tuple[int, _Level]:
    fonts = node.find(f"{W}rPr/{W}rFonts")
    font_names = {(fonts.get(f"{W}{a}") or "").lower() for a in ("ascii", "hAnsi")} if fonts is not None else set()
    return _int(node.get(f"{W}ilvl"), 0), _Level(
        fmt=_val(node, "numFmt", "decimal") or "decimal", text=_val(node, "lvlText"),
        start=_int(_val(node, "start"), 1), style=_val(node, "pStyle"), symbol_font=bool(font_names & _SYMBOL_FONTS))


def _letters(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if n > 0 else ""


def _roman(n: int) -> str:
    values = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
              (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
    out = ""
    n = min(n, 9999)
    for value, letters in values:
        while n >= value:
            out, n = out + letters, n - value
    return out


def _format_number(fmt: str, n: int) -> str:
    if fmt == "lowerLetter":
        return _letters(n)
    if fmt == "upperLetter":
        return _letters(n).upper()
    if fmt == "lowerRoman":
        return _roman(n)
    if fmt == "upperRoman":
        return _roman(n).upper()
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "none":
        return ""
    return str(n)  # decimal, and the formats we do not spell out (ordinal text, Asian counting systems)


def _bullet(level: _Level) -> str:
    glyph = (level.text or "").strip()
    if not level.symbol_font and len(glyph) == 1 and glyph in _UNICODE_BULLETS:
        return glyph
    if glyph == "o":  # Courier New "o": the hollow bullet of the second level
        return "◦"
    return "•"  # a symbol font's private-use glyph (Symbol "", Wingdings "§" "Ø") or none


class _Numbering:
    """Markers for numbered paragraphs, from the document's numbering definitions (``word/numbering.xml``)."""

    def __init__(self, root) -> None:
        self.levels: dict[str, dict[int, _Level]] = {}  # by numId
        self.counters: dict[str, dict[int, int]] = {}
        if root is None:
            return
        abstract: dict[str, dict[int, _Level]] = {}
        linked: dict[str, str] = {}  # abstractNumId -> numbering style it takes its levels from
        by_style: dict[str, str] = {}  # numbering style -> the abstractNumId defining it
        for node in root.iterchildren(f"{W}abstractNum"):
            key = node.get(f"{W}abstractNumId") or ""
            abstract[key] = dict(_read_level(lvl) for lvl in node.iterchildren(f"{W}lvl"))
            if (link := _val(node, "numStyleLink")) is not None:
                linked[key] = link
            if (defines := _val(node, "styleLink")) is not None:
                by_style[defines] = key
        for key, style in linked.items():
            if not abstract[key] and by_style.get(style) in abstract:
                abstract[key] = abstract[by_style[style]]
        for num in root.iterchildren(f"{W}num"):
            levels = dict(abstract.get(_val(num, "abstractNumId") or "", {}))
            for override in num.iterchildren(f"{W}lvlOverride"):
                ilvl = _int(override.get(f"{W}ilvl"), 0)
                if (lvl := override.find(f"{W}lvl")) is not None:
                    levels[ilvl] = _read_level(lvl)[1]
                if (start := _val(override, "startOverride")) is not None:
                    base = levels.get(ilvl, _Level(fmt="decimal"))
                    levels[ilvl] = _Level(base.fmt, base.text, _int(start, 1), base.style, base.symbol_font)
            self.levels[num.get(f"{W}numId") or ""] = levels

    def level_of_style(self, num_id: str, style_id: str | None) -> int | None:
        """The level a numbering style's paragraphs take when their numPr names no ``w:ilvl``."""
        for ilvl, level in self.levels.get(num_id, {}).items():
            if style_id is not None and level.style == style_id:
                return ilvl
        return None

    def marker(self, num_id: str, ilvl: int) -> str:
        """The marker Word shows on the next paragraph of numbering ``num_id`` at level ``ilvl``; counts it."""
        levels = self.levels.get(num_id, {})
        level = levels.get(ilvl, _Level(fmt="bullet"))
        counts = self.counters.setdefault(num_id, {})
        for deeper in [key for key in counts if key > ilvl]:
            del counts[deeper]  # a new item at a level restarts the levels below it
        counts[ilvl] = counts.get(ilvl, level.start - 1) + 1
        if level.fmt == "bullet":
            return _bullet(level)

        def number(match: re.Match[str]) -> str:
            shown = int(match.group(1)) - 1
            spec = levels.get(shown, _Level(fmt="decimal"))
            return _format_number(spec.fmt, counts.get(shown, spec.start))

        template = level.text if level.text is not None else f"%{ilvl + 1}."
        return _LEVEL_PLACEHOLDER.sub(number, template).strip()


# --- styles ----------------------------------------------------------------------------------------------------------


def _style_id(paragraph) -> str | None:
    return _val(paragraph.find(f"{W}pPr"), "pStyle")


class _Styles:
    """Paragraph styles by id, each looked up once: python-docx looks up a paragraph's style (and the default
    style) by scanning every style of the document, which made a 40,000-paragraph document take minutes."""

    def __init__(self, document) -> None:
        self.part = document.part
        self.cache: dict[str | None, tuple[str, list[tuple[str, object]]]] = {}

    def of(self, style_id: str | None) -> tuple[str, list[tuple[str, object]]]:
        """The name of paragraph style ``style_id`` and the (style id, pPr) of its style chain, nearest first."""
        from docx.enum.style import WD_STYLE_TYPE

        if style_id not in self.cache:
            style = self.part.get_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
            name = style.name if style is not None else ""
            chain: list[tuple[str, object]] = []
            seen: set[str] = set()
            while style is not None and style.style_id not in seen:  # a basedOn cycle must not loop for ever
                seen.add(style.style_id)
                chain.append((style.style_id, style.element.pPr))
                style = style.base_style
            self.cache[style_id] = (name or "", chain)
        return self.cache[style_id]


def _num_pr(paragraph, style_chain: list[tuple[str, object]], numbering: _Numbering) -> tuple[str, int] | None:
    """(numbering id, level) of a numbered paragraph, from its own numPr or its style chain's; the nearest numId
    and the nearest ilvl win, and a style's paragraphs without an ilvl take the level that names the style."""
    num_id: str | None = None
    ilvl: int | None = None
    numbering_style: str | None = None
    for style_id, ppr in [(None, paragraph.find(f"{W}pPr")), *style_chain]:
        num = ppr.find(f"{W}numPr") if ppr is not None else None
        if num is None:
            continue
        if num_id is None and (value := _val(num, "numId")) is not None:
            num_id, numbering_style = value, style_id
        if ilvl is None and (value := _val(num, "ilvl")) is not None:
            ilvl = _int(value, 0)
    if num_id is None or num_id == "0":  # numId 0 takes the numbering away
        return None
    if ilvl is None:
        own_style = _style_id(paragraph)
        ilvl = next((found for style in (own_style, numbering_style)
                     if (found := numbering.level_of_style(num_id, style)) is not None), 0)
    return num_id, min(ilvl, 8)


# --- text ------------------------------------------------------------------------------------------------------------

_INLINE_CONTAINERS = frozenset({f"{W}hyperlink", f"{W}ins", f"{W}moveTo", f"{W}smartTag", f"{W}customXml",
                                f"{W}fldSimple", f"{W}bdo", f"{W}dir"})
_RUN_CHARACTERS = {f"{W}tab": " ", f"{W}ptab": " ", f"{W}cr": "\n", f"{W}noBreakHyphen": "-", f"{W}softHyphen": ""}


@dataclass
class _Inline:
    """What a paragraph holds: its text, its page breaks, and the text boxes anchored in it."""

    parts: list[str] = field(default_factory=list)
    explicit_breaks: int = 0
    rendered_breaks: int = 0
    leading_explicit: int = 0  # page breaks before any text: the paragraph starts on the page after them
    leading_rendered: int = 0
    has_text: bool = False
    boxes: list = field(default_factory=list)

    @property
    def text(self) -> str:
        raw = "".join(self.parts).replace("\xad", "").replace(SYMBOL_FONT_SPACE, " ")
        return _SPACES.sub(" ", raw).strip()

    @property
    def page_breaks(self) -> int:
        """Explicit page breaks, or those Word rendered, whichever says more."""
        return max(self.explicit_breaks, self.rendered_breaks)

    @property
    def leading_breaks(self) -> int:
        return max(self.leading_explicit, self.leading_rendered)


def _text_boxes(element) -> Iterator:
    """The outermost ``w:txbxContent`` at or under ``element``; of an ``mc:AlternateContent`` (a DrawingML shape
    with its VML copy for older readers) only the first branch that holds any, so a box is read once."""
    if element.tag == f"{W}txbxContent":
        yield element
    elif element.tag == f"{MC}AlternateContent":
        for branch in element.iterchildren(f"{MC}Choice", f"{MC}Fallback"):
            found = [box for child in branch.iterchildren() for box in _text_boxes(child)]
            if found:
                yield from found
                return
    else:
        for child in element.iterchildren():
            yield from _text_boxes(child)


def _read_run(run, inline: _Inline) -> None:
    if _on(run.find(f"{W}rPr"), "vanish"):
        return  # hidden text
    for child in run.iterchildren():
        tag = child.tag
        if tag == f"{W}t":
            text = child.text or ""
            inline.parts.append(text)
            inline.has_text = inline.has_text or bool(text.strip())
        elif tag == f"{W}br":
            kind = child.get(f"{W}type", "textWrapping")
            inline.parts.append("\n" if kind == "textWrapping" else " ")
            if kind == "page":
                inline.explicit_breaks += 1
                inline.leading_explicit += not inline.has_text
        elif tag == f"{W}lastRenderedPageBreak":
            inline.rendered_breaks += 1
            inline.leading_rendered += not inline.has_text
        elif tag == f"{W}sym":
            code = _int_hex(child.get(f"{W}char"))
            if code is not None:  # Symbol/Wingdings characters as the private-use code Word gives them
                inline.parts.append(chr(code + 0xF000 if code < 0x100 else code))
        elif tag in (f"{W}drawing", f"{W}pict", f"{W}object", f"{MC}AlternateContent"):
            inline.boxes.extend(_text_boxes(child))
        else:
            inline.parts.append(_RUN_CHARACTERS.get(tag, ""))  # instrText, delText, footnote references: nothing


def _int_hex(value: str | None) -> int | None:
    if value is None or not 0 < len(value) <= 6:
        return None
    try:
        code = int(value, 16)
    except ValueError:
        return None
    return code if 0x20 <= code <= 0xFFFF else None


def _read_inline(element, inline: _Inline) -> _Inline:
    """The text of a ``w:p`` (or an inline container in it), walking its children: python-docx runs an XPath query
    per paragraph and per run, which made the text of a large table take minutes."""
    for child in element.iterchildren():
        tag = child.tag
        if tag == f"{W}r":
            _read_run(child, inline)
        elif tag in _INLINE_CONTAINERS:
            _read_inline(child, inline)
        elif tag == f"{W}sdt":
            if (content := child.find(f"{W}sdtContent")) is not None:
                _read_inline(content, inline)
        elif tag == f"{MC}AlternateContent":
            for branch in child.iterchildren(f"{MC}Choice", f"{MC}Fallback"):
                _read_inline(branch, inline)
                break
        elif tag in (f"{MATH}oMath", f"{MATH}oMathPara"):
            inline.parts.extend(t.text or "" for t in child.iter(f"{MATH}t"))
    return inline


def _paragraph_inline(paragraph) -> _Inline:
    return _read_inline(paragraph, _Inline())


def _cell_texts(container, inline: _Inline) -> None:
    """Every paragraph's text in a table cell (nested tables and content controls included), into ``inline``."""
    for child in container.iterchildren():
        if child.tag == f"{W}p":
            if inline.parts:
                inline.parts.append("\n")
            _read_inline(child, inline)
            for box in inline.boxes:  # a text box's text, but not its page breaks
                in_box = _Inline()
                _cell_texts(box, in_box)
                inline.parts.extend(["\n", *in_box.parts])
            inline.boxes = []
        elif child.tag == f"{W}tbl":
            for row in child.iterchildren(f"{W}tr"):
                for cell in _cells(row):
                    _cell_texts(cell, inline)
        elif child.tag == f"{W}customXml":
            _cell_texts(child, inline)
        elif child.tag == f"{W}sdt" and (content := child.find(f"{W}sdtContent")) is not None:
            _cell_texts(content, inline)


def _cells(row) -> Iterator:
    for child in row.iterchildren():
        if child.tag == f"{W}tc":
            yield child
        elif child.tag == f"{W}sdt" and (content := child.find(f"{W}sdtContent")) is not None:
            yield from _cells(content)


def _table_rows(table, path: Path, limits: LoadLimits) -> Iterator[tuple[list[str], int, int]]:
    """The cells' texts of each row of a ``w:tbl``, and the page breaks before the row's text and in all the row,
    read from the XML: a horizontally merged cell once, a vertically merged one repeated in every row it spans (as
    python-docx gives them, without its cost per row)."""
    above: dict[int, str] = {}  # text of the cell that starts a vertical merge, by grid column
    for row in table.iterchildren(f"{W}tr"):
        limits.check_time(path, "load")
        column = 0
        texts: list[str] = []
        breaks = leading = 0
        for cell in _cells(row):
            properties = cell.find(f"{W}tcPr")
            span, merge = 1, None
            if properties is not None:
                span = max(_int(_val(properties, "gridSpan"), 1), 1)
                if (v_merge := properties.find(f"{W}vMerge")) is not None:
                    merge = v_merge.get(f"{W}val", "continue")
            if merge == "continue":
                text = above.get(column, "")
            else:
                inline = _Inline()
                _cell_texts(cell, inline)
                text = inline.text
                breaks = max(breaks, inline.page_breaks)
                leading = max(leading, inline.leading_breaks)
                if merge == "restart":
                    above[column] = text
                else:
                    above.pop(column, None)
            texts.append(text)
            column += span
        yield texts, leading, breaks


def _single_cell(table):
    """The cell of a table of one row and one cell, else None."""
    rows = table.findall(f"{W}tr")
    if len(rows) != 1:
        return None
    cells = list(_cells(rows[0]))
    return cells[0] if len(cells) == 1 else None


def _heading_like(text: str) -> bool:
    return (
        len(text) <= FRAME_HEADING_MAX_CHARS
        and len(text.split()) <= FRAME_HEADING_MAX_WORDS
        and not _SENTENCE_END.search(text)
        and (text[:1].isupper() or text[:1].isdigit())
        and any(c.isalpha() for c in text)
    )


def _look(cell, paragraph) -> tuple:
    """How a one-cell heading looks: its fill (of the cell, else of the paragraph), else the weight and size of its
    first run with text. Fill alone decides where there is one: banners of one colour vary in weight and size."""
    fill = _shading(cell.find(f"{W}tcPr")) or _shading(paragraph.find(f"{W}pPr"))
    if fill is not None:
        return ("fill", fill)
    run_properties = None
    for run in paragraph.iter(f"{W}r"):
        if run.find(f"{W}t") is not None:
            run_properties = run.find(f"{W}rPr")
            break
    return ("font", _on(run_properties, "b"), _val(run_properties, "sz"))


def _shading(properties) -> str | None:
    shading = properties.find(f"{W}shd") if properties is not None else None
    fill = (shading.get(f"{W}fill") or "").upper() if shading is not None else ""
    return fill if fill and fill != "AUTO" else None


@dataclass
class _Entry:
    line: SourceLine
    breaks: int  # page breaks seen before the line
    typed_bullet: bool = False
    frame_look: tuple | None = None  # a one-cell heading's look, ranked into a level at the end


class _Reader:
    """Walks the body in document order into source lines."""

    def __init__(self, path: Path, limits: LoadLimits, numbering: _Numbering, styles: _Styles) -> None:
        self.path, self.limits, self.numbering, self.styles = path, limits, numbering, styles
        self.entries: list[_Entry] = []
        self.breaks = 0
        self.heading_levels: set[int] = set()
        self.box_depth = 0  # inside text boxes, whose page breaks are the box's own layout, not the page's

    def _count_breaks(self, breaks: int) -> None:
        if not self.box_depth:
            self.breaks += breaks

    def blocks(self, container) -> None:
        for element in container.iterchildren():
            self.limits.check_time(self.path, "load")
            tag = element.tag
            if tag == f"{W}p":
                self.paragraph(element)
            elif tag == f"{W}tbl":
                self.table(element)
            elif tag == f"{W}sdt":
                if (content := element.find(f"{W}sdtContent")) is not None:
                    self.blocks(content)
            elif tag in (f"{W}customXml", f"{W}ins", f"{W}moveTo"):
                self.blocks(element)
            elif tag == f"{MC}AlternateContent":
                for branch in element.iterchildren(f"{MC}Choice", f"{MC}Fallback"):
                    self.blocks(branch)
                    break
            # w:del and w:moveFrom (deleted), w:sectPr, bookmarks: nothing to read

    def paragraph(self, element) -> None:
        inline = _paragraph_inline(element)
        text = inline.text
        self._count_breaks(inline.leading_breaks)
        style, style_chain = self.styles.of(_style_id(element))
        if text and not _TOC_STYLE.match(style):
            self.entries.append(self._line(element, text, style, style_chain))
        elif numbered := _num_pr(element, style_chain, self.numbering):
            self.numbering.marker(*numbered)  # Word numbers an empty paragraph (and a contents line) all the same
        self.box_depth += 1
        try:
            for box in inline.boxes:
                self.blocks(box)
        finally:
            self.box_depth -= 1
        self._count_breaks(inline.page_breaks - inline.leading_breaks)

    def _line(self, element, text: str, style: str, style_chain) -> _Entry:
        kind, level, marker, key, typed = LineKind.PARAGRAPH, None, None, None, False
        numbered = _num_pr(element, style_chain, self.numbering)
        if heading := _HEADING_STYLE.match(style):
            kind, level = LineKind.HEADING, int(heading.group(1)) + 1
        elif _TITLE_STYLE.match(style):
            kind, level = LineKind.HEADING, 1
        elif numbered:
            kind, marker, key = LineKind.LIST_ITEM, self.numbering.marker(*numbered) or None, f"docx-num-{numbered[0]}"
            level = numbered[1] + 1
        elif list_style := _LIST_STYLE.match(style):
            kind, level, key = LineKind.LIST_ITEM, 1, f"docx-style-{style}"
            marker = "•" if list_style.group(1).lower() in {"bullet", "punkt"} else None
        elif len(text) > 2 and text[0] in _TYPED_BULLETS and text[1] == " ":
            kind, level, marker, text, typed = LineKind.LIST_ITEM, 1, "•", text[2:], True
        if kind == LineKind.HEADING:
            self.heading_levels.add(level)
            if numbered and (number := self.numbering.marker(*numbered)) and number[0] not in _UNICODE_BULLETS:
                text = f"{number} {text}"  # "3.2 Tiltak", as Word shows a numbered heading
        line = SourceLine(text=text, page=None, kind=kind, level=level, marker=marker, list_key=key)
        return _Entry(line, self.breaks, typed_bullet=typed)

    def table(self, element) -> None:
        cell = _single_cell(element)
        if cell is not None:
            self.frame(cell)
            return
        for row, leading, breaks in _table_rows(element, self.path, self.limits):
            self._count_breaks(leading)
            cells: list[str] = []
            for cell_text in row:
                if cell_text and (not cells or cells[-1] != cell_text):  # merged cells repeat
                    cells.append(cell_text)
            if cells:
                line = SourceLine(text=" | ".join(cells), page=None, kind=LineKind.TABLE_ROW)
                self.entries.append(_Entry(line, self.breaks))
            self._count_breaks(breaks - leading)

    def frame(self, cell) -> None:
        """A one-cell table: a heading when it holds one short heading-like paragraph, else a text frame whose
        paragraphs, lists and tables are read as if they stood in the body."""
        first = len(self.entries)
        self.blocks(cell)
        added = self.entries[first:]
        paragraphs = [child for child in cell.iterchildren(f"{W}p") if _paragraph_inline(child).text]
        # A banner's one line is its heading even when numbered: a bullet copied into a header is no list.
        if (len(added) == 1 and len(paragraphs) == 1 and added[0].line.kind != LineKind.HEADING
                and _heading_like(added[0].line.text)):
            entry = added[0]
            entry.line = _with(entry.line, kind=LineKind.HEADING, marker=None, list_key=None)
            entry.typed_bullet = False
            entry.frame_look = _look(cell, paragraphs[0])

    def finish(self) -> list[_Entry]:
        self._rank_frame_headings()
        self._key_typed_bullets()
        return self.entries

    def _rank_frame_headings(self) -> None:
        """One-cell headings sit below the styled headings; each new look (in order of appearance) one deeper."""
        base = max(self.heading_levels, default=1) + 1
        ranks: dict[tuple, int] = {}
        for entry in self.entries:
            if entry.frame_look is not None:
                rank = ranks.setdefault(entry.frame_look, min(len(ranks), FRAME_HEADING_LOOKS - 1))
                entry.line = _with(entry.line, level=base + rank)

    def _key_typed_bullets(self) -> None:
        """A run of typed bullets joins the Word list right after or before it (one list on the page), else is a
        list of its own."""
        runs = 0
        index = 0
        entries = self.entries
        while index < len(entries):
            if not entries[index].typed_bullet:
                index += 1
                continue
            end = index
            while end < len(entries) and entries[end].typed_bullet:
                end += 1
            key = None
            for neighbour in (end, index - 1):
                if 0 <= neighbour < len(entries):
                    line = entries[neighbour].line
                    if line.kind == LineKind.LIST_ITEM and line.level == 1 and line.marker in _UNICODE_BULLETS:
                        key = line.list_key
                        break
            if key is None:
                runs += 1
                key = f"docx-typed-{runs}"
            for entry in entries[index:end]:
                entry.line = _with(entry.line, list_key=key)
            index = end


def _with(line: SourceLine, **changes) -> SourceLine:
    values = {name: getattr(line, name) for name in SourceLine.__slots__}
    values.update(changes)
    return SourceLine(**values)


def _numbering_root(document):
    try:
        return document.part.numbering_part.element
    except (NotImplementedError, KeyError, AttributeError):
        return None


def read(path: Path, data: bytes, limits: LoadLimits = NO_LIMITS) -> SourceDocument:
    import docx

    _check_archive(path, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors … for damaged files
        raise UnsupportedFormatError(path, f"damaged Word document: {type(exc).__name__}: {exc}") from exc
    limits.check_time(path, "load")
    reader = _Reader(path, limits, _Numbering(_numbering_root(document)), _Styles(document))
    reader.blocks(document.element.body)
    entries = reader.finish()
    breaks = reader.breaks
    paginated = breaks > 0
    lines = [_with(entry.line, page=entry.breaks + 1 if paginated else None) for entry in entries]
    title = (document.core_properties.title or "").strip() or None
    try:
        created = document.core_properties.created
    except (ValueError, TypeError):  # a malformed date in docProps/core.xml
        created = None
    warnings = [] if lines else ["the Word document has no text"]
    return SourceDocument(path=path, sha256="", size_bytes=len(data), format=SourceFormat.DOCX, lines=lines,
                          title=title, pages=[PageInfo(n) for n in range(1, breaks + 2)] if paginated else [],
                          warnings=warnings, created=created.date().isoformat() if created else None)
