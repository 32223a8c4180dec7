"""Offsets into a text as the user gave it, for ``tiltak.analyse_text``.

The pipeline works on a normalised text (blocks separated by one blank line, runs of spaces made one, control
characters and soft hyphens dropped, NFC, ligatures spelled out); every offset of a result points into that text.
A caller who passed a string wants offsets into *their* string: ``remap_result`` aligns the two texts character by
character and moves every span (blocks, measures, mentions, amounts, deadlines) into the original.

The alignment walks both texts once (linear): a character of the normalised text is found in the original a short
way ahead (what normalisation dropped lies in between); whitespace the normaliser inserted (a block separator)
matches only whitespace right there. Every span with a text is then checked: its slice of the original must read as
its normalised text (compared with whitespace, NFKC and soft hyphens folded). If one does not, nothing is moved: the
result keeps the normalised text and its offsets, with a warning saying so.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pipeline.schema import DocumentResult

# How far ahead in the original a normalised character is looked for: longer than anything normalisation drops from a
# typed text (a run of spaces, a soft hyphen, a control character), short enough that a character replaced by the
# normaliser does not make the alignment jump to a far-off match.
LOOKAHEAD = 64
NOT_ALIGNED_WARNING = ("offsets: the text could not be aligned with the string given, so the result's text is the "
                       "normalised text and its offsets point into it")
_SPACES = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).replace("\u00ad", "")).strip()


def _matches(char: str, original: str) -> bool:
    return char == original or unicodedata.normalize("NFKC", original)[:1] == char


def offset_map(normalised: str, original: str) -> list[int]:
    """For each index of ``normalised``, the index of the same character in ``original``."""
    mapping: list[int] = []
    j, n, pending = 0, len(original), ""
    last = max(n - 1, 0)
    for char in normalised:
        if pending and char == pending[0]:  # the rest of one original character spelled out ("ﬁ" → "fi")
            mapping.append(max(j - 1, 0))
            pending = pending[1:]
            continue
        pending = ""
        if char.isspace():
            if j < n and original[j].isspace():
                mapping.append(j)
                j += 1
            else:  # a separator the normaliser inserted
                mapping.append(min(j, last))
            continue
        k, limit = j, min(n, j + LOOKAHEAD)
        while k < limit and not _matches(char, original[k]):
            k += 1
        if k < limit:
            folded = unicodedata.normalize("NFKC", original[k])
            pending = folded[1:] if len(folded) > 1 else ""
            mapping.append(k)
            j = k + 1
        else:  # a character the normaliser replaced (a symbol-font bullet made "•")
            mapping.append(min(j, last))
            if j < n and not original[j].isspace():
                j += 1
    return mapping


def _spans(value: Any):
    """Every dict of the result's JSON data that is a span (``start`` and ``end``)."""
    if isinstance(value, dict):
        if isinstance(value.get("start"), int) and isinstance(value.get("end"), int):
            yield value
        for item in value.values():
            yield from _spans(item)
    elif isinstance(value, list):
        for item in value:
            yield from _spans(item)


def remap_result(result: DocumentResult, original: str) -> DocumentResult:
    """``result`` with ``text`` = ``original`` and every span's offsets (and text) moved into it; unchanged, with
    ``NOT_ALIGNED_WARNING``, when a span's text is not found where the alignment puts it."""
    if result.text == original:
        return result
    mapping = offset_map(result.text, original)
    data = result.model_dump(mode="json")
    spans = [span for key in ("blocks", "measures", "actors", "persons", "commitments") for span in _spans(data[key])]
    for span in spans:
        start, end = span["start"], span["end"]
        if start >= len(mapping):
            new_start = new_end = len(original)
        else:
            new_start = mapping[start]
            new_end = mapping[end - 1] + 1 if end > start else new_start
        if "text" in span:
            if _fold(original[new_start:new_end]) != _fold(span["text"]):
                document = result.document.model_copy(update={"warnings": [*result.document.warnings,
                                                                          NOT_ALIGNED_WARNING]})
                return result.model_copy(update={"document": document})
            span["text"] = original[new_start:new_end]
        span["start"], span["end"] = new_start, new_end
    data["text"] = original
    data["document"]["char_count"] = len(original)
    return DocumentResult.model_validate(data)
