"""Reading coverage on the real documents with partial gold (issue #14): how many gold measures appear as contiguous
text inside one block on the right page, and pages per second of the loader. Reads ../shared/corpora/real-docs.

    python benchmarks/reading_gold.py [--backend pdfium|pdfplumber|pypdfium2] [--show-missed]

The gold pages of a long PDF are cut out (with a few pages around them, for running headers) so the check takes
seconds; the page numbers are mapped back."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.analysis.evaluation import reading_coverage
from pipeline.config import PipelineConfig
from pipeline.reading.loaders import load_document
from pipeline.reading.structure import build_structure

REAL_DOCS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "real-docs"
MARGIN = 3


def structured_gold_pages(path: Path, gold: dict, backend: str, workdir: Path):
    """The structured document of the gold page range (plus a margin), with gold pages renumbered to match."""
    pages = gold.get("pages")
    if path.suffix.lower() != ".pdf" or not pages:
        source = load_document(path, pdf_backend=backend)
        return build_structure(source), gold["measures"], source
    import pypdfium2 as pdfium

    original = pdfium.PdfDocument(path)
    first = max(1, pages[0] - MARGIN)
    last = min(len(original), pages[1] + MARGIN)
    excerpt = pdfium.PdfDocument.new()
    excerpt.import_pages(original, list(range(first - 1, last)))
    cut = workdir / path.name
    excerpt.save(cut)
    source = load_document(cut, pdf_backend=backend)
    measures = [{**m, "page": m["page"] - first + 1 if m.get("page") else None} for m in gold["measures"]]
    return build_structure(source), measures, source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default=PipelineConfig().pdf_backend, help="the PDF backend (default: tiltak's)")
    parser.add_argument("--show-missed", action="store_true")
    args = parser.parse_args()
    if not REAL_DOCS.is_dir():
        sys.exit(f"{REAL_DOCS} is absent")
    total = readable = 0
    with tempfile.TemporaryDirectory() as tmp:
        for gold_path in sorted(REAL_DOCS.glob("*.pages.gold.json")):
            gold = json.loads(gold_path.read_text(encoding="utf-8"))
            started = time.perf_counter()
            structured, measures, source = structured_gold_pages(REAL_DOCS / gold["file"], gold, args.backend,
                                                                 Path(tmp))
            seconds = time.perf_counter() - started
            results = reading_coverage(structured, measures)
            ok = sum(r.readable for r in results)
            total += len(results)
            readable += ok
            found = sum(r.found for r in results)
            one = sum(r.found and r.one_block for r in results)
            print(f"{gold['file']}: {ok}/{len(results)} readable (found {found}, in one block {one}); "
                  f"{source.page_count or '-'} pages in {seconds:.1f} s")
            if args.show_missed:
                for r in results:
                    if not r.readable:
                        why = "not found" if not r.found else "split over blocks" if not r.one_block else "wrong page"
                        print(f"    [{why}] p{r.page}: {r.text[:110]}")
    print(f"overall: {readable}/{total} = {readable / total:.1%} readable")


if __name__ == "__main__":
    main()
