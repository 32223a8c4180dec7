"""A PDF page's printed lines in reading order, from its characters (pdfplumber's ``page.chars``).

* **Lines with their subscripts and superscripts.** Characters are grouped into rows by their top edge; a row of
  smaller characters whose height mostly overlaps a row of larger ones, right beside its characters, belongs to
  that row ("CO" + a lowered "2" = "CO2", "m" + a raised "3"). A raised digit becomes a Unicode superscript
  digit ("m³", and a footnote reference "avgiften¹", told from the word it follows); a lowered one stays a plain
  digit ("CO2", "SF6"), as it is written in running text.
* **Regions.** A page is cut into horizontal bands at the rows that cross the column gutter: each band of two
  columns is read left column then right column, and full-width rows (a title, a table, a figure caption, a
  running header or footer) are read where they stand. Several bands of columns on one page (two columns, a
  full-width table, two columns again) are read band by band, so a table between them does not interleave the
  columns line by line.
* **Footnotes.** Trailing lines of a column set smaller than the page's body text are moved after the running
  text of the page (before a full-width footer band), as lines of their own.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections import Counter
from dataclasses import dataclass, field

# Rows: characters whose tops are at most this many points apart (chained) are one printed row, as pdfplumber's
# default y tolerance.
ROW_TOLERANCE = 3.0
# Words: a gap wider than this many points between two characters of a row is a space (pdfplumber's default).
WORD_GAP = 3.0
# A script character is at most this share of its host row's font size, its height overlaps the host row by at
# least SCRIPT_OVERLAP of its own height, and it stands at most SCRIPT_REACH × the host size beside a host char.
SCRIPT_SIZE_RATIO = 0.9
SCRIPT_OVERLAP = 0.5
SCRIPT_REACH = 0.5
SUPERSCRIPT_DIGITS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# Footnotes: at most this share of the body text's size, in the lower half of the page.
FOOTNOTE_SIZE_RATIO = 0.92


@dataclass
class Row:
    chars: list[dict]
    top: float
    bottom: float
    size: float
    raised: set[int] = field(default_factory=set)  # ids of superscript chars

    def x_sorted(self) -> list[dict]:
        return sorted(self.chars, key=lambda c: c["x0"])


def _median_size(chars: list[dict]) -> float:
    sizes = [float(c.get("size", 0)) for c in chars if not c["text"].isspace()]
    return statistics.median(sizes) if sizes else 0.0


def _new_row(chars: list[dict]) -> Row:
    return Row(chars, min(c["top"] for c in chars), max(c["bottom"] for c in chars), _median_size(chars))


def cluster_rows(chars: list[dict]) -> list[Row]:
    """Characters in rows by their top edge (chained within ROW_TOLERANCE), top to bottom."""
    rows: list[list[dict]] = []
    last_top = None
    for char in sorted(chars, key=lambda c: c["top"]):
        if last_top is None or char["top"] - last_top > ROW_TOLERANCE:
            rows.append([])
        rows[-1].append(char)
        last_top = char["top"]
    return [_new_row(row) for row in rows]


def _host_for(char: dict, candidates: list[Row], xs: dict[int, list[float]]) -> Row | None:
    """The row of larger text that ``char`` (a smaller character) is a subscript or superscript of, or None."""
    height = max(char["bottom"] - char["top"], 0.1)
    size = float(char.get("size", 0))
    for row in candidates:
        if size > SCRIPT_SIZE_RATIO * row.size:
            continue
        overlap = min(char["bottom"], row.bottom) - max(char["top"], row.top)
        if overlap < SCRIPT_OVERLAP * height:
            continue
        edges = xs[id(row)]  # sorted x0 and x1 of the row's characters, interleaved as pairs
        reach = SCRIPT_REACH * row.size
        index = bisect.bisect_left(edges, char["x0"] - reach)
        if index < len(edges) and edges[index] <= char["x1"] + reach:
            return row
    return None


def merge_scripts(rows: list[Row]) -> list[Row]:
    """Subscript and superscript characters moved into the row of the text they belong to."""
    if len(rows) < 2:
        return rows
    xs = {id(row): sorted(x for c in row.chars if not c["text"].isspace() for x in (c["x0"], c["x1"]))
          for row in rows}
    moved: set[int] = set()
    for index, row in enumerate(rows):
        neighbours = [rows[j] for j in (index - 1, index + 1, index - 2, index + 2) if 0 <= j < len(rows)]
        neighbours = [n for n in neighbours if n.size >= row.size / SCRIPT_SIZE_RATIO and id(n) not in moved]
        if not neighbours:
            continue
        hosts = [_host_for(c, neighbours, xs) if not c["text"].isspace() else None for c in row.chars]
        printed = [h for c, h in zip(row.chars, hosts, strict=True) if not c["text"].isspace()]
        if not printed or any(h is None for h in printed):
            continue  # a row of small text of its own (a footnote, a caption): not scripts
        for char, host in zip(row.chars, hosts, strict=True):
            if host is None:
                continue
            host.chars.append(char)
            host_middle = (host.top + host.bottom) / 2
            if (char["top"] + char["bottom"]) / 2 < host_middle - 0.15 * (host.bottom - host.top):
                host.raised.add(id(char))
        moved.add(id(row))
    return [row for row in rows if id(row) not in moved]


def mark_raised(row: Row) -> None:
    """Smaller characters set above the middle of the row's own text (a footnote reference clustered with its
    word, an exponent) are superscripts."""
    body = [c for c in row.chars if not c["text"].isspace() and float(c.get("size", 0)) > SCRIPT_SIZE_RATIO * row.size]
    if not body:
        return
    top, bottom = min(c["top"] for c in body), max(c["bottom"] for c in body)
    middle, height = (top + bottom) / 2, bottom - top
    for char in row.chars:
        if char["text"].isspace() or float(char.get("size", 0)) > SCRIPT_SIZE_RATIO * row.size:
            continue
        if (char["top"] + char["bottom"]) / 2 < middle - 0.15 * height:
            row.raised.add(id(char))


def row_text(row: Row) -> tuple[str, list[dict]]:
    """The row's text, words parted by spaces where the characters leave a gap or print a space."""
    parts: list[str] = []
    printed: list[dict] = []
    last_x1 = None
    pending_space = False
    for char in row.x_sorted():
        text = char["text"]
        if text.isspace():
            pending_space = last_x1 is not None
            continue
        if last_x1 is not None and (pending_space or char["x0"] - last_x1 > WORD_GAP):
            parts.append(" ")
        if id(char) in row.raised:
            text = text.translate(SUPERSCRIPT_DIGITS)
        parts.append(text)
        printed.append(char)
        last_x1 = max(char["x1"], last_x1 or char["x1"])
        pending_space = False
    return "".join(parts), printed


def build_lines(chars: list[dict]) -> list[dict]:
    """The printed lines of a set of characters, top to bottom: dicts with text, x0, x1, top, bottom, chars."""
    lines = []
    for row in merge_scripts(cluster_rows(chars)):
        mark_raised(row)
        text, printed = row_text(row)
        if not text.strip():
            continue
        main = [c for c in printed if id(c) not in row.raised] or printed
        lines.append({"text": text, "x0": min(c["x0"] for c in printed), "x1": max(c["x1"] for c in printed),
                      "top": min(c["top"] for c in main), "bottom": max(c["bottom"] for c in main),
                      "chars": printed})
    return lines


# Columns: a gutter in the middle band of the page, crossed by no row of a band of at least COLUMN_ROWS rows with
# text on both sides, each side at least COLUMN_SHARE of the page wide.
COLUMN_ROWS = 3
COLUMN_SHARE = 0.25
COLUMN_BALANCE = 0.6  # the narrower column at least this share of the wider
COLUMN_LETTERS = 0.5  # and at least this share of each side's characters letters (not a table's figures)
GUTTER_BAND = (0.3, 0.7)
FURNITURE_ZONE = 0.1  # running headers and footers: rows in the top or bottom tenth of the page …
FURNITURE_GAP = 1.2  # … set apart from the next row by at least this many times their height
CELL_GAP = 2.5  # a gap this many times the font size inside a column's row parts table cells
GUTTER_PAD = 2.5  # points added to each side of a character, so the space between two words of a row is covered


@dataclass
class Band:
    rows: list[Row]
    columns: bool


def _covered(row: Row, x: float) -> bool:
    return any(c["x0"] - GUTTER_PAD <= x <= c["x1"] + GUTTER_PAD for c in row.chars if not c["text"].isspace())


def _table_row(row: Row, gutter: float) -> bool:
    """Text with a gap wider than CELL_GAP × its size on both sides of the gutter: cells of a full-width table that
    happen to leave the gutter free, not lines of two columns (a figure's labels in one column beside the other
    column's text have their gaps on one side only)."""
    for side in (lambda c: c["x1"] <= gutter, lambda c: c["x0"] >= gutter):
        printed = sorted((c for c in row.chars if not c["text"].isspace() and side(c)), key=lambda c: c["x0"])
        reach, gapped = None, False
        for char in printed:
            if reach is not None and char["x0"] - reach > CELL_GAP * max(row.size, 1.0):
                gapped = True
                break
            reach = char["x1"] if reach is None else max(reach, char["x1"])
        if not gapped:
            return False
    return True


def _sides(row: Row, x: float) -> tuple[bool, bool]:
    printed = [c for c in row.chars if not c["text"].isspace()]
    return any(c["x1"] <= x for c in printed), any(c["x0"] >= x for c in printed)


class TooLargeForColumns(Exception):
    """The page is too large for column detection; it is read as one column."""


def find_gutter(rows: list[Row], width: float, max_grid_cells: int | None = None) -> float | None:
    """The x of the column gutter: the point of the page's middle band that parts the most rows with text on both
    sides without crossing them; None for a page of one column."""
    if len(rows) < COLUMN_ROWS * 2:
        return None
    import numpy as np

    grid_width = int(width) + 2
    if max_grid_cells is not None and len(rows) * grid_width > max_grid_cells:
        raise TooLargeForColumns(f"{len(rows):,} rows of text across {width:,.0f} points")
    lo, hi = int(GUTTER_BAND[0] * width), int(GUTTER_BAND[1] * width)
    if hi <= lo:
        return None
    covered = np.zeros((len(rows), grid_width), dtype=bool)
    for index, row in enumerate(rows):
        edges = np.zeros(grid_width + 1, dtype=np.int32)
        for char in row.chars:
            if char["text"].isspace():
                continue
            start = min(max(int(char["x0"] - GUTTER_PAD), 0), grid_width - 1)
            end = min(max(int(char["x1"] + GUTTER_PAD) + 1, 0), grid_width)
            edges[start] += 1
            edges[end] -= 1
        covered[index] = np.cumsum(edges)[:grid_width] > 0
    has_text = covered.any(axis=1)
    if not has_text.any():
        return None
    first_x = np.where(has_text, covered.argmax(axis=1), grid_width)
    last_x = np.where(has_text, grid_width - 1 - covered[:, ::-1].argmax(axis=1), -1)
    xs = np.arange(lo, hi)
    split = ~covered[:, xs] & (first_x[:, None] < xs) & (last_x[:, None] > xs)
    counts = split.sum(axis=0)
    if counts.size == 0 or counts.max() < COLUMN_ROWS:
        return None
    best = np.flatnonzero(counts == counts.max())
    # The middle of the widest run of best positions: the gutter's middle, not its edge.
    runs = np.split(best, np.flatnonzero(np.diff(best) > 1) + 1)
    run = max(runs, key=len)
    x = float(xs[run[len(run) // 2]])
    rows_split = np.flatnonzero(split[:, run[len(run) // 2]])
    left = [x - first_x[i] for i in rows_split]
    right = [last_x[i] - x for i in rows_split]
    narrow, wide = sorted((statistics.median(left), statistics.median(right)))
    if narrow < COLUMN_SHARE * width or narrow < COLUMN_BALANCE * wide:
        return None  # a table with a narrow column, or a marginal note: one column
    return x


def _prose_on_both_sides(rows: list[Row], gutter: float) -> bool:
    """Letters, not a table's figures, on both sides of the gutter: a table's labels and its numbers are read
    row by row."""
    for side in (lambda c: c["x1"] <= gutter, lambda c: c["x0"] >= gutter):
        printed = [c["text"] for row in rows for c in row.chars if not c["text"].isspace() and side(c)]
        if sum(t.isalpha() for t in printed) < COLUMN_LETTERS * len(printed):
            return False
    return True


def _furniture(rows: list[Row], height: float) -> set[int]:
    """Ids of the rows of a running header or footer: in the top or bottom FURNITURE_ZONE of the page, set apart
    from the text by a gap. Such a row is read across the page, not as the first line of each column."""
    found: set[int] = set()
    for ordered, is_top in ((rows, True), (rows[::-1], False)):
        for here, after in itertools.pairwise(ordered):
            in_zone = here.bottom <= FURNITURE_ZONE * height if is_top else here.top >= (1 - FURNITURE_ZONE) * height
            gap = after.top - here.bottom if is_top else here.top - after.bottom
            if not in_zone or gap < FURNITURE_GAP * max(here.bottom - here.top, 1.0):
                break
            found.add(id(here))
    return found


def bands(rows: list[Row], gutter: float | None, height: float = 0.0) -> list[Band]:
    """The page's rows in horizontal bands: runs of rows that leave the gutter free (columns), and rows that cross
    it (full width). A run with fewer than COLUMN_ROWS rows parted by the gutter is full width, and so are running
    headers and footers."""
    if gutter is None:
        return [Band(rows, False)] if rows else []
    furniture = _furniture(rows, height) if height else set()
    result: list[Band] = []
    for row in rows:
        columns = id(row) not in furniture and not _covered(row, gutter) and not _table_row(row, gutter)
        if result and result[-1].columns == columns:
            result[-1].rows.append(row)
        else:
            result.append(Band([row], columns))
    for band in result:
        if band.columns and (sum(all(_sides(row, gutter)) for row in band.rows) < COLUMN_ROWS
                             or not _prose_on_both_sides(band.rows, gutter)):
            band.columns = False
    merged: list[Band] = []
    for band in result:
        if merged and not merged[-1].columns and not band.columns:
            merged[-1].rows.extend(band.rows)
        else:
            merged.append(band)
    return merged


def _body_size(chars: list[dict]) -> float:
    sizes = Counter(round(float(c.get("size", 0)), 1) for c in chars if not c["text"].isspace())
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _line_size(line: dict) -> float:
    return _median_size(line["chars"])


def _trailing_footnotes(lines: list[dict], body: float, page_height: float) -> int:
    """How many lines at the end of a column are footnotes: smaller than the body text, in the lower half."""
    count = 0
    for line in reversed(lines):
        if line["top"] < page_height / 2 or _line_size(line) > FOOTNOTE_SIZE_RATIO * body:
            break
        count += 1
    return count if count < len(lines) else 0


def page_lines(chars: list[dict], width: float, height: float, *, find_columns: bool = True,
               max_grid_cells: int | None = None) -> list[dict]:
    """The printed lines of a page's characters, in reading order (see the module's docstring)."""
    upright = [c for c in chars if c.get("upright", True)]
    rows = cluster_rows(upright)
    gutter = find_gutter([r for r in rows if r.size > 0], width, max_grid_cells) if find_columns else None
    body = _body_size(upright)
    ordered: list[dict] = []
    footnotes: list[dict] = []
    page_bands = bands(rows, gutter, height)
    for number, band in enumerate(page_bands):
        band_chars = [c for row in band.rows for c in row.chars]
        if not band.columns:
            lines = build_lines(band_chars)
            is_footer = number == len(page_bands) - 1 and number > 0 and band.rows[0].top > 0.85 * height
            if is_footer and footnotes:
                ordered.extend(footnotes)
                footnotes = []
            ordered.extend(lines)
            continue
        for side in (lambda c: (c["x0"] + c["x1"]) / 2 < gutter, lambda c: (c["x0"] + c["x1"]) / 2 >= gutter):
            lines = build_lines([c for c in band_chars if side(c)])
            notes = _trailing_footnotes(lines, body, height) if number == len(page_bands) - 1 or (
                page_bands[-1].rows[0].top > 0.85 * height and number == len(page_bands) - 2) else 0
            ordered.extend(lines[:len(lines) - notes])
            footnotes.extend(lines[len(lines) - notes:])
    ordered.extend(footnotes)
    sideways = [c for c in chars if not c.get("upright", True)]
    if sideways:  # rotated text (a table's column heads, a margin label): its own lines after the page's text
        ordered.extend(_sideways_lines(sideways))
    return ordered


def _sideways_lines(chars: list[dict]) -> list[dict]:
    """Rotated characters in lines: those sharing a vertical axis (x), read along it."""
    columns: list[list[dict]] = []
    last_x = None
    for char in sorted(chars, key=lambda c: c["x0"]):
        if last_x is None or char["x0"] - last_x > ROW_TOLERANCE:
            columns.append([])
        columns[-1].append(char)
        last_x = char["x0"]
    lines = []
    for column in columns:
        ordered = sorted(column, key=lambda c: c["top"])
        if ordered[0].get("matrix", (0, 0))[1] > 0:  # turned anticlockwise: read from the bottom up
            ordered.reverse()
        text = "".join(c["text"] for c in ordered).strip()
        if text:
            lines.append({"text": " ".join(text.split()), "x0": min(c["x0"] for c in ordered),
                          "x1": max(c["x1"] for c in ordered), "top": min(c["top"] for c in ordered),
                          "bottom": max(c["bottom"] for c in ordered), "chars": ordered})
    return lines
