"""Measures (tiltak) from document structure: the items of a list that a government intro line introduces.

A list holds measures when the line right before it commits the author to them: a paragraph ending with ":"
whose last sentence says "vil regjeringen:", "Regjeringa vil:", "Komiteen ber regjeringen:" and so on, or a
heading that names the list as measures ("Tolv utvalgte tiltak fra veikartet", "Tiltak"). Lists introduced by
goals, wishes or areas ("Komiteen ønsker …", "innsatsområder") are not. The patterns live in
``extractors/data/list_intros.yaml``.

Span rule (eval/GUIDELINES.md): the whole item without its marker, final period dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import yaml

from pipeline.schema import Block, BlockKind, Measure

METHOD_LIST_UNDER_INTRO = "list_under_intro"

# The last sentence of an intro paragraph is the one that introduces the list ("… områder. For å … vil
# regjeringen:"); earlier sentences may say anything ("Regjeringen mener …").
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\s»”\"']+(?=[«„\"A-ZÆØÅ0-9])")
# What may trail a list item without belonging to the measure: punctuation and a dangling conjunction.
_TRAILING = re.compile(r"(?:[\s.;,:]+|\s+(?:og|eller|samt)\b)+$")


class StructuredText(Protocol):
    """What the extractor needs from a structured document (see pipeline.structure)."""

    text: str
    blocks: list[Block]

    def block_by_id(self, block_id: str) -> Block: ...

    def section_path(self, block: Block) -> list[str]: ...


@dataclass(frozen=True)
class ListIntroRules:
    version: int
    commitment_intros: tuple[re.Pattern[str], ...]
    measure_headings: tuple[re.Pattern[str], ...]
    not_commitments: tuple[re.Pattern[str], ...]

    def introduces_measures(self, intro: Block, intro_text: str) -> bool:
        if intro.kind == BlockKind.HEADING:
            wording, patterns = intro_text, self.measure_headings
        elif intro.kind == BlockKind.PARAGRAPH and intro_text.rstrip(" »”\"'").endswith(":"):
            wording, patterns = last_sentence(intro_text), self.commitment_intros
        else:
            return False
        return _any(patterns, wording) and not _any(self.not_commitments, wording)


def _any(patterns: Iterable[re.Pattern[str]], text: str) -> bool:
    return any(p.search(text) for p in patterns)


@cache
def load_list_intro_rules(path: Path) -> ListIntroRules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def compile_all(key: str) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p, re.IGNORECASE) for p in data[key])

    return ListIntroRules(
        version=int(data["version"]),
        commitment_intros=compile_all("commitment_intros"),
        measure_headings=compile_all("measure_headings"),
        not_commitments=compile_all("not_commitments"),
    )


def last_sentence(text: str) -> str:
    return _SENTENCE_BREAK.split(text.strip())[-1]


def trim_measure_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``start:end`` so it holds the item without surrounding space and trailing punctuation."""
    item = text[start:end]
    stripped_left = len(item) - len(item.lstrip())
    match = _TRAILING.search(item)
    cut_right = len(item) - match.start() if match else 0
    return start + stripped_left, max(start + stripped_left, end - cut_right)


def _dedupe_key(text: str) -> str:
    return " ".join(text.casefold().split())


def extract_list_measures(doc: StructuredText, rules: ListIntroRules) -> list[Measure]:
    """Every item of a list introduced as measures, once each, in document order."""
    measures: list[Measure] = []
    seen: set[str] = set()
    verdicts: dict[str, bool] = {}
    for block in doc.blocks:
        if block.kind != BlockKind.LIST_ITEM or not block.intro_block or not block.list_id:
            continue
        if block.list_id not in verdicts:
            intro = doc.block_by_id(block.intro_block)
            verdicts[block.list_id] = rules.introduces_measures(intro, doc.text[intro.start : intro.end])
        if not verdicts[block.list_id]:
            continue
        start, end = trim_measure_span(doc.text, block.start, block.end)
        text = doc.text[start:end]
        key = _dedupe_key(text)
        if not text or key in seen:
            continue
        seen.add(key)
        intro = doc.block_by_id(block.intro_block)
        measures.append(
            Measure(
                id=f"m{len(measures) + 1}",
                text=text,
                start=start,
                end=end,
                page=block.page,
                block_id=block.id,
                section=doc.section_path(block),
                intro=doc.text[intro.start : intro.end],
                method=METHOD_LIST_UNDER_INTRO,
            )
        )
    return measures
