"""Structure: a SourceDocument becomes normalised text cut into blocks (headings, paragraphs, list items, tables).

Every block has char offsets into the normalised text and its page; the text is the blocks' texts joined by
blank lines, and ``origin`` maps every stretch of it back to its source line and page. Lists get an id and the
block right before them as their intro ("vil regjeringen:"), which is what the measure extractor reads.

What the source knows is used first (HTML and DOCX say what a line is; PDFs give font size, weight and
position); what it does not say is inferred from the text (markers, short unpunctuated lines as headings).
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

from pipeline.normalise import (
    WORD_MAX_CHARS,
    RemovedLine,
    document_vocabulary,
    join_wrapped,
    normalise_line,
    remove_page_furniture,
)
from pipeline.schema import Block, BlockKind
from pipeline.source import LineKind, SourceDocument, SourceLine

BLOCK_SEPARATOR = "\n\n"

# A list marker typed into the text: bullets, dashes, "1." "1)" "a)" "(1)" "(a)" "iv.".
LIST_MARKER = re.compile(
    r"^(?P<marker>[•●▪◦·‣○■□►▸➢✓✔*]|[-–—](?=\s)|\d{1,3}[.)](?![\d])|[a-zæøå][.)]|\(\d{1,3}\)|\([a-zæøå]\)|"
    r"(?:ii|iii|iv|v|vi|vii|viii|ix|x)[.)])\s+(?=\S)"
)
DASHES = frozenset("-–—")
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


def _starts_new_unit(previous: SourceLine, line: SourceLine, body_gap: float | None) -> bool:
    if line.kind is not None or previous.kind is not None or line.blank_before:
        return True
    if _text_marker(line.text.lstrip()):
        return True
    a, b = previous.layout, line.layout
    next_column = a is not None and b is not None and b.top < a.top - 1 and b.x0 >= a.x1
    if line.page != previous.page or next_column:
        # A paragraph may run on over a page or column break, when the text reads on.
        return bool(_SENTENCE_END.search(previous.text.rstrip())) or not line.text.lstrip()[:1].islower()
    if a is None or b is None:
        return False
    if abs(a.font_size - b.font_size) > 0.5 or a.bold != b.bold:
        return True
    gap = b.top - a.bottom
    return gap > (body_gap if body_gap is not None else 0.0) + 0.45 * max(a.bottom - a.top, 1.0)


def _body_gap(lines: list[SourceLine]) -> float | None:
    """The usual space between two lines of one paragraph in a PDF."""
    gaps = [round(b.layout.top - a.layout.bottom, 1) for a, b in pairwise(lines)
            if a.layout and b.layout and a.page == b.page and 0 <= b.layout.top - a.layout.bottom < 30]
    return Counter(gaps).most_common(1)[0][0] if gaps else None


def _units(lines: list[SourceLine]) -> list[_Unit]:
    units: list[_Unit] = []
    body_gap = _body_gap(lines)
    for line in lines:
        if units and not _starts_new_unit(units[-1].lines[-1], line, body_gap):
            units[-1].lines.append(line)
        else:
            units.append(_Unit([line], indent=_indent_of(line)))
    return units


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


def _classify(units: list[_Unit], texts: list[str], source: SourceDocument) -> None:
    body_size = _body_font_size([line for unit in units for line in unit.lines])
    heading_sizes: set[float] = set()
    for unit, text in zip(units, texts, strict=True):
        line = unit.first
        if line.kind == LineKind.HEADING:
            unit.kind, unit.level = BlockKind.HEADING, line.level
        elif line.kind == LineKind.TABLE_ROW:
            unit.kind = BlockKind.TABLE
        elif line.kind == LineKind.LIST_ITEM:
            unit.kind, unit.level, unit.marker, unit.list_key = BlockKind.LIST_ITEM, line.level or 1, line.marker, \
                line.list_key
        elif match := _text_marker(text):
            unit.kind, unit.marker, unit.marker_in_text = BlockKind.LIST_ITEM, match.group("marker"), True
        elif line.layout is not None and body_size is not None:
            size = statistics.median(item.layout.font_size for item in unit.lines if item.layout)
            larger = size >= body_size + 1.0 and len(text) <= 250
            bold = all(item.layout and item.layout.bold for item in unit.lines) and _looks_like_heading(
                text, len(unit.lines))
            if larger or bold:
                unit.kind = BlockKind.HEADING
                heading_sizes.add(size)
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
        ranks = {size: rank for rank, size in enumerate(sorted(heading_sizes, reverse=True), start=1)}
        for unit in units:
            if unit.kind == BlockKind.HEADING and unit.level is not None and unit.level < 0:
                unit.level = ranks[-unit.level]
    _first_heading_is_title(units)
    _resolve_dash_lists(units, texts)
    _resolve_unmarked_lists(units, texts)


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
                    or text[:1] in DASHES or text[:1] in "«\"" or text.endswith(":") or _SPEECH.search(text)):
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
    if marker[0] in "•●▪◦·‣○■□►▸➢✓✔*":
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
                intro = ids[index - 1] if index > 0 and index - 1 not in assigned else None
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
    units = _units(lines)
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

