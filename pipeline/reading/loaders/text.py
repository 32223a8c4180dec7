"""Plain text and Markdown: decoded as UTF-8 (with or without BOM), UTF-16 with a BOM, else cp1252; a UTF-8 file with
stray bytes of another code page is read as UTF-8 with those bytes as cp1252, with a warning.

Form feeds separate pages (as ``pdftotext`` writes them). Markdown headings (``# …``) are kept as headings, and
rows of a pipe table (``a | b | c``, with or without outer pipes; the ``|---|`` rule is dropped) as table rows, their
cells joined by " | " as the other loaders do; everything else is left to structure detection.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from pipeline.errors import UnsupportedFormatError
from pipeline.reading.loaders.limits import NO_LIMITS, LoadLimits
from pipeline.reading.source import LineKind, PageInfo, SourceDocument, SourceFormat, SourceLine

_MD_HEADING = re.compile(r"^(#{1,6})\s++(.+?)(?<!\s)\s*+#*+\s*+$")
_TABLE_RULE = re.compile(r"^\s*+\|?(?:\s*+:?-{3,}+:?\s*+\|)++\s*+:?-*+:?\s*+$")


def table_cells(line: str) -> list[str] | None:
    """The cells of a pipe-table row (three or more cells, or two between outer pipes), else None."""
    stripped = line.strip()
    outer = stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1
    cells = [cell.strip() for cell in stripped.strip("|").split("|")]
    if len(cells) >= 3 or (outer and len(cells) >= 2):
        return cells
    return None


# A well-formed UTF-8 sequence of two to four bytes: text in a single-byte code page almost never contains one.
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_CP1252_FALLBACK = "tiltak-cp1252-fallback"


def _read_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 are read as cp1252 (its five unused bytes as U+FFFD)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start:error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error(_CP1252_FALLBACK, _read_as_cp1252)


def decode_text(data: bytes, path: Path) -> tuple[str, str, list[str]]:
    """The text, the encoding used, and warnings about the choice.

    UTF-8 (with or without BOM), UTF-16 with a BOM, else cp1252 when the file holds no UTF-8 at all. A file that is
    UTF-8 with some bytes in another code page (text pasted together from two sources) is never read as a whole in
    the wrong code page: each line that is UTF-8 is read as UTF-8, and in the others the bytes that are not UTF-8
    are read as cp1252, with a warning saying how many."""
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors=_CP1252_FALLBACK)
        return text, "utf-8-sig", _mixed_warnings(data[3:])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
        damaged = text.count("\ufffd") - data.decode("utf-16", errors="ignore").count("\ufffd")
        return text, "utf-16", [f"{damaged:,} characters of the UTF-16 text are damaged; replaced by \ufffd"] \
            if damaged else []
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if _UTF8_MULTIBYTE.search(data):
        return data.decode("utf-8", errors=_CP1252_FALLBACK), "utf-8", _mixed_warnings(data)
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise UnsupportedFormatError(path, f"text is neither UTF-8 ({utf8_error.reason} at byte "
                                           f"{utf8_error.start}) nor cp1252") from exc
    warning = (f"not valid UTF-8 (byte {utf8_error.start}); decoded as cp1252 (Windows-1252), the usual "
               "encoding of older Norwegian Windows files")
    return text, "cp1252", [warning]


def _mixed_warnings(data: bytes) -> list[str]:
    """The warning for UTF-8 ``data`` with bytes that are not UTF-8 (none if there are none)."""
    bad_lines = []
    bad_bytes = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.append(number)
            bad_bytes += len(line) - len(line.decode("utf-8", errors="ignore").encode("utf-8"))
    if not bad_lines:
        return []
    lines = f"1 line (line {bad_lines[0]})" if len(bad_lines) == 1 else \
        f"{len(bad_lines):,} lines (the first: line {bad_lines[0]})"
    return [f"mixed encodings: the text is UTF-8 but {bad_bytes:,} bytes on {lines} are not; read those bytes as "
            f"cp1252 (Windows-1252), {bad_bytes:,} characters, and the rest as UTF-8: check them"]


def read(path: Path, data: bytes, limits: LoadLimits = NO_LIMITS) -> SourceDocument:
    text, encoding, warnings = decode_text(data, path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    markdown = path.suffix.lower() == ".md"
    pages = text.split("\f")
    if len(pages) > 1 and not pages[-1].strip():
        pages.pop()  # pdftotext ends every page, the last one too, with a form feed
    paginated = len(pages) > 1
    lines: list[SourceLine] = []
    for number, page_text in enumerate(pages, start=1):
        blank = True  # a page starts a new paragraph
        for raw in page_text.split("\n"):
            if not raw.strip():
                blank = True
                continue
            kind = level = None
            content = raw.rstrip()
            if markdown and (heading := _MD_HEADING.match(content.strip())):
                kind, level, content = LineKind.HEADING, len(heading.group(1)), heading.group(2)
            elif "|" in content:
                if _TABLE_RULE.match(content):
                    continue
                if (cells := table_cells(content)) is not None:
                    kind, content = LineKind.TABLE_ROW, " | ".join(cell for cell in cells if cell)
            lines.append(SourceLine(text=content, page=number if paginated else None, kind=kind, level=level,
                                    blank_before=blank))
            blank = False
    page_infos = [PageInfo(n) for n in range(1, len(pages) + 1)] if paginated else []
    return SourceDocument(path=path, sha256="", size_bytes=len(data), format=SourceFormat.TEXT, lines=lines,
                          encoding=encoding, pages=page_infos, warnings=warnings)
