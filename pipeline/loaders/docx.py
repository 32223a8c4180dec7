"""Word documents (.docx): body paragraphs and tables in document order.

Heading styles (English and Norwegian names, and Title) become headings with their level; paragraphs with
Word numbering (direct or through their style) become list items, with a marker rendered from the numbering
definition ("•", "1.", "a)") and the numbering instance as their list. Pages are known only where Word
recorded them (page breaks and the page breaks Word rendered when it last saved the file).

Size: a file whose XML parts exceed ``MAX_XML_BYTES`` (or 200 times the file's size plus ``XML_ALLOWANCE``) is refused
before it is inflated; text, styles and tables are read from the XML directly, with the clock checked for every
paragraph, table and table row.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import UnsupportedFormatError
from pipeline.loaders import NO_LIMITS, LoadLimits
from pipeline.source import LineKind, PageInfo, SourceDocument, SourceFormat, SourceLine

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024  # all parts, images included
MAX_COMPRESSION_RATIO = 200
# The XML parts are parsed into a tree of about ten times their size. A government report of several hundred
# pages is a few MB of XML; more than this is refused before it is inflated.
MAX_XML_BYTES = 32 * 1024 * 1024
XML_ALLOWANCE = 16 * 1024 * 1024  # on top of the ratio, for small files with much markup
_HEADING_STYLE = re.compile(r"^(?:heading|overskrift)\s*(\d)$", re.I)
_TITLE_STYLE = re.compile(r"^(?:title|tittel)$", re.I)
_LIST_STYLE = re.compile(r"^(?:list|liste)\s*(bullet|number|punkt|nummer)", re.I)
_SPACES = re.compile(r"\s+")


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


class _Numbering:
    """Markers for numbered paragraphs, from the document's numbering definitions."""

    def __init__(self, document) -> None:
        self.formats: dict[tuple[str, int], tuple[str, str, int]] = {}
        self.counters: dict[tuple[str, int], int] = defaultdict(int)
        try:
            root = document.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for node in root.iter(f"{W}abstractNum"):
            levels = {}
            for lvl in node.iter(f"{W}lvl"):
                fmt = lvl.find(f"{W}numFmt")
                text = lvl.find(f"{W}lvlText")
                start = lvl.find(f"{W}start")
                levels[int(lvl.get(f"{W}ilvl", "0"))] = (
                    fmt.get(f"{W}val") if fmt is not None else "bullet",
                    text.get(f"{W}val") if text is not None else "",
                    int(start.get(f"{W}val")) if start is not None else 1,
                )
            abstract[node.get(f"{W}abstractNumId")] = levels
        for num in root.iter(f"{W}num"):
            ref = num.find(f"{W}abstractNumId")
            if ref is not None:
                for level, spec in abstract.get(ref.get(f"{W}val"), {}).items():
                    self.formats[(num.get(f"{W}numId"), level)] = spec

    def marker(self, num_id: str, level: int) -> str:
        fmt, text, start = self.formats.get((num_id, level), ("bullet", "•", 1))
        for deeper in [key for key in self.counters if key[0] == num_id and key[1] > level]:
            del self.counters[deeper]
        self.counters[(num_id, level)] += 1
        n = start + self.counters[(num_id, level)] - 1
        if fmt == "bullet" or fmt == "none":
            return "•" if not text or not text.strip() or ord(text[0]) > 0xF000 else text.strip()
        rendered = {"decimal": str(n), "lowerLetter": _letters(n), "upperLetter": _letters(n).upper(),
                    "lowerRoman": _roman(n), "upperRoman": _roman(n).upper()}.get(fmt, str(n))
        return re.sub(r"%\d", rendered, text or "%1.", count=1).replace("%", "") or f"{rendered}."


def _letters(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _roman(n: int) -> str:
    values = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
              (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
    out = ""
    for value, letters in values:
        while n >= value:
            out, n = out + letters, n - value
    return out


class _Styles:
    """Paragraph styles by id, each looked up once: python-docx looks up a paragraph's style (and the default
    style) by scanning every style of the document, which made a 40,000-paragraph document take minutes."""

    def __init__(self, document) -> None:
        self.part = document.part
        self.cache: dict[str | None, tuple[str, list]] = {}

    def of(self, element) -> tuple[str, list]:
        """The style name of paragraph ``element`` and the pPr of its style chain (nearest first)."""
        from docx.enum.style import WD_STYLE_TYPE

        style_id = element.style
        if style_id not in self.cache:
            style = self.part.get_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
            name = style.name if style is not None else ""
            chain = []
            while style is not None:
                chain.append(style.element.pPr)
                style = style.base_style
            self.cache[style_id] = (name or "", chain)
        return self.cache[style_id]


def _num_pr(element, style_chain: list) -> tuple[str, int] | None:
    """(numbering id, level) of a numbered paragraph, directly or through its style chain."""
    for ppr in [element.pPr, *style_chain]:
        if ppr is None:
            continue
        num = ppr.find(f"{W}numPr")
        if num is None:
            continue
        num_id = num.find(f"{W}numId")
        ilvl = num.find(f"{W}ilvl")
        if num_id is not None and num_id.get(f"{W}val") != "0":
            return num_id.get(f"{W}val"), int(ilvl.get(f"{W}val")) if ilvl is not None else 0
    return None


def _page_breaks(element) -> int:
    """Page breaks inside a paragraph: explicit ones, or those Word rendered, whichever says more."""
    explicit = sum(1 for br in element.iter(f"{W}br") if br.get(f"{W}type") == "page")
    rendered = sum(1 for _ in element.iter(f"{W}lastRenderedPageBreak"))
    return max(explicit, rendered)


_RUN_CHARACTERS = {f"{W}tab": "\t", f"{W}ptab": "\t", f"{W}cr": "\n", f"{W}noBreakHyphen": "-"}


def _run_text(run) -> str:
    parts = []
    for child in run:
        if child.tag == f"{W}t":
            parts.append(child.text or "")
        elif child.tag == f"{W}br":
            parts.append("\n" if child.get(f"{W}type", "textWrapping") == "textWrapping" else "")
        else:
            parts.append(_RUN_CHARACTERS.get(child.tag, ""))
    return "".join(parts)


def _raw_text(element) -> str:
    """The text of a ``w:p`` as python-docx gives it (its runs and hyperlinks), by walking its children: python-docx
    runs an XPath query per paragraph and per run, which made the text of a large table take minutes."""
    parts = []
    for child in element:
        if child.tag == f"{W}r":
            parts.append(_run_text(child))
        elif child.tag == f"{W}hyperlink":
            parts.extend(_run_text(run) for run in child.iterchildren(f"{W}r"))
    return "".join(parts)


def _paragraph_text(element) -> str:
    return _SPACES.sub(" ", _raw_text(element).replace("\xad", "")).strip()


def _table_rows(table, path: Path, limits: LoadLimits) -> Iterator[list[str]]:
    """The cells' texts of each row of a ``w:tbl``, read from the XML: a horizontally merged cell once, a
    vertically merged one repeated in every row it spans (as python-docx gives them, without its cost per row)."""
    above: dict[int, str] = {}  # text of the cell that starts a vertical merge, by grid column
    for row in table.iterchildren(f"{W}tr"):
        limits.check_time(path, "load")
        column = 0
        texts: list[str] = []
        for cell in row.iterchildren(f"{W}tc"):
            properties = cell.find(f"{W}tcPr")
            span, merge = 1, None
            if properties is not None:
                if (grid_span := properties.find(f"{W}gridSpan")) is not None:
                    value = grid_span.get(f"{W}val", "1")
                    span = int(value) if value.isdigit() and int(value) > 0 else 1
                if (v_merge := properties.find(f"{W}vMerge")) is not None:
                    merge = v_merge.get(f"{W}val", "continue")
            if merge == "continue":
                text = above.get(column, "")
            else:
                text = _SPACES.sub(" ", "\n".join(_raw_text(p) for p in cell.iterchildren(f"{W}p"))).strip()
                if merge == "restart":
                    above[column] = text
                else:
                    above.pop(column, None)
            texts.append(text)
            column += span
        yield texts


def read(path: Path, data: bytes, limits: LoadLimits = NO_LIMITS) -> SourceDocument:
    import docx

    _check_archive(path, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors … for damaged files
        raise UnsupportedFormatError(path, f"damaged Word document: {type(exc).__name__}: {exc}") from exc
    limits.check_time(path, "load")
    numbering = _Numbering(document)
    styles = _Styles(document)
    raw: list[tuple[SourceLine, int]] = []  # line and the page breaks seen before it
    breaks = 0
    for element in document.element.body.iterchildren():
        limits.check_time(path, "load")
        if element.tag == f"{W}p":
            text = _paragraph_text(element)
            if not text:
                breaks += _page_breaks(element)
                continue
            style, style_chain = styles.of(element)
            kind, level, marker, key = LineKind.PARAGRAPH, None, None, None
            if heading := _HEADING_STYLE.match(style):
                kind, level = LineKind.HEADING, int(heading.group(1)) + 1
            elif _TITLE_STYLE.match(style):
                kind, level = LineKind.HEADING, 1
            elif numbered := _num_pr(element, style_chain):
                kind, marker, key = LineKind.LIST_ITEM, numbering.marker(*numbered), f"docx-num-{numbered[0]}"
                level = numbered[1] + 1
            elif list_style := _LIST_STYLE.match(style):
                kind, level, key = LineKind.LIST_ITEM, 1, f"docx-style-{style}"
                marker = "•" if list_style.group(1).lower() in {"bullet", "punkt"} else None
            raw.append((SourceLine(text=text, page=None, kind=kind, level=level, marker=marker, list_key=key),
                        breaks))
            breaks += _page_breaks(element)
        elif element.tag == f"{W}tbl":
            for row in _table_rows(element, path, limits):
                cells: list[str] = []
                for cell_text in row:
                    if cell_text and (not cells or cells[-1] != cell_text):  # merged cells repeat
                        cells.append(cell_text)
                if cells:
                    raw.append((SourceLine(text=" | ".join(cells), page=None, kind=LineKind.TABLE_ROW), breaks))
    paginated = breaks > 0
    lines = [SourceLine(text=line.text, page=seen + 1 if paginated else None, kind=line.kind, level=line.level,
                        marker=line.marker, list_key=line.list_key) for line, seen in raw]
    title = (document.core_properties.title or "").strip() or None
    warnings = [] if lines else ["the Word document has no text"]
    return SourceDocument(path=path, sha256="", size_bytes=len(data), format=SourceFormat.DOCX, lines=lines,
                          title=title, pages=[PageInfo(n) for n in range(1, breaks + 2)] if paginated else [],
                          warnings=warnings)
