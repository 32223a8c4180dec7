"""Real published documents through the real flow (issue #13): the contents pages of a regjeringen.no budget
proposition, whose dotted leader lines once sent a list-item pattern into hours of backtracking, finish with the
rest of the batch. The documents are read from ``../shared/corpora/real-docs`` (never committed; see
``corpus/SOURCES.md``); the test skips with the reason when that folder is absent."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fault_inputs import norwegian_text

from pipeline.store.validate import document_errors, manifest_errors

REAL_DOCS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "real-docs"
PROP_1_LS = REAL_DOCS / "prop-1-ls-2025-2026.pdf"
# PDF page indexes (0-based): the contents pages (printed with dotted leaders to their page numbers) and chapter 1.
CONTENTS_PAGES = range(4, 14)
CHAPTER_ONE = range(18, 23)
LEADER = re.compile(r"(?:\.\s?){8,}|…{3,}")


def test_contents_pages_of_a_real_budget_proposition_finish_with_the_batch(prefect_harness, tmp_path):
    if not PROP_1_LS.is_file():
        pytest.skip(f"{PROP_1_LS} is absent (../shared/corpora/real-docs is read, never committed)")
    import json

    import pypdfium2 as pdfium

    from flows import process_corpus

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    source = pdfium.PdfDocument(PROP_1_LS)
    excerpt = pdfium.PdfDocument.new()
    excerpt.import_pages(source, [*CONTENTS_PAGES, *CHAPTER_ONE])
    excerpt.save(corpus / "prop-1-ls-utdrag.pdf")
    pages_text = "".join(excerpt[i].get_textpage().get_text_range() for i in range(len(CONTENTS_PAGES)))
    assert len(LEADER.findall(pages_text)) > 100, "the excerpt should hold the contents pages' leader lines"
    (corpus / "plan.txt").write_text(norwegian_text("skatteforvaltning"), encoding="utf-8")

    started = time.perf_counter()
    manifest = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="best")
    seconds = time.perf_counter() - started

    assert manifest_errors(manifest) == []
    records = {Path(r["source"]).name: r for r in manifest["documents"]}
    assert all(r["status"] in ("processed", "cached") for r in records.values()), records
    document = json.loads((out / records["prop-1-ls-utdrag.pdf"]["output"]).read_text(encoding="utf-8"))
    assert document_errors(document) == []
    assert document["document"]["page_count"] == len(CONTENTS_PAGES) + len(CHAPTER_ONE)
    # The contents lines are not measures; chapter 1's proposals are found on its pages.
    assert not [m["text"] for m in document["measures"] if LEADER.search(m["text"])]
    assert document["measures"], "chapter 1 proposes changes: some must be found"
    assert all(m["page"] > len(CONTENTS_PAGES) for m in document["measures"])
    # Minutes on a busy machine at most, where the whole proposition once never finished.
    assert seconds < 300, f"the run took {seconds:.0f} s"
