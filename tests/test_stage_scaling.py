"""Normalise + structure and extraction take time linear in the length of the text, whatever its shape.

Each shape is built at 10,000 and 100,000 characters and run through the real stages (the text loader,
``build_structure``, the shipped spaCy pipeline, ``extract``). Linear work takes about 10× as long on the larger
text, quadratic work 100×; the larger run may take at most 25× the smaller (each the best of two runs, against a
floor of 0.1 s so that a very fast small run does not make the bound tight on a busy machine), and must finish in
seconds. Before issue #13 a list item running on into an 85 KB paragraph took minutes in extraction, and a
dotted table-of-contents line never returned.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from extractors.extract import extract
from pipeline.analysis.nlp import load_nlp, parse
from pipeline.config import PipelineConfig
from pipeline.reading.loaders import load_document
from pipeline.reading.structure import build_structure
from pipeline.schema import BlockKind

SMALL, LARGE = 10_000, 100_000
MAX_RATIO = 25  # linear is 10, quadratic 100
FLOOR_SECONDS = 0.1
MAX_SECONDS = {"structure": 20.0, "extract": 60.0}  # the larger text, on a busy machine; minutes before the fix

SENTENCES = [
    "Regjeringen vil etablere et nasjonalt senter for helsedata i {year}",
    "Helsedirektoratet gis i oppdrag å utrede en ny ordning for finansiering av kliniske studier",
    "For å styrke helsenæringen vil regjeringen bevilge {n} millioner kroner til forskning innen {year}, sier "
    "næringsministeren",
    "Departementet skal også vurdere tiltak for bedre samarbeid mellom sykehusene og industrien i Nord-Norge",
    "Målet er at flere norske bedrifter skal lykkes internasjonalt, og at pasientene får raskere tilgang til nye "
    "behandlinger",
]


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _wrapped(text: str, width: int = 72) -> str:
    """``text`` printed in lines of about ``width`` characters, some words hyphenated across the break."""
    lines, line = [], ""
    for number, word in enumerate(text.split(" ")):
        if len(line) + len(word) + 1 > width and line:
            if number % 7 == 0 and len(word) > 8:  # "helse-⏎næringen"
                lines.append(f"{line} {word[:4]}-")
                line = word[4:]
                continue
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


def one_line(size: int) -> str:
    """(a) One line without a newline or a full stop: one long sentence for the NLP and the extractors. (Without
    "i oppdrag": the old search for who is given a task then read the rest of the text from every offset.)"""
    prose = ", ".join(s.format(year=2025, n=50) for s in SENTENCES if "i oppdrag" not in s) + ", "
    return _fill(prose, size)


def item_then_paragraph(size: int) -> str:
    """(b) A list item under a committing intro, and one huge paragraph printed right under it: the item runs on."""
    head = "Regjeringen vil:\n\n- etablere et nasjonalt senter for helsedata\n"
    prose = " ".join(f"{s.format(year=2000 + n % 30, n=n)}." for n in range(size // 300 + 2) for s in SENTENCES)
    return head + _wrapped(prose[: size - len(head)])


def table_of_contents(size: int) -> str:
    """(c) A dotted table of contents: "1.2 Tittel ........ 12" lines, and numbered items with a dotted leader."""
    lines, number = ["Innhold"], 0
    while sum(len(line) + 1 for line in lines) < size:
        number += 1
        chapter, section = divmod(number, 9)
        if number % 10 == 0:
            lines.append(f"{number % 90 + 1}. juli 2026 " + "." * 100 + f" {number + 3}")
        else:
            lines.append(f"{chapter + 1}.{section + 1} Tittel på kapittel {number} " + "." * 60 + f" {number + 3}")
    return "\n".join(lines)[:size]


def policy_prose(size: int) -> str:
    """(d) A policy document: headings, paragraphs, a list of measures under "vil regjeringen:", repeated."""
    parts, n = [], 0
    while sum(len(part) + 2 for part in parts) < size:
        n += 1
        parts += [
            f"{n} Satsing på helsenæringen",
            " ".join(f"{s.format(year=2000 + n % 30, n=n)}." for s in SENTENCES),
            "For å nå målene vil regjeringen:",
            *(f"- {verb} ordning nummer {n * 10 + k} for kommune {n}" for k, verb in
              enumerate(["etablere", "utrede", "styrke", "innføre"])),
        ]
    return "\n\n".join(parts)[:size]


SHAPES = {"one line": one_line, "list item then huge paragraph": item_then_paragraph,
          "dotted table of contents": table_of_contents, "policy prose": policy_prose}


def _best_of_two(run):
    timings, result = [], None
    for _ in range(2):
        started = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def _stages(path: Path, config: PipelineConfig, nlp):
    source = load_document(path)
    structure_seconds, structured = _best_of_two(lambda: build_structure(source))
    doc = parse(nlp, structured.text)
    extract_seconds, extraction = _best_of_two(lambda: extract(structured, doc, config))
    return {"structure": structure_seconds, "extract": extract_seconds}, structured, extraction


@pytest.fixture(scope="module")
def nlp():
    return load_nlp(PipelineConfig().nlp)


@pytest.mark.parametrize("shape", SHAPES)
def test_structure_and_extraction_scale_linearly(tmp_path, nlp, shape):
    config = PipelineConfig()
    runs = {}
    for size in (SMALL, LARGE):
        path = tmp_path / f"{size}.txt"
        path.write_text(SHAPES[shape](size), encoding="utf-8")
        runs[size] = _stages(path, config, nlp)
    timings, structured, extraction = runs[LARGE]

    # The stages did their work on the large text: every span points into it, and the shape's measures are there.
    assert len(structured.text) >= 0.9 * LARGE
    for measure in extraction.measures:
        assert structured.text[measure.start:measure.end] == measure.text
    if shape == "list item then huge paragraph":
        item = next(block for block in structured.blocks if block.kind == BlockKind.LIST_ITEM)
        assert item.end - item.start > 0.9 * LARGE  # the paragraph runs on in the item, which is one measure
        assert any(m.block_id == item.id and m.end - m.start > 0.9 * LARGE for m in extraction.measures)
    if shape == "policy prose":
        assert len(extraction.measures) > 4 * len(runs[SMALL][2].measures)

    for stage, seconds in timings.items():
        small = runs[SMALL][0][stage]
        assert seconds < MAX_SECONDS[stage], f"{shape}: {stage} took {seconds:.1f} s on {LARGE} characters"
        assert seconds <= MAX_RATIO * max(small, FLOOR_SECONDS), (
            f"{shape}: {stage} took {seconds:.2f} s on {LARGE} characters and {small:.3f} s on {SMALL}: "
            f"{seconds / small:.0f}×, more than linear")
