"""Structure: a SourceDocument becomes normalised text cut into blocks (headings, paragraphs, list items, tables).

Every block has char offsets into the normalised text and its page; the text is the blocks' texts joined by
blank lines, and ``origin`` maps every stretch of it back to its source line and page. Lists get an id and the
block right before them as their intro ("vil regjeringen:"), which is what the measure extractor reads.

What the source knows is used first (HTML and DOCX say what a line is; PDFs give font size, weight and
position); what it does not say is inferred from the text (markers, short unpunctuated lines as headings).

A PDF's typography is learned from the document itself (``_Typography``): its body size and line spacing, its
columns' left edges, whether list items hang (wrapped lines under the text, not the marker) and how far paragraphs
indent their first line. With it, a bullet drawn as a glyph of its own joins its text; an item ends where its
indent ends (not at the next heading), and runs on over a column or page break at its indent; a first-line indent
opens a paragraph; footnotes stay apart from the running text and from the lists they interrupt; a table of contents
(leaders and page numbers) becomes table rows; and "1. juli" or "bokstav ⏎ c." in a wrapped sentence is no item.
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

from pipeline.reading.normalise import (
    WORD_MAX_CHARS,
    RemovedLine,
    document_vocabulary,
    join_wrapped,
    normalise_line,
    remove_page_furniture,
)
from pipeline.reading.source import LineKind, LineLayout, SourceDocument, SourceLine
from pipeline.schema import Block, BlockKind

BLOCK_SEPARATOR = "\n\n"

# Bullet glyphs as fonts draw them (symbol-font bullets are already "•" after normalisation).
BULLETS = "•●▪◦·‣○■□►▸➢✓✔*❖◆♦∙⁃➔→☐◊"
# A list marker typed into the text: bullets, dashes, "1." "1)" "a)" "(1)" "(a)" "iv.".
LIST_MARKER = re.compile(
    rf"^(?P<marker>[{BULLETS}]|[-–—](?=\s)|\d{{1,3}}[.)](?![\d])|[a-zæøå][.)]|\(\d{{1,3}}\)|\([a-zæøå]\)|"
    r"(?:ii|iii|iv|v|vi|vii|viii|ix|x)[.)])\s+(?=\S)"
)
DASHES = frozenset("-–—")
# A bullet drawn as a glyph of its own, apart from the item's text ("o" only when the text stands on its row).
_LONE_MARKER = re.compile(rf"^(?:[{BULLETS}]|[-–—])$")
# A line ending in one of these reads on into a number or letter: "skatteloven § 6-" ⏎ "91. …", "bokstav" ⏎ "c. …".
_REFERENCE_END = re.compile(r"(?:\b(?:bokstav|ledd|nr\.|punkt|punktum|steg|kapittel|kap\.|avsnitt|side|s\.|jf\.|note|"
                            r"tabell|figur|boks|del|trinn|alternativ|pkt\.)|§§?|[-–])$", re.I)
# "1. juli 2026" or "2. ledd" wrapped to the start of a line is a date or an ordinal in running text, not item 1.
_ORDINAL_IN_TEXT = re.compile(
    r"^\d{1,2}\.\s(?:januar|februar|mars|april|mai|juni|juli|august|september|oktober|november|desember|"
    r"ledd|punktum|kvartal|halvår|tertial|trinn|klasse|avsnitt|gang|plass)\b", re.I)
# A table of contents entry: a title, a leader of dots (". . . ." "……") and the page (or pages) it is on; the rows
# of a table set with leaders read the same way. Each dot is consumed once: linear on any run of dots and spaces.
_LEADER = re.compile(r"(?:\.\s?){4,}|…(?:\s?…)+|(?:_\s?){4,}")
_LEADER_TAIL = re.compile(r"[\s\d.,:;()\-–−ivxlcIVXLC]{0,40}")  # the page number(s) or figures after a leader
_PAGE_REFERENCE = re.compile(r"\b(?:s\.|side)\s?\d{1,4}$", re.I)  # "Innledning s. 3": a contents line without leader
CONTENTS_MIN_ENTRIES = 3  # lines ending in a page reference, in a row, that make a table of contents
_LETTERS = re.compile(r"[^\W\d_]")
_SPEECH = re.compile(r",?\s(?:sier|sa|seier|meiner|mener|forteller|understreker|skriver|påpeker|legger til)\b|\?$",
                     re.I)
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+\S")
_SENTENCE_END = re.compile(r"[.!?:;»”\"')]$")
HEADING_MAX_WORDS = 14
HEADING_MAX_CHARS = 120


@dataclass
class _Unit:
    """A candidate block: one or more source lines that belong together."""

    lines: list[SourceLine]
    kind: BlockKind | None = None
    level: int | None = None
    marker: str | None = None  # as found in the text or given by the source
    marker_in_text: bool = False
    list_key: str | None = None
    indent: float = 0.0
    footnote: bool = False  # set smaller at the foot of a page: kept apart from the running text and its lists
    contents: bool = False  # an entry of a table of contents

    @property
    def first(self) -> SourceLine:
        return self.lines[0]


@dataclass(frozen=True)
class Segment:
    """A stretch of the normalised text and the source line (and page) it came from."""

    start: int
    end: int
    page: int | None
    line: int


@dataclass
class StructuredDocument:
    text: str
    blocks: list[Block]
    origin: list[Segment] = field(default_factory=list)
    removed: list[RemovedLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _by_id: dict[str, Block] = field(default_factory=dict, repr=False)
    _sections: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {block.id: block for block in self.blocks}
        stack: list[tuple[int, str]] = []
        for block in self.blocks:
            if block.kind == BlockKind.HEADING:
                level = block.level or 2
                while stack and stack[-1][0] >= level:
                    stack.pop()
                self._sections[block.id] = [text for _, text in stack]
                stack.append((level, self.block_text(block)))
            else:
                self._sections[block.id] = [text for _, text in stack]
        self._starts = [segment.start for segment in self.origin]

    def block_by_id(self, block_id: str) -> Block:
        return self._by_id[block_id]

    def block_text(self, block: Block) -> str:
        return self.text[block.start : block.end]

    def section_path(self, block: Block) -> list[str]:
        """The headings above ``block``, outermost first."""
        return list(self._sections.get(block.id, []))

    def page_at(self, offset: int) -> int | None:
        index = bisect.bisect_right(self._starts, offset) - 1
        return self.origin[index].page if index >= 0 else None


def _text_marker(text: str) -> re.Match[str] | None:
    return LIST_MARKER.match(text)


def _indent_of(line: SourceLine) -> float:
    if line.layout is not None:
        return line.layout.x0
    return float(len(line.text) - len(line.text.lstrip(" ")))


def _prepare_lines(source: SourceDocument) -> tuple[list[SourceLine], list[RemovedLine]]:
    cleaned: list[SourceLine] = []
    for line in source.lines:
        text = normalise_line(line.text)
        if text:
            indent = len(line.text) - len(line.text.lstrip(" \t"))
            # Keep plain-text indentation (it tells nesting) as leading spaces until units are formed.
            cleaned.append(_replace(line, text=" " * indent + text if line.layout is None else text))
    if source.pages:
        heights = {page.number: page.height for page in source.pages}
        return remove_page_furniture(cleaned, heights)
    return cleaned, []


def _replace(line: SourceLine, **changes) -> SourceLine:
    values = {name: getattr(line, name) for name in SourceLine.__slots__}
    values.update(changes)
    return SourceLine(**values)


def _overlap(a: LineLayout, b: LineLayout) -> float:
    """How much of the shorter of two lines' heights they share (1.0: on one row)."""
    shared = min(a.bottom, b.bottom) - max(a.top, b.top)
    return shared / max(min(a.bottom - a.top, b.bottom - b.top), 0.1)


def _with_marker(glyph: SourceLine, text: SourceLine) -> SourceLine:
    """One item line from a bullet glyph and the text beside or below it: the glyph's x, the text's row and font."""
    marker = "◦" if glyph.text == "o" else glyph.text
    layout = None
    if glyph.layout and text.layout:
        layout = LineLayout(x0=min(glyph.layout.x0, text.layout.x0), x1=max(glyph.layout.x1, text.layout.x1),
                            top=text.layout.top, bottom=text.layout.bottom, font_size=text.layout.font_size,
                            bold=text.layout.bold)
    return _replace(text, text=f"{marker} {text.text.lstrip()}", layout=layout or text.layout)


GLYPH_GAP = 40.0  # points: an item's text starts at most this far right of its bullet (a "–" table cell is farther)


def _is_lone_marker(line: SourceLine) -> bool:
    glyph = line.text.strip()
    return line.kind is None and (bool(_LONE_MARKER.match(glyph)) or (glyph == "o" and line.layout is not None))


def _text_beside(glyph: SourceLine, other: SourceLine | None) -> bool:
    """``other`` is text on the glyph's row, at its right."""
    a = glyph.layout
    return (other is not None and a is not None and other.layout is not None and other.page == glyph.page
            and other.kind is None and _overlap(a, other.layout) >= 0.5
            and a.x1 - 1 <= other.layout.x0 <= a.x1 + GLYPH_GAP
            and not _text_marker(other.text) and not _is_lone_marker(other))


def _text_below(glyph: SourceLine, other: SourceLine | None) -> bool:
    """``other`` is the next line, right of the glyph: the item's text set one line lower."""
    if other is None or other.page != glyph.page or other.kind is not None or _text_marker(other.text) \
            or _is_lone_marker(other) or glyph.text.strip() == "o":
        return False
    a, b = glyph.layout, other.layout
    if a is None or b is None:
        return a is None and b is None and not other.blank_before
    return a.x0 < b.x0 <= a.x1 + GLYPH_GAP and 0 <= b.top - a.bottom <= 1.5 * max(a.bottom - a.top, b.bottom - b.top)


def _attach_bullet_glyphs(lines: list[SourceLine]) -> tuple[list[SourceLine], dict[int, float]]:
    """Lines where a bullet is drawn as a glyph of its own (a lone "•", "–", "" line) joined to the item text at its
    right on the same row, or on the next line; and for each such item line, the x where its text begins."""
    merged: list[SourceLine] = []
    text_x: dict[int, float] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        if not _is_lone_marker(line):
            merged.append(line)
            index += 1
            continue
        following = lines[index + 1] if index + 1 < len(lines) else None
        previous = merged[-1] if merged else None
        if _text_beside(line, following) or (not _text_beside(line, previous) and _text_below(line, following)):
            item = _with_marker(line, following)
            merged.append(item)
            index += 2
            if following.layout is not None:
                text_x[id(item)] = following.layout.x0
        elif _text_beside(line, previous):  # the text sorted before its glyph (a glyph set lower than the text)
            merged[-1] = item = _with_marker(line, previous)
            text_x[id(item)] = previous.layout.x0
            index += 1
        else:
            merged.append(line)
            index += 1
    return merged, text_x


@dataclass
class _Typography:
    """What a PDF's layout says about its paragraphs and lists, learned from the document itself."""

    body_gap: float | None = None  # the usual space between two lines of one paragraph
    body_size: float | None = None  # the running text's font size
    hanging: bool = False  # list items wrap under their text, not under their marker
    hang_offset: float | None = None  # how far an item's text stands right of its marker
    paragraph_indent: float | None = None  # first-line indent of a paragraph
    text_x: dict[int, float] = field(default_factory=dict)  # id(item line) -> where a drawn bullet's text begins
    column_lefts: dict[int, list[float]] = field(default_factory=dict)  # page -> left edges of its text columns
    footnotes: set[int] = field(default_factory=set)  # id(line) of footnote lines
    seen_markers: dict[str, int] = field(default_factory=dict)  # while reading: the last place of each marker series

    def column_left(self, line: SourceLine) -> float | None:
        lefts = self.column_lefts.get(line.page or 0, [])
        if line.layout is None or not lefts:
            return None
        index = bisect.bisect_right(lefts, line.layout.x0 + 1) - 1
        return lefts[index] if index >= 0 else None


_COLUMN_MIN_SEPARATION = 60.0  # points: left edges closer than this are indents inside one column
_MARKER_OUTDENT = 30.0  # points: how far left of a column's text edge its bullets may stand


def _learn_typography(lines: list[SourceLine], text_x: dict[int, float], body_size: float | None,
                      page_heights: dict[int, float | None]) -> _Typography:
    typography = _Typography(text_x=text_x, body_size=body_size)
    laid = [line for line in lines if line.layout is not None]
    if not laid:
        return typography
    gaps = [round(b.layout.top - a.layout.bottom, 1) for a, b in pairwise(laid)
            if a.page == b.page and 0 <= b.layout.top - a.layout.bottom < 30]
    typography.body_gap = Counter(gaps).most_common(1)[0][0] if gaps else None

    by_page: dict[int, list[SourceLine]] = {}
    for line in laid:
        by_page.setdefault(line.page or 0, []).append(line)
    for page, page_lines in by_page.items():
        counts = Counter(round(line.layout.x0) for line in page_lines)
        frequent = sorted(x for x, n in counts.items() if n >= 3) or sorted(counts)
        lefts: list[float] = []
        for x in frequent:  # the leftmost frequent edge of each group is its column's left edge
            if not lefts or x - lefts[-1] > _COLUMN_MIN_SEPARATION:
                lefts.append(float(x))
        # A column's few bullets may stand left of its text's edge ("•" outdented into the gutter).
        typography.column_lefts[page] = sorted(
            min((x for x in counts if left - _MARKER_OUTDENT <= x <= left), default=left) for left in lefts)

    hanging = flush = 0
    offsets: Counter[float] = Counter()
    indents: Counter[float] = Counter()
    for a, b, c in zip(laid, laid[1:], [*laid[2:], None], strict=False):
        if a.page != b.page or not _same_column(a.layout, b.layout):
            continue
        if _text_marker(a.text) and not _text_marker(b.text) and 0 <= b.layout.top - a.layout.bottom < 0.8 * (
                a.layout.bottom - a.layout.top):
            if b.layout.x0 > a.layout.x0 + 3:
                hanging += 1
                offsets[round(b.layout.x0 - a.layout.x0)] += 1
            else:
                flush += 1
        elif (c is not None and c.page == b.page and not _text_marker(a.text) and not _text_marker(b.text)
              and _SENTENCE_END.search(a.text) and 4 <= b.layout.x0 - a.layout.x0 <= 40
              and abs(c.layout.x0 - a.layout.x0) < 1):
            indents[round(b.layout.x0 - a.layout.x0)] += 1
    typography.hanging = hanging >= 2 and hanging >= 2 * flush
    if offsets:
        typography.hang_offset = float(offsets.most_common(1)[0][0])
    if indents and indents.most_common(1)[0][1] >= 3:
        typography.paragraph_indent = float(indents.most_common(1)[0][0])
    typography.footnotes = _footnote_lines(laid, body_size, page_heights)
    return typography


FOOTNOTE_ZONE = 0.5  # footnotes sit in the lower half of a page
_NOTE_START = re.compile(r"^(?:\d{1,3}\s|[*†‡¹²³⁴⁵⁶⁷⁸⁹]|(?:kilde|kjelde|note|merknad|source)r?:)", re.I)


def _footnote_lines(lines: list[SourceLine], body_size: float | None, page_heights: dict[int, float | None]
                    ) -> set[int]:
    """Footnotes and source notes ("1 …", "* …", "Kilde: …"): lines set smaller than the body text in the lower half
    of a page, with nothing but such lines after them down to their column's end, the first of them opening with a
    note's number or word. A box or caption set small (a bold title, no note number) is not one."""
    if body_size is None:
        return set()
    found: set[int] = set()
    run: list[SourceLine] = []  # the current run of small lines at the end of a column

    def small(line: SourceLine) -> bool:
        height = page_heights.get(line.page or 0)
        return (line.layout.font_size <= body_size - 1.0 and height is not None
                and line.layout.top >= FOOTNOTE_ZONE * height)

    for line, following in zip(lines, [*lines[1:], None], strict=True):
        if not small(line):
            run = []
            continue
        run.append(line)
        ends_column = (following is None or following.page != line.page
                       or following.layout.top < line.layout.top - 1)  # the next line starts a new column
        if ends_column and not (following is not None and following.page == line.page and small(following)
                                and following.layout.top >= line.layout.top):
            if _NOTE_START.match(run[0].text.lstrip()) and not any(item.layout.bold for item in run):
                found.update(id(item) for item in run)
            run = []
    return found


def _same_column(a: LineLayout, b: LineLayout) -> bool:
    """``b`` follows ``a`` down the same column (not at the top of the next one)."""
    return not (b.top < a.top - 1 and b.x0 >= a.x1)


def _starts_entry(text: str) -> bool:
    """A contents or table line: a title, a leader of dots, and only its page (or figures) after the leader."""
    last = None
    for match in _LEADER.finditer(text):
        last = match
    return last is not None and last.start() > 0 and bool(_LEADER_TAIL.fullmatch(text, last.end()))


def is_contents_line(text: str) -> bool:
    """A table-of-contents entry ("1.2 Tittel . . . . 12", "Innledning s. 3") or a row set with a leader: never the
    header of a table's columns."""
    return _starts_entry(text) or bool(_PAGE_REFERENCE.search(text.rstrip()))


def _reads_on(previous: SourceLine, line: SourceLine) -> bool:
    """Across a page or column break: the line continues the sentence of the line before."""
    return not _SENTENCE_END.search(previous.text.rstrip()) and line.text.lstrip()[:1].islower()


def _marker_unit(unit: _Unit) -> bool:
    return unit.first.kind is None and bool(_text_marker(unit.first.text.lstrip()))


def _hang_offset(unit: _Unit, typography: _Typography) -> float | None:
    """How far the unit's (an item's) wrapped lines stand right of its marker."""
    first = unit.first
    if first.layout is None:
        return None
    if id(first) in typography.text_x:
        return typography.text_x[id(first)] - first.layout.x0
    for line in unit.lines[1:]:
        if line.layout and line.page == first.page and _same_column(first.layout, line.layout):
            return line.layout.x0 - first.layout.x0
    return typography.hang_offset


def _marker_value(marker: str) -> tuple[str, int] | None:
    """A numbered or lettered marker's series and place in it: "3." → ("1.", 3), "c)" → ("a)", 3); else None."""
    core, closing = marker.strip("("), marker[-1]
    core = core.rstrip(".)")
    if core.isdigit():
        return ("(1)" if marker.startswith("(") else f"1{closing}"), int(core)
    if len(core) == 1 and core.isalpha():
        return ("(a)" if marker.startswith("(") else f"a{closing}"), ord(core) - ord("a") + 1
    return None


def _number_in_text(previous: SourceLine, line: SourceLine, typography: _Typography) -> bool:
    """A number or letter that a wrapped sentence put at the start of a line ("1. juli 2026", "… bokstav" ⏎ "c. …"),
    not an item: a date or ordinal, after a reference word, or out of the sequence of the items before it."""
    text = line.text.lstrip()
    match = _text_marker(text)
    value = _marker_value(match.group("marker")) if match else None
    if value is None:  # bullets and dashes always open an item
        return False
    if _ORDINAL_IN_TEXT.match(text) or _REFERENCE_END.search(previous.text.rstrip()):
        return True
    series, place = value
    return place != 1 and typography.seen_markers.get(series) != place - 1


def _offset(line: SourceLine, typography: _Typography) -> float:
    """How far right of its column's left edge a line starts (plain text: its leading spaces)."""
    if line.layout is None:
        return _indent_of(line)
    left = typography.column_left(line)
    return line.layout.x0 - (left if left is not None else 0.0)


def _dash_in_sentence(units: list[_Unit], line: SourceLine, typography: _Typography) -> bool:
    """The last unit is one line opening with a dash and a lower-case word, between a paragraph line that reads on
    and ``line``, which goes on at the column's edge: in a document whose items hang, a dash in a sentence."""
    if len(units) < 2 or not typography.hanging:
        return False
    unit, before = units[-1], units[-2]
    match = _text_marker(unit.first.text.lstrip())
    if len(unit.lines) != 1 or match is None or match.group("marker") not in DASHES or before.footnote \
            or _marker_unit(before) or before.first.kind is not None or unit.first.layout is None:
        return False
    rest = unit.first.text.lstrip()[match.end():]
    last = before.lines[-1]
    return (rest[:1].islower() and last.layout is not None and last.page == unit.first.page
            and not _SENTENCE_END.search(last.text.rstrip()) and not _text_marker(line.text.lstrip())
            and line.layout is not None and line.page == unit.first.page
            and _same_column(unit.first.layout, line.layout)
            and abs(_offset(line, typography) - _offset(unit.first, typography)) <= 2
            and _offset(last, typography) >= _offset(unit.first, typography) - 2)


def _hanging_item(unit: _Unit, typography: _Typography) -> bool:
    """The unit is a list item whose wrapped lines stand right of its marker (a hanging indent). An item whose marker
    stands at a paragraph's first-line indent and whose text wraps back to the column's edge ("(4) Departementet …",
    a numbered legal paragraph) is read as a paragraph is."""
    if not _marker_unit(unit) or unit.first.layout is None:
        return False
    marker_x = unit.first.layout.x0
    for line in unit.lines[1:]:
        if line.layout and line.page == unit.first.page and _same_column(unit.first.layout, line.layout):
            return line.layout.x0 > marker_x + 2
    if id(unit.first) in typography.text_x:
        return True
    left = typography.column_left(unit.first)
    return left is None or marker_x - left <= 2


def _starts_new_unit(unit: _Unit, line: SourceLine, typography: _Typography) -> bool:
    previous = unit.lines[-1]
    if line.kind is not None or previous.kind is not None or line.blank_before:
        return True
    if _starts_entry(previous.text) and (previous.layout is None or line.layout is None
                                         or not line.layout.x0 > previous.layout.x0 + 1):
        return True  # one contents entry per line (a wrapped entry's second line is indented)
    if _text_marker(line.text.lstrip()):
        # "1. juli 2026" wrapped to the start of a line inside a sentence is not a numbered item.
        return bool(_SENTENCE_END.search(previous.text.rstrip())) or not _number_in_text(previous, line, typography)
    a, b = previous.layout, line.layout
    in_item = typography.hanging and _hanging_item(unit, typography)
    if line.page != previous.page or (a is not None and b is not None and not _same_column(a, b)):
        # A paragraph or item may run on over a page or column break, when the text reads on. An item of a list
        # set with hanging indents runs on at its text's indent, and ends at a line at its column's left edge.
        if a is not None and b is not None and (abs(a.font_size - b.font_size) > 0.5 or a.bold != b.bold):
            return True
        if in_item and b is not None and (left := typography.column_left(line)) is not None:
            hang = _hang_offset(unit, typography)
            if b.x0 - left <= 2:
                return True
            if hang is not None and abs(b.x0 - left - hang) <= 2:  # at the item's indent: it goes on unless a
                # sentence ended and a new one opens (a paragraph indented as much as the items' text)
                return bool(_SENTENCE_END.search(previous.text.rstrip())) and not line.text.lstrip()[:1].islower()
        return not _reads_on(previous, line)
    if a is None or b is None:
        return False
    if abs(a.font_size - b.font_size) > 0.5 or a.bold != b.bold:
        return True
    if typography.body_size and b.font_size <= typography.body_size - 1.0 and _starts_footnote(line):
        return True  # notes under a table or at the foot of a page: "1 …", "2 …", one block each
    gap = b.top - a.bottom
    body_gap = typography.body_gap
    if gap > (body_gap if body_gap is not None else 0.0) + 0.45 * max(a.bottom - a.top, 1.0):
        return True
    if in_item:  # back at the marker's edge (or left of it): the item has ended
        return _offset(line, typography) <= _offset(unit.first, typography) + 2
    indent = typography.paragraph_indent
    if indent is not None and not _marker_unit(unit) and _SENTENCE_END.search(previous.text.rstrip()) \
            and _opens_sentence(line.text):
        left = typography.column_left(line)
        if abs(b.x0 - a.x0 - indent) <= 1.5:
            return True  # a first-line indent: a new paragraph
        if len(unit.lines) == 1 and left is not None and abs(a.x0 - left - indent) <= 1.5 and abs(b.x0 - a.x0) < 1:
            return True  # after a one-line paragraph, itself indented
    return False


def _opens_sentence(text: str) -> bool:
    first = text.lstrip()[:1]
    return first.isupper() or first.isdigit() or first in "«\"“(§"


def _units(lines: list[SourceLine], typography: _Typography) -> list[_Unit]:
    units: list[_Unit] = []
    deferred: list[_Unit] = []  # footnotes between a paragraph and its continuation on the next page or column

    def open_unit(new_lines: list[SourceLine], footnote: bool = False) -> None:
        if not footnote and deferred:
            units.extend(deferred)
            deferred.clear()
        units.append(_Unit(new_lines, indent=_offset(new_lines[0], typography), footnote=footnote))
        if (match := _text_marker(new_lines[0].text.lstrip())) and (value := _marker_value(match.group("marker"))):
            typography.seen_markers[value[0]] = value[1]

    for line in lines:
        if id(line) in typography.footnotes:
            last = units[-1] if units else None
            if last is not None and last.footnote and line.page == last.lines[-1].page \
                    and not _starts_footnote(line) and not _starts_new_unit(last, line, typography):
                last.lines.append(line)
            else:
                open_unit([line], footnote=True)
            continue
        if units and units[-1].footnote:
            body = next((k for k in range(len(units) - 1, -1, -1) if not units[k].footnote), None)
            if body is not None and not _starts_new_unit(units[body], line, typography):
                deferred.extend(units[body + 1:])  # read on past the footnotes; they follow the paragraph
                del units[body + 1:]
                units[body].lines.append(line)
            else:
                open_unit([line])
            continue
        if not units:
            open_unit([line])
            continue
        unit = units[-1]
        if not _starts_new_unit(unit, line, typography):
            unit.lines.append(line)
            continue
        if _dash_in_sentence(units, line, typography):
            # "… i samfunnet ⏎ – både til … ⏎ Det …": a dash the sentence wrapped to a line's start, not an item.
            units.pop()
            units[-1].lines.extend([*unit.lines, line])
            continue
        # An item of a hanging-indent list ended at the column's edge: when the line before was the indented first
        # line of the paragraph that follows the list (its indent is the items' indent too), it opens that paragraph.
        carried = []
        last = unit.lines[-1]
        if (typography.hanging and _hanging_item(unit, typography) and len(unit.lines) >= 3
                and typography.paragraph_indent and line.layout and last.layout and last.page == line.page
                and not _text_marker(line.text.lstrip())
                and _same_column(last.layout, line.layout)
                and _offset(line, typography) <= _offset(unit.first, typography) + 2
                and abs(last.layout.x0 - line.layout.x0 - typography.paragraph_indent) <= 1.5
                and _opens_sentence(last.text) and _SENTENCE_END.search(unit.lines[-2].text.rstrip())):
            carried = [unit.lines.pop()]
        open_unit([*carried, line])
    units.extend(deferred)
    return _split_contents(units)


def _split_contents(units: list[_Unit]) -> list[_Unit]:
    """A table of contents without leaders ("Innledning s. 3" on each line) may be read as one paragraph: each line
    ending in a page reference becomes an entry of its own, when there are several of them."""
    result: list[_Unit] = []
    for unit in units:
        if len(unit.lines) >= CONTENTS_MIN_ENTRIES and all(
                _PAGE_REFERENCE.search(line.text.rstrip()) for line in unit.lines):
            result.extend(_Unit([line], indent=_indent_of(line), contents=True) for line in unit.lines)
        else:
            result.append(unit)
    return result


_FOOTNOTE_START = re.compile(r"^(?:\d{1,3}|[*†‡])\s")


def _starts_footnote(line: SourceLine) -> bool:
    return bool(_FOOTNOTE_START.match(line.text.lstrip()))


# Joining a line reads and changes only the end of the text before it (the word a hyphen breaks), so only this
# much of the unit's text is kept open: rebuilding the whole text at every line made long paragraphs quadratic.
_OPEN_TAIL = 2 * WORD_MAX_CHARS + 2


def _join_unit(unit: _Unit, vocabulary: Counter[str]) -> tuple[str, list[tuple[SourceLine, int]]]:
    """The unit's text, and for each of its lines where that line's text starts in it."""
    pieces: list[tuple[SourceLine, int]] = []
    done: list[str] = []
    done_length = 0
    tail = ""
    for line in unit.lines:
        part = line.text.strip()
        tail = join_wrapped(tail, part, vocabulary)
        pieces.append((line, done_length + len(tail) - len(part)))
        if len(tail) > _OPEN_TAIL:
            done.append(tail[:-_OPEN_TAIL])
            done_length += len(tail) - _OPEN_TAIL
            tail = tail[-_OPEN_TAIL:]
    done.append(tail)
    return "".join(done), pieces


def _body_font_size(lines: list[SourceLine]) -> float | None:
    sizes = [line.layout.font_size for line in lines if line.layout]
    return Counter(sizes).most_common(1)[0][0] if sizes else None


def _looks_like_heading(text: str, lines: int) -> bool:
    return (
        lines <= 2
        and len(text) <= HEADING_MAX_CHARS
        and len(text.split()) <= HEADING_MAX_WORDS
        and not _SENTENCE_END.search(text)
        and not text.endswith(",")
        and (text[:1].isupper() or text[:1].isdigit())
    )


def _bulleted(text: str) -> bool:
    """The text opens with a bullet or a dash: a list item, even with a leader in it (a contents entry is numbered
    or plain)."""
    match = _text_marker(text)
    return match is not None and _marker_style(match.group("marker")) in ("bullet", "dash")


def _contents_entries(units: list[_Unit], texts: list[str]) -> set[int]:
    """Indexes of table-of-contents entries (or table rows set with leaders): "1.2 Tittel . . . . 12", or one of
    several lines in a row that end in a page reference ("Innledning s. 3")."""
    found = {i for i, (unit, text) in enumerate(zip(units, texts, strict=True))
             if unit.first.kind is None and (unit.contents or (_starts_entry(text) and not _bulleted(text)))}
    run: list[int] = []
    for index, (unit, text) in enumerate([*zip(units, texts, strict=True), (None, "")]):
        if unit is not None and unit.first.kind is None and len(text) <= HEADING_MAX_CHARS \
                and _PAGE_REFERENCE.search(text):
            run.append(index)
            continue
        if len(run) >= CONTENTS_MIN_ENTRIES:
            found.update(run)
        run = []
    return found


def _classify(units: list[_Unit], texts: list[str], source: SourceDocument) -> None:
    body_size = _body_font_size([line for unit in units for line in unit.lines])
    heading_sizes: Counter[float] = Counter()
    contents = _contents_entries(units, texts)
    for index, (unit, text) in enumerate(zip(units, texts, strict=True)):
        line = unit.first
        if line.kind == LineKind.HEADING:
            unit.kind, unit.level = BlockKind.HEADING, line.level
        elif line.kind == LineKind.TABLE_ROW:
            unit.kind = BlockKind.TABLE
        elif line.kind == LineKind.LIST_ITEM:
            unit.kind, unit.level, unit.marker, unit.list_key = BlockKind.LIST_ITEM, line.level or 1, line.marker, \
                line.list_key
        elif unit.footnote:
            unit.kind = BlockKind.PARAGRAPH  # a footnote is never a heading or a list item, whatever it starts with
        elif index in contents:
            unit.kind, unit.contents = BlockKind.TABLE, True  # kept out of lists, headings and running text
        elif match := _text_marker(text):
            unit.kind, unit.marker, unit.marker_in_text = BlockKind.LIST_ITEM, match.group("marker"), True
        elif len(_LETTERS.findall(text[:HEADING_MAX_CHARS])) < 2:
            unit.kind = BlockKind.PARAGRAPH  # a lone glyph, a page or a year number is never a heading
        elif line.layout is not None and body_size is not None:
            size = statistics.median(item.layout.font_size for item in unit.lines if item.layout)
            larger = size >= body_size + 1.0 and len(text) <= 250 and not (
                _INNER_SENTENCE.search(text) and _SENTENCE_END.search(text))
            bold = all(item.layout and item.layout.bold for item in unit.lines) and _looks_like_heading(
                text, len(unit.lines))  # a box's title may be set smaller than the body
            if larger or bold:
                unit.kind = BlockKind.HEADING
                heading_sizes[size] += 1
                unit.level = -size  # ranked below
            else:
                unit.kind = BlockKind.PARAGRAPH
        elif line.kind is None and len(unit.lines) == 1 and _looks_like_heading(text, 1):
            unit.kind = BlockKind.HEADING
            numbered = _NUMBERED_HEADING.match(text)
            unit.level = numbered.group(1).count(".") + 2 if numbered else 2
        else:
            unit.kind = BlockKind.PARAGRAPH
    if heading_sizes:  # PDF: rank heading sizes, largest = 1; bold body-size headings come last
        ranks = _heading_ranks(heading_sizes)
        for unit in units:
            if unit.kind == BlockKind.HEADING and unit.level is not None and unit.level < 0:
                unit.level = ranks[-unit.level]
    _first_heading_is_title(units)
    _resolve_dash_lists(units, texts)
    _resolve_unmarked_lists(units, texts)


HEADING_LEVEL_SHARE = 0.05  # a heading size used this often (of all headings) is a level of the document's outline


def _heading_ranks(sizes: Counter[float]) -> dict[float, int]:
    """Heading level by font size. The sizes the document's outline uses often are its levels, largest first; a size
    used only once or twice (a cover, a title page, a box) takes the level of the nearest outline size above it,
    so a cover's five type sizes do not push the chapters down to level 7."""
    threshold = max(2, HEADING_LEVEL_SHARE * sum(sizes.values()))
    outline = sorted((size for size, count in sizes.items() if count >= threshold), reverse=True)
    if not outline:
        return {size: rank for rank, size in enumerate(sorted(sizes, reverse=True), start=1)}
    ranks = {}
    for size in sizes:
        above = [rank for rank, level in enumerate(outline, start=1) if level >= size]
        ranks[size] = above[-1] if above else 1  # larger than every outline size: a title
    return ranks


def _first_heading_is_title(units: list[_Unit]) -> None:
    """In plain text every inferred heading is level 2; the document's first line, when a heading, is its title."""
    first = units[0] if units else None
    if first and first.kind == BlockKind.HEADING and first.first.kind is None and first.first.layout is None:
        first.level = 1


def _resolve_dash_lists(units: list[_Unit], texts: list[str]) -> None:
    """A dash opens a list item, or, in news, a quote ("– Vi skal bygge …, sier statsråden"). Runs of dash
    paragraphs are lists when introduced by a colon line or written in lower case; otherwise when none of them
    reads as speech and they follow a heading or are several."""
    index = 0
    while index < len(units):
        if not (units[index].marker_in_text and units[index].marker in DASHES):
            index += 1
            continue
        end = index
        while end < len(units) and units[end].marker_in_text and units[end].marker in DASHES:
            end += 1
        run = range(index, end)
        before = units[index - 1] if index else None
        after_colon = before is not None and texts[index - 1].endswith(":")
        after_heading = before is not None and before.kind == BlockKind.HEADING
        lowercase = any(texts[i][1:].lstrip()[:1].islower() for i in run)
        speech = any(_SPEECH.search(texts[i]) for i in run)
        if not (after_colon or lowercase or (not speech and (after_heading or len(run) >= 2))):
            for i in run:
                units[i].kind, units[i].marker, units[i].marker_in_text = BlockKind.PARAGRAPH, None, False
        index = end


# An unmarked list item: one short sentence or fragment (news sites set "Dei vil innføre:" items as paragraphs).
UNMARKED_ITEM_MAX_CHARS = 220
_INNER_SENTENCE = re.compile(r"[.!?]\s+[A-ZÆØÅ]")


def _resolve_unmarked_lists(units: list[_Unit], texts: list[str]) -> None:
    """After a paragraph ending with ":", a run of two or more short one-sentence paragraphs or fragments is a list
    without markers, up to the first unit that is not one: longer, several sentences, a quote, a marked heading,
    or a new intro."""
    for index, unit in enumerate(units):
        if unit.kind != BlockKind.PARAGRAPH or not texts[index].endswith(":"):
            continue
        run = []
        for follower in range(index + 1, len(units)):
            candidate, text = units[follower], texts[follower]
            inferred = candidate.kind == BlockKind.PARAGRAPH or (
                candidate.kind == BlockKind.HEADING and candidate.first.kind is None and candidate.first.layout is None)
            if (not inferred or len(text) > UNMARKED_ITEM_MAX_CHARS or _INNER_SENTENCE.search(text)
                    or text[:1] in DASHES or text[:1] in "«\"" or text.endswith(":") or _SPEECH.search(text)
                    or len(_LETTERS.findall(text)) < 2):  # a lone glyph or number is no item
                break
            run.append(follower)
        if len(run) >= 2:
            for follower in run:
                units[follower].kind, units[follower].level, units[follower].marker = BlockKind.LIST_ITEM, 1, None


def _marker_style(marker: str | None) -> str:
    if not marker:
        return "none"
    core = marker.strip("().")
    if core.isdigit():
        return "decimal"
    if marker[0] in BULLETS or marker == "o":
        return "bullet"
    if marker[0] in DASHES:
        return "dash"
    return "letter"


def _assign_lists(units: list[_Unit], ids: list[str]) -> dict[int, tuple[str, str | None, int]]:
    """list id, intro block id and nesting level for every list-item unit."""
    assigned: dict[int, tuple[str, str | None, int]] = {}
    count = 0
    open_lists: list[dict] = []  # by level: id, style, indent, key, last item index
    for index, unit in enumerate(units):
        if unit.kind != BlockKind.LIST_ITEM:
            if not unit.footnote:  # a footnote at the foot of a page does not end the list running over the page
                open_lists = []
            continue
        style = _marker_style(unit.marker)
        if unit.first.kind == LineKind.LIST_ITEM:  # the source gives the level
            level = unit.level or 1
        elif not open_lists:
            level = 1
        else:
            level = len(open_lists)
            while level > 1 and unit.indent < open_lists[level - 1]["indent"] - 2:
                level -= 1
            top = open_lists[level - 1]
            if unit.indent > top["indent"] + 2 or (style != top["style"] and unit.indent > top["indent"]):
                level += 1
        del open_lists[level:]
        current = open_lists[level - 1] if len(open_lists) >= level else None
        restarted = style == "decimal" and (unit.marker or "").strip("().") == "1" and current is not None
        if current is None or current["key"] != unit.list_key or restarted or (
                style != current["style"] and unit.first.kind != LineKind.LIST_ITEM):
            count += 1
            if level == 1:
                before = index - 1
                while before >= 0 and units[before].footnote:
                    before -= 1
                intro = ids[before] if before >= 0 and before not in assigned else None
            else:
                parent = open_lists[level - 2] if len(open_lists) >= level - 1 else None
                intro = ids[parent["last"]] if parent else None
            current = {"id": f"l{count}", "style": style, "indent": unit.indent, "key": unit.list_key,
                       "intro": intro}
            del open_lists[level - 1:]
            while len(open_lists) < level - 1:  # a nested item without a parent item: treat it as top level
                level -= 1
            open_lists.append(current)
        current["last"] = index
        assigned[index] = (current["id"], current["intro"], level)
    return assigned


def build_structure(source: SourceDocument) -> StructuredDocument:
    lines, removed = _prepare_lines(source)
    lines, text_x = _attach_bullet_glyphs(lines)
    heights = {page.number: page.height for page in source.pages}
    typography = _learn_typography(lines, text_x, _body_font_size(lines), heights)
    units = _units(lines, typography)
    vocabulary = document_vocabulary(line.text for line in lines)
    joined = [_join_unit(unit, vocabulary) for unit in units]
    texts = [text for text, _pieces in joined]
    _classify(units, texts, source)
    ids = [f"b{i + 1}" for i in range(len(units))]
    lists = _assign_lists(units, ids)

    line_index = {id(line): i for i, line in enumerate(lines)}
    parts: list[str] = []
    blocks: list[Block] = []
    origin: list[Segment] = []
    cursor = 0
    for index, (unit, (text, pieces)) in enumerate(zip(units, joined, strict=True)):
        if parts:
            parts.append(BLOCK_SEPARATOR)
            cursor += len(BLOCK_SEPARATOR)
        prefix = ""
        if unit.kind == BlockKind.LIST_ITEM and unit.marker and not unit.marker_in_text:
            prefix = f"{unit.marker} "  # a marker the source kept apart is shown in the text, outside the span
        block_start = cursor + len(prefix)
        if unit.marker_in_text:
            block_start += _text_marker(text).end()
        full = prefix + text
        parts.append(full)
        for n, (line, offset) in enumerate(pieces):
            seg_start = cursor + len(prefix) + offset if n else cursor
            seg_end = cursor + len(prefix) + (pieces[n + 1][1] if n + 1 < len(pieces) else len(text))
            origin.append(Segment(seg_start, seg_end, line.page, line_index[id(line)]))
        block_end = cursor + len(full)
        cursor = block_end
        list_id, intro, level = lists.get(index, (None, None, unit.level))
        first_page = unit.first.page
        last_page = unit.lines[-1].page
        blocks.append(Block(
            id=ids[index], kind=unit.kind, start=block_start, end=block_end, page=first_page,
            page_end=last_page if last_page != first_page else None, level=level,
            list_id=list_id, marker=unit.marker if unit.kind == BlockKind.LIST_ITEM else None, intro_block=intro,
        ))
    warnings = []
    if removed:
        warnings.append(f"removed {len(removed)} page header, footer and page-number lines")
    return StructuredDocument(text="".join(parts), blocks=blocks, origin=origin, removed=removed, warnings=warnings)

