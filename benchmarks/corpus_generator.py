"""Writes N Norwegian policy-style documents (the project's own templates, benchmarks/policy_text.py) as text and
PDF, for the throughput benchmarks.

    python benchmarks/corpus_generator.py OUT_DIR [--docs 200] [--pdf-share 0.5] [--seed 2026]

Deterministic for a seed. PDFs are A4 with a running header and page numbers, wrapped at ~90 characters, so
loading them exercises the same normalisation as real white papers.
"""

from __future__ import annotations

import argparse
import random
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from policy_text import document

LINES_PER_PAGE = 48


def write_pdf(path: Path, text: str, title: str) -> int:
    """The text as a PDF with a running header and page numbers; returns the page count."""
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    fonts = Path(reportlab.__file__).parent / "fonts"
    if "BenchSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("BenchSans", str(fonts / "Vera.ttf")))
    lines: list[str] = []
    for block in text.split("\n\n"):
        lines.extend(textwrap.wrap(block, 90) or [""])
        lines.append("")
    pdf = canvas.Canvas(str(path), pagesize=(595.27, 841.89), invariant=1)
    pages = 0
    for start in range(0, len(lines), LINES_PER_PAGE):
        pages += 1
        pdf.setFont("BenchSans", 8)
        pdf.drawString(60, 810, title)
        pdf.drawCentredString(297, 30, str(pages))
        pdf.setFont("BenchSans", 10)
        y = 780
        for line in lines[start : start + LINES_PER_PAGE]:
            pdf.drawString(60, y, line)
            y -= 15
        pdf.showPage()
    pdf.save()
    return pages


def generate(out: Path, docs: int, pdf_share: float = 0.5, seed: int = 2026) -> list[Path]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(docs):
        text = document(rng)
        if rng.random() < pdf_share:
            path = out / f"dokument-{number:04d}.pdf"
            write_pdf(path, text, f"Handlingsplan {number} (2026–2027)")
        else:
            path = out / f"dokument-{number:04d}.txt"
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--pdf-share", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    paths = generate(args.out, args.docs, args.pdf_share, args.seed)
    print(f"wrote {len(paths)} documents to {args.out}")


if __name__ == "__main__":
    main()
