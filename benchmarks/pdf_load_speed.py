"""PDF load + normalise + structure, pages per second, against bare pdfplumber ``extract_text`` on the same PDFs,
measured in the same run (issue #7: ratio ≥ 0.8, the pdfplumber backend); the default ``pdfium`` backend (the same
layout reading from pdfium's characters) and the pypdfium2 backend (``--pdf-backend pypdfium2``: plain text lines, no
layout) against the pdfplumber backend, with their speed-ups.

    python benchmarks/pdf_load_speed.py [--docs 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from corpus_generator import generate  # noqa: E402

from pipeline.reading.loaders import load_document  # noqa: E402
from pipeline.reading.structure import build_structure  # noqa: E402


def bare_pdfplumber(paths: list[Path]) -> int:
    import pdfplumber

    pages = 0
    for path in paths:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_text()
                pages += 1
    return pages


def tiltak_load(paths: list[Path], backend: str = "pdfplumber") -> int:  # the backend issue #7's target is on
    pages = 0
    for path in paths:
        source = load_document(path, pdf_backend=backend)
        build_structure(source)
        pages += source.page_count or 0
    return pages


def tiltak_load_pdfium(paths: list[Path]) -> int:
    return tiltak_load(paths, "pdfium")


def tiltak_load_plain(paths: list[Path]) -> int:
    return tiltak_load(paths, "pypdfium2")


def timed(run, paths: list[Path]) -> tuple[int, float]:
    started = time.perf_counter()
    pages = run(paths)
    return pages, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = generate(Path(tmp), args.docs, pdf_share=1.0)
        bare_pages, bare_seconds = timed(bare_pdfplumber, paths)
        ours_pages, ours_seconds = timed(tiltak_load, paths)
        layout_pages, layout_seconds = timed(tiltak_load_pdfium, paths)
        fast_pages, fast_seconds = timed(tiltak_load_plain, paths)
    bare_rate, ours_rate, fast_rate = bare_pages / bare_seconds, ours_pages / ours_seconds, fast_pages / fast_seconds
    layout_rate = layout_pages / layout_seconds
    print(f"PDFs: {len(paths)} documents, {bare_pages} pages")
    print(f"bare pdfplumber extract_text: {bare_rate:.1f} pages/s")
    print(f"tiltak load + normalise + structure, --pdf-backend pdfplumber: {ours_rate:.1f} pages/s")
    print(f"tiltak load + normalise + structure, --pdf-backend pdfium (default): {layout_rate:.1f} pages/s")
    print(f"tiltak load + normalise + structure, --pdf-backend pypdfium2: {fast_rate:.1f} pages/s")
    print(f"speed-up pdfium backend / pdfplumber backend: {layout_rate / ours_rate:.1f}×")
    print(f"speed-up pypdfium2 backend / pdfplumber backend: {fast_rate / ours_rate:.1f}×")
    print(f"ratio tiltak/bare: {ours_rate / bare_rate:.3f} (target ≥ 0.8)")


if __name__ == "__main__":
    main()
