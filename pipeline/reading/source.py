"""What a loader hands to normalisation: the document as lines, with whatever structure the format knows.

Every loader (PDF, HTML, DOCX, text) produces a :class:`SourceDocument`. Formats with real structure (HTML,
DOCX, Markdown headings) say what each line is through ``kind``; PDF lines carry their layout (position, font
size, boldness) instead, and plain text carries neither. Normalisation and structure detection work on this one
shape, so a new format needs only a loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class SourceFormat(StrEnum):
    PDF = "pdf"
    HTML = "html"
    DOCX = "docx"
    TEXT = "text"


class LineKind(StrEnum):
    """What a structured source says a line is. ``None`` on a line means the source does not know."""

    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE_ROW = "table_row"


@dataclass(frozen=True, slots=True)
class LineLayout:
    """Where a PDF line sits on its page, in PDF points with the origin at the top left."""

    x0: float
    x1: float
    top: float
    bottom: float
    font_size: float
    bold: bool = False


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One line of the source as the loader found it.

    For PDFs a line is a printed line (wrapped paragraphs span several). For HTML and DOCX a line is a whole
    element (a paragraph, a heading, a list item, a table row), and ``kind`` says which.
    """

    text: str
    page: int | None
    """1-based page number; ``None`` for sources without pages (HTML, plain text without form feeds)."""
    kind: LineKind | None = None
    level: int | None = None
    """Heading level (1 = document title) or list nesting depth (1 = top level)."""
    marker: str | None = None
    """A list item's marker as the source shows it ("•", "1.", "a)"), when the source keeps it apart from the
    text (HTML ``<li>``, DOCX numbering). Markers typed into the text itself stay in ``text``."""
    list_key: str | None = None
    """Groups the items of one source list (an HTML ``<ul>``/``<ol>``, a DOCX numbering instance)."""
    layout: LineLayout | None = None
    blank_before: bool = False
    """The source had an empty line (or paragraph gap) right before this line: a plain-text paragraph break."""


@dataclass(frozen=True, slots=True)
class PageInfo:
    number: int
    width: float | None = None
    height: float | None = None


@dataclass(frozen=True, slots=True)
class OcrRun:
    """Pages of a PDF read by OCR (``--ocr``), by which engine and how confidently."""

    engine: str
    version: str
    language: str
    pages: list[int]
    mean_confidence: float
    """Tesseract's confidence (0–100) averaged over the recognised characters."""


@dataclass(slots=True)
class SourceDocument:
    path: Path
    sha256: str
    size_bytes: int
    format: SourceFormat
    lines: list[SourceLine]
    title: str | None = None
    """A title the format states (HTML ``<title>``/``<h1>``, DOCX core properties, PDF metadata)."""
    encoding: str | None = None
    """Text encoding used to decode a text or HTML source; ``None`` for binary formats."""
    pages: list[PageInfo] = field(default_factory=list)
    """The pages of a paginated source, in order; empty for sources without pages."""
    warnings: list[str] = field(default_factory=list)
    """Things a user should know about how this file was read (an encoding fallback, a missing text layer)."""
    ocr: OcrRun | None = None
    """Set when pages without a text layer were read by OCR."""
    published: str | None = None
    """A publication date the format states (HTML meta tags, ``<time datetime>``), as the source wrote it."""
    created: str | None = None
    """When the file was made (PDF CreationDate, DOCX core properties), ISO 8601: a fallback for the date only."""
    issuer: str | None = None
    """A publisher the format states (HTML ``dc.publisher`` / ``dc.creator``)."""

    @property
    def page_count(self) -> int | None:
        return len(self.pages) or None
