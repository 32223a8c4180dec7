"""Normalisation that Norwegian PDFs and office files need, line by line, before structure is detected.

* characters: Unicode NFC, soft hyphens dropped, typographic ligatures (ﬁ, ﬂ …) spelled out, no-break and thin
  spaces (and a symbol font's private-use space U+F020) made plain spaces, zero-width and control characters
  dropped, symbol-font bullets made "•" (its dash "–");
* page furniture: running headers and footers (a line at the top or bottom of several pages that differs only in
  its numbers) and page numbers are removed, and what was removed is reported;
* hyphenation: a word split across a line break is joined ("helse-⏎næringen" → "helsenæringen"), while real
  hyphens stay: "helse- og omsorgstjenesten" (a compound joined by og/eller), "e-helse", "EU-midler",
  "FoU-innsats", "Nord-Norge", and any hyphenated word the document also writes unbroken with its hyphen.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.reading.source import SourceLine

LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
             "\ufb06": "st", "\u0132": "IJ", "\u0133": "ij"}
# U+F020 is the space of a symbol font (Symbol, Wingdings) as Word writes it after a bullet ("\uf0b7\uf020Tekst").
SPACES = {"\u00a0", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a",
          "\u202f", "\u205f", "\u3000", "\t", "\uf020"}
DROPPED = {"\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}
SYMBOL_FONT_BULLETS = {"\uf0b7", "\uf0a7", "\uf076", "\uf0d8", "\uf0fc", "\uf0a8", "\uf06e", "\uf0be"}
# The symbol font's minus or dash (U+F02D, Symbol 0x2D) set as a bullet: a dash item, "–".
SYMBOL_FONT_DASHES = {"\uf02d"}
_TRANSLATION = str.maketrans({**LIGATURES, **dict.fromkeys(SPACES, " "), **dict.fromkeys(DROPPED, None),
                              **dict.fromkeys(SYMBOL_FONT_BULLETS, "•"), **dict.fromkeys(SYMBOL_FONT_DASHES, "–"),
                              **{chr(c): None for c in range(32) if c not in (9, 10)}, "\x7f": None})
_MULTISPACE = re.compile(r" {2,}")

# Words that join two compounds sharing a last part ("helse- og omsorgstjenesten", "forsknings- eller …").
COMPOUND_CONJUNCTIONS = frozenset({"og", "eller", "samt", "enn", "and", "or"})
HYPHENS = ("-", "\u2010")
# A word broken over a line is read back from the hyphen at most this far: no Norwegian word is longer, and a
# bounded look keeps joining a paragraph's lines linear however long the paragraph or its "words" (a pattern
# "([\w]+)-$" searched the whole paragraph again at every line, and a long run of letters from every offset).
WORD_MAX_CHARS = 100
_FIRST_WORD = re.compile(r"^([\wæøåÆØÅ]+)")
_WORDS = re.compile(r"[\wæøåÆØÅ]+(?:-[\wæøåÆØÅ]+)*")

# Possessive runs of spaces: "\s*[-–—]?\s*" tried every split of a run of spaces between its two halves.
PAGE_NUMBER = re.compile(
    r"^(?:(?:side|s\.|page)\s*+)?[-–—]?\s*+(?:\d{1,4}|[ivxlc]{1,6})\s*+[-–—]?(?:\s*+(?:av|of|/)\s*+\d{1,4})?$", re.I)
_DIGITS = re.compile(r"\d+")
FURNITURE_ZONE = 0.12  # the top and bottom 12 % of a page hold running headers and footers
FURNITURE_LINES = 2  # at most this many lines at each end of a page


def normalise_line(text: str) -> str:
    text = unicodedata.normalize("NFC", text.translate(_TRANSLATION))
    return _MULTISPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class RemovedLine:
    page: int | None
    text: str
    reason: str  # "page_number" | "running_header" | "running_footer"


def _furniture_key(text: str) -> str:
    """The line with its numbers blanked and its words in a fixed order: a book's mirrored running headers ("17 Prop.
    1 LS 2025–2026" on even pages, "2025–2026 Prop. 1 LS 18" on odd ones) are one header."""
    return " ".join(sorted(_DIGITS.sub("#", text.casefold()).split()))


def _page_ends(lines: list[SourceLine], indexes: list[int], page_height: float | None) -> tuple[list[int], list[int]]:
    """Indexes of the lines that may be a header (top) or footer (bottom) of one page."""
    top = indexes[:FURNITURE_LINES]
    bottom = indexes[-FURNITURE_LINES:]
    if page_height:
        top = [i for i in top if lines[i].layout is None or lines[i].layout.top <= FURNITURE_ZONE * page_height]
        bottom = [i for i in bottom
                  if lines[i].layout is None or lines[i].layout.bottom >= (1 - FURNITURE_ZONE) * page_height]
    else:  # no layout: only the very first and last line of a page
        top, bottom = indexes[:1], indexes[-1:]
    return top, bottom


def remove_page_furniture(lines: list[SourceLine], page_heights: dict[int, float | None]
                          ) -> tuple[list[SourceLine], list[RemovedLine]]:
    """Drop running headers/footers and page numbers from a paginated source."""
    by_page: dict[int, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        if line.page is not None:
            by_page[line.page].append(index)
    if len(by_page) < 2:
        return lines, []
    ends = {page: _page_ends(lines, indexes, page_heights.get(page)) for page, indexes in by_page.items()}
    pages_with_key: dict[str, set[int]] = defaultdict(set)
    for page, (top, bottom) in ends.items():
        for index in {*top, *bottom}:
            pages_with_key[_furniture_key(lines[index].text)].add(page)
    needed = 2 if len(by_page) <= 5 else 3
    removed: dict[int, RemovedLine] = {}
    for page, (top, bottom) in ends.items():
        for position, candidates in (("header", top), ("footer", bottom)):
            for index in candidates:
                text = lines[index].text
                if PAGE_NUMBER.match(text.strip()):
                    removed[index] = RemovedLine(page, text, "page_number")
                elif len(pages_with_key[_furniture_key(text)]) >= needed:
                    removed[index] = RemovedLine(page, text, f"running_{position}")
    kept = [line for index, line in enumerate(lines) if index not in removed]
    return kept, [removed[i] for i in sorted(removed)]


def document_vocabulary(texts: Iterable[str]) -> Counter[str]:
    """Casefolded words of the document, hyphenated words whole, to decide how a broken word is joined."""
    vocabulary: Counter[str] = Counter()
    for text in texts:
        vocabulary.update(word.casefold() for word in _WORDS.findall(text))
    return vocabulary


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"  # what "\w" matches


def hyphenated_stem(text: str) -> str | None:
    """The word before a hyphen that ends ``text`` ("om helse-" → "helse"), at most WORD_MAX_CHARS long; else
    None. Reads only the end of ``text``."""
    if not text.endswith(HYPHENS):
        return None
    end = len(text) - 1
    start = end
    while start > max(0, end - WORD_MAX_CHARS) and _word_char(text[start - 1]):
        start -= 1
    return text[start:end] or None


def join_wrapped(left: str, right: str, vocabulary: Counter[str] | None = None) -> str:
    """Join two printed lines of one paragraph, repairing a word hyphenated across the break."""
    if not left:
        return right
    if not right:
        return left
    stem = hyphenated_stem(left)
    after = _FIRST_WORD.match(right)
    if not stem or not after or left.endswith(" -"):
        return f"{left} {right}"
    next_word = after.group(1)
    keep_hyphen = (
        next_word.casefold() in COMPOUND_CONJUNCTIONS
        or len(stem) == 1  # e-helse, e-resept
        or any(ch.isdigit() for ch in stem)  # 2025-planen
        or sum(ch.isupper() for ch in stem) >= 2  # EU-, FoU-, NHO-
        or next_word[0].isupper()  # Nord-Norge, Helse-Norge
        or next_word[0].isdigit()
    )
    if not keep_hyphen and vocabulary is not None:
        hyphenated = f"{stem}-{next_word}".casefold()
        joined = f"{stem}{next_word}".casefold()
        keep_hyphen = vocabulary[hyphenated] > 0 and vocabulary[joined] == 0
    if not keep_hyphen:
        return f"{left[:-1]}{right}"
    if next_word.casefold() in COMPOUND_CONJUNCTIONS:
        return f"{left} {right}"
    return f"{left}{right}"
