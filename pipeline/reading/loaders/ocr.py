"""OCR for PDF pages without a text layer (scans, photographed pages): Tesseract with its Norwegian data.

Optional: needs the ``ocr`` extra (the ``tesserocr`` binding, whose wheels carry libtesseract) and Tesseract's
Norwegian language data (Debian: ``apt-get install tesseract-ocr tesseract-ocr-nor``). ``tiltak run --ocr`` (config
``ocr = true``) turns it on; ``tiltak doctor`` says whether it is available.

Only pages that gave no text at all are read: a page with a text layer is never OCRed. Each page is rendered alone
(pypdfium2), at the resolution of the image on it (no more than 300 dpi), read line by line with each line's
box and confidence, and closed before the next one, with the document's time limit checked between pages. The
lines get their layout in PDF points like any PDF line, so structure detection works on them; the font size is
estimated from Tesseract's row height, set relative to each page's body text (photographed pages differ in scale).
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.reading.loaders.limits import NO_LIMITS, LoadLimits
from pipeline.reading.source import LineLayout, OcrRun, SourceDocument, SourceLine

LANGUAGE = "nor"
"""Tesseract's Norwegian model (it reads Bokmål and Nynorsk, æøå included). English is not added: on Norwegian
text a second model costs time and turns some Norwegian words into English ones."""
INSTALL_BINDING = "pip install -e '.[ocr]' (the tesserocr binding)"
INSTALL_DATA = "apt-get install tesseract-ocr tesseract-ocr-nor (or set TESSDATA_PREFIX to a tessdata folder)"
# Where Debian (tesseract 5 and 4), other distributions and Homebrew put the language data.
TESSDATA_FOLDERS = tuple(Path(folder) for folder in (
    "/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata", "/usr/share/tessdata",
    "/usr/local/share/tessdata", "/opt/homebrew/share/tessdata"))
MAX_DPI = 300
MIN_LINE_PIXELS, TARGET_LINE_PIXELS, MAX_ENLARGEMENT = 40, 55, 3.0
MAX_PIXELS = 40_000_000  # one rendered page in grayscale: 40 MB
MIN_LINE_CONFIDENCE = 30.0  # below this a "line" is mostly noise from a picture or a stain
SAME_SIZE = 0.2  # rows within 20 % of a page's usual row height are body text: one font size
OCR_WARNING = "ocr"


@dataclass(frozen=True)
class OcrAvailability:
    """Whether OCR can run here; ``problem`` (with what to install) when it cannot."""

    tesseract_version: str | None = None
    binding_version: str | None = None
    tessdata: Path | None = None
    languages: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def ready(self) -> bool:
        return self.problem is None


def _tessdata_candidates() -> list[Path]:
    """TESSDATA_PREFIX when set (as for Tesseract itself, it replaces the usual places), else the usual places."""
    if prefix := os.environ.get("TESSDATA_PREFIX"):
        return [Path(prefix), Path(prefix) / "tessdata"]
    return list(TESSDATA_FOLDERS)


def find_tessdata(language: str = LANGUAGE) -> Path | None:
    """The first tessdata folder holding ``language``'s model, or None."""
    return next((folder for folder in _tessdata_candidates() if (folder / f"{language}.traineddata").is_file()), None)


def availability() -> OcrAvailability:
    try:
        import tesserocr
    except Exception as exc:  # not installed, or its libtesseract cannot load
        return OcrAvailability(problem=f"the Tesseract binding tesserocr cannot be imported ({exc}): {INSTALL_BINDING}")
    # "tesseract 5.5.4\n leptonica-1.87.0 …": the first line's version
    tesseract = tesserocr.tesseract_version().split()[1]
    binding = getattr(tesserocr, "__version__", None)
    tessdata = find_tessdata()
    if tessdata is None:
        searched = ", ".join(str(folder) for folder in _tessdata_candidates())
        return OcrAvailability(tesseract, binding, problem=f"Tesseract's Norwegian language data ({LANGUAGE}."
                               f"traineddata) is not installed (looked in {searched}): {INSTALL_DATA}")
    languages = tuple(sorted(tesserocr.get_languages(str(tessdata) + os.sep)[1]))
    return OcrAvailability(tesseract, binding, tessdata, languages)


def _page_ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> "1–3, 5"."""
    ranges: list[list[int]] = []
    for number in numbers:
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in ranges)


def _pages_word(numbers: list[int]) -> str:
    return f"page{'s' if len(numbers) > 1 else ''} {_page_ranges(numbers)}"


def _within_pixels(page, scale: float) -> float:
    width, height = page.get_size()
    pixels = width * height * scale * scale
    return scale * (MAX_PIXELS / pixels) ** 0.5 if pixels > MAX_PIXELS else scale


def _render_scale(page) -> float:
    """Pixels per PDF point: the resolution of the page's largest image (rendering finer adds no detail; a photo
    placed at one pixel per point is not blown up), at most MAX_DPI, and never more than MAX_PIXELS."""
    import pypdfium2.raw as pdfium_c

    scale = MAX_DPI / 72
    densities = []
    for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = image.get_bounds()
        metadata = image.get_metadata()
        if right - left > 1 and top - bottom > 1:
            densities.append(max(metadata.width / (right - left), metadata.height / (top - bottom)))
    if densities:
        scale = min(scale, max(densities))
    return _within_pixels(page, scale)


def _render(page, scale: float):
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        return bitmap.to_pil().copy()  # the PIL image shares the bitmap's buffer until copied
    finally:
        bitmap.close()


def _median_line_pixels(api, image) -> float | None:
    """The median height in pixels of the text lines Tesseract's layout analysis finds (no recognition: fast)."""
    from tesserocr import RIL, iterate_level

    api.SetImage(image)
    iterator = api.AnalyseLayout()
    if iterator is None:
        return None
    heights = [box[3] - box[1] for item in iterate_level(iterator, RIL.TEXTLINE)
               if (box := item.BoundingBox(RIL.TEXTLINE)) is not None]
    return statistics.median(heights) if heights else None


@dataclass(frozen=True)
class _OcrLine:
    text: str
    confidence: float
    box: tuple[float, float, float, float]  # x0, top, x1, bottom in PDF points
    row_height: float  # points
    new_paragraph: bool


def _read_page(api, page, scale: float) -> list[_OcrLine]:
    from tesserocr import RIL, iterate_level

    image = _render(page, scale)
    # Tesseract misreads more on lines under ~40 pixels high (a scan under ~250 dpi): such a page is enlarged.
    line_pixels = _median_line_pixels(api, image)
    if line_pixels and line_pixels < MIN_LINE_PIXELS:
        larger = _within_pixels(page, scale * min(TARGET_LINE_PIXELS / line_pixels, MAX_ENLARGEMENT))
        if larger > 1.1 * scale:
            scale, image = larger, _render(page, larger)
    api.SetImage(image)
    api.Recognize()
    lines: list[_OcrLine] = []
    iterator = api.GetIterator()
    if iterator is None:  # nothing recognised
        return lines
    for item in iterate_level(iterator, RIL.TEXTLINE):
        text = " ".join((item.GetUTF8Text(RIL.TEXTLINE) or "").split())
        confidence = item.Confidence(RIL.TEXTLINE)
        if not any(ch.isalnum() for ch in text) or confidence < MIN_LINE_CONFIDENCE:
            continue
        box = item.BoundingBox(RIL.TEXTLINE)
        if box is None:
            continue
        x0, top, x1, bottom = (value / scale for value in box)
        row = (item.RowAttributes() or {}).get("row_height") or (bottom - top) * scale
        lines.append(_OcrLine(text, confidence, (x0, top, x1, bottom), row / scale,
                              item.IsAtBeginningOf(RIL.PARA)))
    return lines


def _font_sizes(pages: dict[int, list[_OcrLine]], body_size: float | None) -> dict[int, list[float]]:
    """Each line's font size. Rows within SAME_SIZE of their page's usual row height get the document's body size
    (``body_size``, from the text layer, or the median over the OCR pages), the others that size scaled by their
    row height: structure finds headings by a size above the body's, which a row height's jitter must not mimic."""
    medians = {number: statistics.median(line.row_height for line in lines) for number, lines in pages.items() if lines}
    body = body_size or (round(statistics.median(medians.values()), 1) if medians else 10.0)
    sizes: dict[int, list[float]] = {}
    for number, lines in pages.items():
        sizes[number] = []
        for line in lines:
            ratio = line.row_height / medians[number]
            sizes[number].append(body if abs(ratio - 1) <= SAME_SIZE else round(body * ratio * 2) / 2)
    return sizes


def _text_layer_body_size(document: SourceDocument) -> float | None:
    sizes = [line.layout.font_size for line in document.lines if line.layout is not None]
    return statistics.mode(sizes) if sizes else None


def _no_text_warnings(document: SourceDocument) -> list[int]:
    return [index for index, warning in enumerate(document.warnings) if warning.startswith("no_text_layer")]


def mention_ocr_option(document: SourceDocument) -> None:
    """Without --ocr: the missing-text-layer warning names the option that reads such pages."""
    for index in _no_text_warnings(document):
        if "--ocr" not in document.warnings[index]:
            document.warnings[index] += ", or use `tiltak run --ocr` (Tesseract OCR: the ocr extra)"


def pages_without_text(document: SourceDocument) -> list[int]:
    with_text = {line.page for line in document.lines if line.text.strip()}
    return [page.number for page in document.pages if page.number not in with_text]


def read_scanned_pages(document: SourceDocument, data: bytes, limits: LoadLimits = NO_LIMITS) -> SourceDocument:
    """``document`` (a loaded PDF) with its pages that have no text read by OCR, in page order, and a warning saying
    which pages were read so and how confidently. When OCR is not available, a warning says what to install."""
    missing = pages_without_text(document)
    if not missing:
        return document
    status = availability()
    if not status.ready:
        document.warnings.append(f"{OCR_WARNING}: --ocr asked but OCR is not available, "
                                 f"{_pages_word(missing)} not read: {status.problem}")
        return document
    from tesserocr import PyTessBaseAPI

    from pipeline.reading.loaders.pdfium_pages import PDFIUM_LOCK

    try:
        api = PyTessBaseAPI(path=str(status.tessdata) + os.sep, lang=LANGUAGE)
    except RuntimeError as exc:  # damaged language data
        document.warnings.append(f"{OCR_WARNING}: --ocr asked but Tesseract cannot start ({exc}), "
                                 f"{_pages_word(missing)} not read: reinstall: {INSTALL_DATA}")
        return document
    try:
        with PDFIUM_LOCK:
            read, failed = _read_pages(api, data, missing, limits, document.path)
    finally:
        api.End()
    return _merge(document, read, failed, status)


def _read_pages(api, data: bytes, missing: list[int], limits: LoadLimits, path: Path
                ) -> tuple[dict[int, list[_OcrLine]], list[str]]:
    """OCR of the pages numbered ``missing``, and "page N (why)" for each page OCR cannot read (a warning; the other
    pages go on)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    read: dict[int, list[_OcrLine]] = {}
    failed: list[str] = []
    pdf = pdfium.PdfDocument(data)
    try:
        for number in missing:
            limits.check_time(path, "ocr")
            page = pdf[number - 1]
            try:
                if pdfium_c.FPDFPage_CountObjects(page.raw) > 0:  # a blank page has nothing to read
                    read[number] = _read_page(api, page, _render_scale(page))
            except (MemoryError, KeyboardInterrupt):
                raise
            except Exception as exc:
                failed.append(f"page {number} ({type(exc).__name__}: {exc})")
            finally:
                page.close()
    finally:
        pdf.close()
    return read, failed


def _source_line(page: int, line: _OcrLine, font_size: float) -> SourceLine:
    x0, top, x1, bottom = line.box
    layout = LineLayout(x0=x0, x1=x1, top=top, bottom=bottom, font_size=font_size)
    return SourceLine(text=line.text, page=page, layout=layout, blank_before=line.new_paragraph)


def _merge(document: SourceDocument, read: dict[int, list[_OcrLine]], failed: list[str],
           status: OcrAvailability) -> SourceDocument:
    found = {number: lines for number, lines in read.items() if lines}
    sizes = _font_sizes(found, _text_layer_body_size(document))
    new_lines = {number: [_source_line(number, line, size) for line, size in zip(lines, sizes[number], strict=True)]
                 for number, lines in found.items()}
    merged: list[SourceLine] = []
    pending = sorted(new_lines)
    for line in document.lines:
        while pending and line.page is not None and pending[0] < line.page:
            merged.extend(new_lines[pending.pop(0)])
        merged.append(line)
    for number in pending:
        merged.extend(new_lines[number])
    ocr_pages = sorted(found)
    characters = sum(len(line.text) for lines in found.values() for line in lines)
    confidence = (sum(line.confidence * len(line.text) for lines in found.values() for line in lines) / characters
                  if characters else 0.0)
    # The loader's warnings about pages without text are outdated once OCR found text on them.
    outdated = _no_text_warnings(document) if found else []
    warnings = [warning for index, warning in enumerate(document.warnings) if index not in outdated]
    engine = f"Tesseract {status.tesseract_version}, {LANGUAGE}"
    if ocr_pages:
        were = "were" if len(ocr_pages) > 1 else "was"
        warnings.append(f"{OCR_WARNING}: {_pages_word(ocr_pages)} ({len(ocr_pages)} of {len(document.pages)}) had no "
                        f"text layer and {were} read by OCR ({engine}); mean confidence {confidence:.0f} %: check "
                        "names and numbers")
    if empty := [number for number in read if number not in found]:
        warnings.append(f"no_text_layer: {_pages_word(empty)} without text, even by OCR")
    if failed:
        warnings.append(f"{OCR_WARNING}: could not read {', '.join(failed)}")
    return replace(document, lines=merged, warnings=warnings,
                   ocr=OcrRun(engine="tesseract", version=status.tesseract_version or "", language=LANGUAGE,
                              pages=ocr_pages, mean_confidence=round(confidence, 1)) if ocr_pages else None)
