"""Pages per second and peak memory of reading a PDF: bare pdfplumber ``extract_text()`` beside tiltak's loader
(``load_document`` with the pdfplumber backend, and the pypdfium2 backend), each in a fresh process so that its peak
resident memory (VmHWM) is its own.

    python benchmarks/pdf_reading_speed.py [FILE] [--first N] [--checkout DIR]

FILE defaults to the 419-page Prop. 1 LS in ../shared/corpora/real-docs. ``--first N`` reads a copy of the first N
pages (cut with pypdfium2), to see whether memory grows with the page count. ``--checkout`` measures the loader of
another checkout (e.g. the main branch, for a before/after comparison)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "corpora" / "real-docs" / "prop-1-ls-2025-2026.pdf"

_MEASURE = r"""
import json, sys, time
from pathlib import Path
path, kind = Path(sys.argv[1]), sys.argv[2]
started = time.perf_counter()
if kind == "pdfplumber extract_text()":
    import pdfplumber
    with pdfplumber.open(path) as pdf:
        pages = 0
        for page in pdf.pages:
            page.extract_text()
            page.close()
            pages += 1
else:
    from pipeline.reading.loaders import load_document
    backend = kind.rsplit("(", 1)[1].rstrip(")")
    pages = load_document(path, pdf_backend=backend).page_count
seconds = time.perf_counter() - started
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"pages": pages, "seconds": seconds, "peak_mb": peak / 1024}))
"""

MEASURES = ("pdfplumber extract_text()", "tiltak load_document (pdfplumber)", "tiltak load_document (pdfium)",
            "tiltak load_document (pypdfium2)")


def measure(path: Path, kind: str, checkout: Path) -> dict:
    env = {"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path), kind], capture_output=True, text=True,
                          env=env, cwd=checkout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--first", type=int, help="read only the first N pages (a copy cut with pypdfium2)")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the checkout whose loader is measured")
    args = parser.parse_args()
    if not args.file.is_file():
        sys.exit(f"{args.file} is absent")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if args.first:
            import pypdfium2 as pdfium

            original = pdfium.PdfDocument(path)
            excerpt = pdfium.PdfDocument.new()
            excerpt.import_pages(original, list(range(min(args.first, len(original)))))
            path = Path(tmp) / f"first-{args.first}-{args.file.name}"
            excerpt.save(path)
        print(f"{path.name} (loader of {args.checkout})")
        for kind in MEASURES:
            result = measure(path, kind, args.checkout.resolve())
            print(f"  {kind:36} {result['pages']:4} pages in {result['seconds']:6.1f} s = "
                  f"{result['pages'] / result['seconds']:5.1f} pages/s, peak {result['peak_mb']:5.0f} MB")


if __name__ == "__main__":
    main()
