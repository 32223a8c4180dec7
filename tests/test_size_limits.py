"""Size-proof loading and NLP input (issue #13): small or large files that expand into hours of work or gigabytes
of memory finish in bounded time and memory, processed or refused with a clear one-line reason.

Memory is measured by a child process of its own (its peak RSS), so that the test process's own history does not
count; the bounds are generous (several times what the fixed code needs, well under what the unbounded code took).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from builders import write_docx
from fault_inputs import (
    write_docx_big_table,
    write_docx_xml_bomb,
    write_huge_html,
    write_huge_page_pdf,
    write_many_paragraphs_docx,
)

from pipeline.analysis.nlp import MAX_SEGMENT_CHARS, PIECE_CHARS, load_nlp, parse, parse_many, split_for_parsing
from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig
from pipeline.errors import DocumentError, UnsupportedFormatError
from pipeline.reading.loaders import LoadLimits, load_document
from pipeline.reading.loaders.html import MAX_HTML_BYTES

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "Regjeringen vil etablere et nasjonalt kompetansesenter for helseteknologi i Tromsø og Bodø. "
RUN_ON = "regjeringen vil styrke næringen i hele landet og i Tromsø og Bodø "  # no full stop, no capital


def _in_child(code: str, timeout: float = 600) -> dict:
    """Run ``code`` (which sets ``result``, a JSON value) in a fresh Python; its result, peak RSS and seconds."""
    script = textwrap.dedent("""
        import json, sys, time
        sys.path[:0] = [{repo!r}, {tests!r}]
        started = time.perf_counter()
    """).format(repo=str(REPO), tests=str(REPO / "tests")) + textwrap.dedent(code) + textwrap.dedent("""
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked parent (a large pytest process) into
        # the exec'd child, while VmHWM belongs to this program's own memory.
        peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        print(json.dumps({"result": result, "seconds": time.perf_counter() - started, "rss_mb": peak / 1024}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- max_bytes: the size from the file system, before the file is read ----------------------------------------------


def test_file_over_max_bytes_is_refused_before_it_is_read(tmp_path):
    huge = tmp_path / "stor.txt"
    with huge.open("wb") as handle:  # sparse: 3 GB by its size, nothing on disk
        handle.write("Regjeringen vil styrke næringen.\n".encode())
        handle.truncate(3_000_000_000)

    started = time.perf_counter()
    with pytest.raises(UnsupportedFormatError) as caught:
        load_document(huge, LoadLimits.starting_now(max_bytes=PipelineConfig().max_bytes))

    assert time.perf_counter() - started < 5  # reading 3 GB would take far longer (and the memory)
    message = str(caught.value)
    assert message.startswith(f"{huge}: load: file has 3,000,000,000 bytes, more than the limit of 200,000,000 "
                              "(max_bytes)")
    assert "raise it with `max_bytes = 3000000000`" in message and "\n" not in message


def test_max_bytes_is_a_setting_of_the_run(tmp_path):
    page = tmp_path / "notat.txt"
    page.write_text("Regjeringen vil styrke næringen i hele landet.\n" * 100, encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        analyse_document(page, PipelineConfig(max_bytes=1000))
    assert caught.value.stage == "load" and "(max_bytes)" in caught.value.reason
    assert PipelineConfig().max_bytes == 200_000_000


# --- NLP input: long texts in pieces, offsets exact, sentences bounded -----------------------------------------------


def test_pieces_cover_the_text_exactly_and_respect_the_bounds():
    blocks = [SENTENCE * 40, RUN_ON * 200, "x" * 5000, "Kort avsnitt.", SENTENCE * 700]
    text = "\n\n".join(blocks)
    pieces = split_for_parsing(text)

    assert pieces[0][0] == 0 and pieces[-1][1] == len(text)
    assert all(a < b for a, b in pieces) and all(b == c for (_a, b), (c, _d) in itertools.pairwise(pieces))
    assert max(b - a for a, b in pieces) <= PIECE_CHARS
    # Every block longer than a segment is cut into segments of at most that, after a space where there is one.
    long_run = text.index(RUN_ON)
    inside = [(a, b) for a, b in pieces if long_run <= a < long_run + len(RUN_ON) * 200]
    assert len(inside) > 1 and all(b - a <= MAX_SEGMENT_CHARS for a, b in inside)
    assert all(text[b - 1] == " " for a, b in inside[:-1])
    # The block of sentences is cut after full stops.
    last_block = text.rindex(SENTENCE * 700)
    assert all(text[b - 2:b] == ". " for a, b in pieces if last_block <= a and b < len(text))


def test_a_normal_text_is_one_piece():
    text = "\n\n".join([SENTENCE * 5] * 50)
    assert split_for_parsing(text) == [(0, len(text))]


def test_long_texts_are_parsed_in_pieces_with_exact_offsets_and_bounded_sentences():
    loaded = load_nlp("best")
    text = "Plan for næringen\n\n" + RUN_ON * 150 + "\n\n" + (SENTENCE * 10 + "\n\n") * 120
    assert len(text) > PIECE_CHARS

    doc = parse(loaded, text)

    assert doc.text == text
    assert all(text[token.idx:token.idx + len(token.text)] == token.text for token in doc)
    sentences = list(doc.sents)
    assert max(len(sentence.text) for sentence in sentences) <= MAX_SEGMENT_CHARS
    assert doc[0].is_sent_start and doc.has_annotation("DEP")
    # A block of the pieces keeps its own parse: the heading is its own sentence, as in a whole-text parse.
    assert sentences[0].text.strip() == "Plan for næringen"


def test_a_short_text_parses_exactly_as_in_one_call():
    loaded = load_nlp("best")
    text = "Regjeringen vil styrke næringen.\n\nFor å nå målet vil regjeringen:\n\n• etablere et senter i Bodø"
    doc = parse(loaded, text)
    whole = loaded.nlp(text)
    assert [(t.text, t.pos_, t.dep_, t.head.i, t.is_sent_start) for t in doc] == \
        [(t.text, t.pos_, t.dep_, t.head.i, t.is_sent_start) for t in whole]


def test_parse_many_keeps_the_order_of_short_and_long_texts():
    loaded = load_nlp("blank")
    texts = ["Kort tekst.", RUN_ON * 1000, "", "\n\n".join([SENTENCE * 20] * 40), "Siste tekst."]
    docs = list(parse_many(loaded, texts))
    assert [doc.text for doc in docs] == texts


def test_parse_checks_the_clock_between_batches():
    loaded = load_nlp("blank")
    text = "\n\n".join([SENTENCE * 20] * 600)  # over a MB: several batches
    calls = []

    def check() -> None:
        calls.append(time.monotonic())
        raise DocumentError("tekst.txt", "nlp", "took longer than 1 s (max_seconds_per_document)")

    with pytest.raises(DocumentError, match="max_seconds_per_document"):
        parse(loaded, text, check)
    assert len(calls) == 1


def test_one_line_of_a_megabyte_stops_at_the_time_limit_in_bounded_memory(tmp_path):
    """A 1 MB text on one line: parsed whole it took 2.3 GB and ran on past the limit; in pieces the clock is
    checked between batches."""
    path = tmp_path / "en_linje.txt"
    path.write_text((SENTENCE * (1_000_000 // len(SENTENCE) + 1))[:1_000_000], encoding="utf-8")
    run = _in_child(f"""
        from pathlib import Path
        from pipeline.config import PipelineConfig
        from pipeline.errors import DocumentError
        from pipeline.analysis.process import analyse_document
        try:
            analyse_document(Path({str(path)!r}), PipelineConfig(max_seconds_per_document=3))
            result = "processed"
        except DocumentError as exc:
            result = [exc.stage, exc.reason]
    """)
    assert run["result"] == ["nlp", run["result"][1]] and "max_seconds_per_document" in run["result"][1]
    assert run["seconds"] < 120  # the check fires after the first batch of pieces
    assert run["rss_mb"] < 1500, run


def test_twenty_megabytes_on_one_line_fail_with_a_reason_in_bounded_memory(tmp_path):
    """20 MB on one line: over max_chars refused at once; just under it, stopped by the time limit, not by the
    machine's memory."""
    over = tmp_path / "over.txt"
    over.write_bytes((RUN_ON.replace("ø", "o") * (21_000_000 // len(RUN_ON) + 1)).encode()[:21_000_000])
    under = tmp_path / "under.txt"
    under.write_bytes((SENTENCE * (20_000_000 // len(SENTENCE.encode()) + 1)).encode()[:20_000_000])
    run = _in_child(f"""
        from pathlib import Path
        from pipeline.config import PipelineConfig
        from pipeline.errors import DocumentError
        from pipeline.analysis.process import analyse_document
        result = []
        for name in ("over.txt", "under.txt"):
            try:
                analyse_document(Path({str(tmp_path)!r}) / name, PipelineConfig(max_seconds_per_document=10))
                result.append("processed")
            except DocumentError as exc:
                result.append([exc.stage, exc.reason])
    """)
    over_result, under_result = run["result"]
    assert over_result[0] == "load" and "(max_chars)" in over_result[1]
    assert under_result[0] in ("structure", "nlp") and "max_seconds_per_document" in under_result[1]
    assert run["seconds"] < 240
    assert run["rss_mb"] < 2500, run


# --- DOCX: XML bounded, the clock checked in the loops ---------------------------------------------------------------


def test_docx_of_forty_thousand_paragraphs_stops_at_the_time_limit(tmp_path):
    path = write_many_paragraphs_docx(tmp_path / "mange.docx")
    started = time.perf_counter()
    with pytest.raises(DocumentError) as caught:
        load_document(path, LoadLimits.starting_now(max_seconds=0.5))
    assert time.perf_counter() - started < 15  # was 85 s past a 10 s limit
    assert caught.value.stage == "load" and "max_seconds_per_document" in caught.value.reason


def test_docx_of_forty_thousand_paragraphs_loads_in_seconds(tmp_path):
    path = write_many_paragraphs_docx(tmp_path / "mange.docx")
    started = time.perf_counter()
    document = load_document(path)
    assert time.perf_counter() - started < 60  # minutes before (a style lookup scanned every style per paragraph)
    assert len(document.lines) == 40_000
    assert document.lines[-1].text == "Tiltak 39999: regjeringen vil styrke næringen."


def test_docx_with_ten_megabytes_of_table_xml_loads(tmp_path):
    path = write_docx_big_table(tmp_path / "tabell.docx", megabytes=10)
    assert path.stat().st_size < 200_000
    started = time.perf_counter()
    document = load_document(path)
    assert time.perf_counter() - started < 120
    assert len(document.lines) > 50_000 and document.lines[0].text == "Celle 0 | Celle 1 | Celle 2"


def test_docx_holding_too_much_xml_is_refused_before_it_is_inflated(tmp_path):
    path = write_docx_xml_bomb(tmp_path / "bombe.docx", megabytes=100)
    started = time.perf_counter()
    with pytest.raises(UnsupportedFormatError, match=r"holds 1\d\d\.\d MB of XML in 0\.\d\d MB"):
        load_document(path)
    assert time.perf_counter() - started < 10


def test_docx_tables_read_from_the_xml_match_python_docx(tmp_path):
    """The table reader walks the XML itself: merged cells come out as python-docx gives them."""
    import docx

    path = write_docx(tmp_path / "tabell.docx", [("paragraph", "Tabellen under viser tiltakene.")])
    document = docx.Document(str(path))
    table = document.add_table(rows=4, cols=3)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"R{r}K{c} Sør"
    table.cell(0, 0).merge(table.cell(0, 1))  # horizontal
    table.cell(1, 2).merge(table.cell(3, 2))  # vertical over three rows
    table.cell(2, 0).paragraphs[0].add_run("\tmed tab")
    document.save(str(path))

    expected = []
    for row in docx.Document(str(path)).tables[0].rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        expected.append(" | ".join(cells))

    lines = [line.text for line in load_document(path).lines]
    assert lines == ["Tabellen under viser tiltakene.", *expected]
    assert any("R1K2 Sør" in line for line in lines[3:])  # the merged cell repeats in the rows it spans


# --- PDF: page geometry -----------------------------------------------------------------------------------------------


def test_pdf_page_twenty_million_points_wide_is_read_in_bounded_memory(tmp_path):
    path = write_huge_page_pdf(tmp_path / "bred.pdf")
    assert path.stat().st_size < 10_000
    run = _in_child(f"""
        from pathlib import Path
        from pipeline.reading.loaders import load_document
        document = load_document(Path({str(path)!r}))
        result = {{"lines": [line.text for line in document.lines], "warnings": document.warnings}}
    """)
    assert run["result"]["lines"][0] == "Linje 1: regjeringen vil styrke næringen i hele landet."
    assert len(run["result"]["lines"]) == 30
    assert any("larger than any paper size" in warning and "page 1" in warning
               for warning in run["result"]["warnings"])
    assert run["rss_mb"] < 1000, run  # the per-point grid took gigabytes
    assert run["seconds"] < 60


def test_a0_page_still_gets_column_detection(tmp_path):
    path = write_huge_page_pdf(tmp_path / "a0.pdf", width=2384)
    document = load_document(path)
    assert not any("larger than any paper" in warning for warning in document.warnings)
    assert len(document.lines) == 30


# --- HTML: bounded parse ----------------------------------------------------------------------------------------------


def test_html_of_thirty_megabytes_loads_in_bounded_memory(tmp_path):
    path = write_huge_html(tmp_path / "stor.html", megabytes=30)
    run = _in_child(f"""
        from pathlib import Path
        from pipeline.reading.loaders import load_document
        document = load_document(Path({str(path)!r}))
        result = [len(document.lines), document.lines[1].text, document.lines[-1].text]
    """)
    count, first, last = run["result"]
    assert first == "Tiltak 0: regjeringen vil styrke næringen i hele landet."
    assert count > 200_000 and last.startswith(f"Tiltak {count - 2}:")
    assert run["rss_mb"] < 1500, run
    assert run["seconds"] < 180


def test_html_over_the_parse_limit_is_refused_before_parsing(tmp_path):
    path = tmp_path / "enorm.html"
    with path.open("wb") as handle:
        handle.write(b'<!DOCTYPE html>\n<html lang="nb"><head><meta charset="utf-8"></head><body><main>')
        handle.write(b"<p>Regjeringen vil styrke n\xc3\xa6ringen.</p>\n" * 2000)
        handle.truncate(MAX_HTML_BYTES + 1)
    started = time.perf_counter()
    with pytest.raises(UnsupportedFormatError, match=r"HTML page of 40\.0 MB is larger than tiltak parses"):
        load_document(path)
    assert time.perf_counter() - started < 10
