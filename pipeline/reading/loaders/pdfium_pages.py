"""A PDF's pages and their characters from pdfium (pypdfium2), in the shape the layout reader takes
(``pipeline.reading.loaders.pdf_layout``: dicts with text, x0, x1, top, bottom, size, fontname, upright, matrix).

pdfminer, under pdfplumber, interprets each page's content stream in Python: about 3 pages a second on a real
budget proposition. pdfium does it in C, and this module only asks it for each character: many times faster, with
the same layout reading on top. What pdfium does differently, and how it is made to match:
- **Boxes.** pdfplumber's box of an upright character is one font size high, from the font's descent; pdfium's
  loose box spans the font's ascent and descent. The bottom edges agree, so an upright character's top is its
  bottom less its font size, as pdfplumber has it (the row clustering's tolerances were set on those boxes).
- **Font size** is the size set in the text state scaled by the text matrix (pdfium reports the unscaled size).
- **Spaces.** pdfium replaces a non-breaking space with a space of its own ("generated"), and adds one where it sees
  a word gap; both are kept as spaces between their neighbours. The line breaks it adds are dropped: the layout
  reader makes its own lines.
- **Hyphens.** A hyphen that ends a line comes back as U+0002; it is a hyphen ("utleie-" + "leiligheter").
- **Rotated pages** (/Rotate 90, 180, 270) are turned to the reader's view, boxes and text direction both, so that
  text upright on screen is upright here.
- **Upright** is pdfminer's test on the text matrix (a·d > 0 and b·c ≤ 0): text at a slant, such as a chart's axis
  labels at 45°, counts as upright, as pdfplumber has it; only text turned a quarter is read as a sideways line.
"""

from __future__ import annotations

import ctypes
import math
import threading
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

# pdfium is not thread-safe (pypdfium2's documentation: one thread at a time in a process): every reader that calls
# into it (this module, the plain-text backend, OCR's rendering) holds this lock while it has a document open. Documents
# are read in parallel by worker processes, each with its own pdfium.
PDFIUM_LOCK = threading.RLock()

# U+0002: how pdfium reports a hyphen at the end of a line; U+FFFE/U+FFFF: no character.
_LINE_END_HYPHEN = 0x02
_NOT_A_CHARACTER = {0, 0xFFFE, 0xFFFF}
_LINE_BREAKS = {0x0A, 0x0D}
_FONT_NAME_BYTES = 256
# FPDFText_GetTextObject with the object's address as a plain integer (ctypes.cast of each returned pointer cost more
# than the call): only compared, to tell when a character starts a new text object, never dereferenced.
_text_object_address = ctypes.cast(pdfium_c.FPDFText_GetTextObject,
                                   ctypes.CFUNCTYPE(ctypes.c_void_p, pdfium_c.FPDF_TEXTPAGE, ctypes.c_int))
# pdfium's own spaces ("generated") are kept only where the next character on the row stands at least this share of
# the font size away: a non-breaking space ("177 600", about 0.25 em) is, a letter-spaced word ("thei r", about
# 0.1 em) is not.
GENERATED_SPACE_MIN_EM = 0.2


@dataclass(frozen=True)
class _View:
    """From the page's user space (y up) to the reader's view (y down, from the crop box's top left corner, the
    page's /Rotate applied)."""

    left: float
    bottom: float
    right: float
    top: float
    rotation: int  # clockwise, degrees

    def point(self, x: float, y: float) -> tuple[float, float]:
        if self.rotation == 90:
            return y - self.bottom, x - self.left
        if self.rotation == 180:
            return self.right - x, y - self.bottom
        if self.rotation == 270:
            return self.top - y, self.right - x
        return x - self.left, self.top - y

    def box(self, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
        """x0, x1, top, bottom in the view."""
        (xa, ya), (xb, yb) = self.point(left, bottom), self.point(right, top)
        return min(xa, xb), max(xa, xb), min(ya, yb), max(ya, yb)

    def direction(self, a: float, b: float) -> tuple[float, float]:
        """A vector of the text matrix (a column, y up) as the reader sees it (y still up)."""
        turn = math.radians(self.rotation)
        return a * math.cos(turn) + b * math.sin(turn), -a * math.sin(turn) + b * math.cos(turn)


def _view(page: pdfium.PdfPage) -> _View:
    left, bottom, right, top = page.get_cropbox()
    return _View(left, bottom, right, top, page.get_rotation() % 360)


@dataclass(frozen=True)
class _Style:
    """What the characters of one text object share: font, size and direction."""

    fontname: str
    size: float
    upright: bool  # pdfminer's test: not turned a quarter (the layout reads turned text as sideways lines)
    horizontal: bool  # upright and level: the box is made one font size high, as pdfminer's
    matrix: tuple[float, float, float, float]  # the text matrix's linear part, in the reader's view (y up)


def _style(handle, index: int, view: _View) -> _Style:
    matrix = pdfium_c.FS_MATRIX()
    pdfium_c.FPDFText_GetMatrix(handle, index, matrix)
    name = ctypes.create_string_buffer(_FONT_NAME_BYTES)
    pdfium_c.FPDFText_GetFontInfo(handle, index, name, _FONT_NAME_BYTES, ctypes.byref(ctypes.c_int()))
    a, b = view.direction(matrix.a, matrix.b)
    c, d = view.direction(matrix.c, matrix.d)
    return _Style(fontname=name.value.decode("utf-8", "replace"),
                  size=pdfium_c.FPDFText_GetFontSize(handle, index) * math.hypot(matrix.c, matrix.d),
                  upright=a * d > 0 and b * c <= 0, horizontal=a > 0 and abs(b) <= 1e-6 * max(abs(a), 1.0),
                  matrix=(a, b, c, d))


def page_chars(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> list[dict]:
    """The characters of ``page``, in content order, as the layout reader takes them."""
    view = _view(page)
    turned = view.rotation != 0
    handle = textpage.raw
    rect = pdfium_c.FS_RECTF()
    chars: list[dict] = []
    previous: dict | None = None
    generated_space = False  # pdfium put a space after ``previous``
    # Font, size and matrix are asked for once per text object (the characters of one share them): the calls into
    # pdfium, one by one through ctypes, are most of this function's time.
    style_of: tuple[int | None, _Style | None] = (None, None)
    for index in range(pdfium_c.FPDFText_CountChars(handle)):
        code = pdfium_c.FPDFText_GetUnicode(handle, index)
        if code in _LINE_BREAKS:
            generated_space = False
            continue
        if code in _NOT_A_CHARACTER:
            continue
        if pdfium_c.FPDFText_IsGenerated(handle, index):
            generated_space = previous is not None and chr(code).isspace()
            continue
        text_object = _text_object_address(handle, index)
        if text_object is None or text_object != style_of[0]:
            style_of = (text_object, _style(handle, index, view))
        style = style_of[1]
        pdfium_c.FPDFText_GetLooseCharBox(handle, index, rect)
        if turned:
            x0, x1, top, bottom = view.box(rect.left, rect.bottom, rect.right, rect.top)
        else:
            x0, x1, top, bottom = (rect.left - view.left, rect.right - view.left, view.top - rect.top,
                                   view.top - rect.bottom)
        size = style.size
        if style.horizontal and size > 0:
            top = bottom - size
        if generated_space and _word_gap(previous, x0, bottom, size):
            chars.append({**previous, "text": " ", "x0": previous["x1"], "x1": previous["x1"]})
        generated_space = False
        previous = {"text": "-" if code == _LINE_END_HYPHEN else chr(code), "x0": x0, "x1": x1, "top": top,
                    "bottom": bottom, "size": size, "fontname": style.fontname, "upright": style.upright,
                    "matrix": (*style.matrix, 0.0, 0.0)}
        chars.append(previous)
    return chars


def _word_gap(previous: dict, x0: float, bottom: float, size: float) -> bool:
    """Whether a character of ``size`` at ``x0`` on ``bottom`` stands a word gap after ``previous`` on the same row
    (a superscript's row too: "sector⁶ is")."""
    sizes = [s for s in (previous["size"], size) if s > 0] or [1.0]
    return (abs(bottom - previous["bottom"]) <= 0.5 * max(sizes)
            and x0 - previous["x1"] >= GENERATED_SPACE_MIN_EM * min(sizes))


def has_images(page: pdfium.PdfPage) -> bool:
    """Whether ``page`` draws any image (a page of images and no text is a scan without a text layer)."""
    return next(iter(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])), None) is not None


class PdfiumPage:
    """One page, with the attributes of a pdfplumber page that the PDF loader reads. Opened on first use, so that a
    page pdfium cannot open fails where the loader reads that page (and is skipped with a warning), not before."""

    def __init__(self, pdf: pdfium.PdfDocument, index: int) -> None:
        self._pdf, self._index = pdf, index
        self._page: pdfium.PdfPage | None = None

    def _opened(self) -> pdfium.PdfPage:
        if self._page is None:
            self._page = self._pdf[self._index]
        return self._page

    @property
    def width(self) -> float:
        return self._size()[0]

    @property
    def height(self) -> float:
        return self._size()[1]

    def _size(self) -> tuple[float, float]:
        """Width and height as the page is shown: a page turned a quarter is as wide as it is high unturned."""
        view = _view(self._opened())
        width, height = view.right - view.left, view.top - view.bottom
        return (height, width) if view.rotation in (90, 270) else (width, height)

    @property
    def chars(self) -> list[dict]:
        page = self._opened()
        textpage = page.get_textpage()
        try:
            return page_chars(page, textpage)
        finally:
            textpage.close()

    @property
    def images(self) -> bool:
        return has_images(self._opened())

    def close(self) -> None:
        if self._page is not None:
            self._page.close()
            self._page = None


class PdfiumDocument:
    """A PDF opened with pdfium, with what the PDF loader reads of a pdfplumber document: its metadata and its pages
    (opened one at a time, as they are read)."""

    def __init__(self, data: bytes) -> None:
        self._pdf = pdfium.PdfDocument(data)
        self.metadata = self._pdf.get_metadata_dict()

    def __len__(self) -> int:
        return len(self._pdf)

    @property
    def pages(self) -> _Pages:
        return _Pages(self._pdf)

    def close(self) -> None:
        self._pdf.close()


class _Pages:
    def __init__(self, pdf: pdfium.PdfDocument) -> None:
        self._pdf = pdf

    def __len__(self) -> int:
        return len(self._pdf)

    def __iter__(self):
        for index in range(len(self._pdf)):
            yield PdfiumPage(self._pdf, index)
