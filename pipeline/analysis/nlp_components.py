"""spaCy components of the tiltak pipelines, registered as factories so saved pipelines name them in config.

``tiltak_block_boundaries`` runs before the parser: a blank line in the normalised text separates two blocks
(a heading, a list item, a paragraph), so the next token starts a sentence. Policy documents are full of
headings without a final period and list items that are fragments; without this, the parser glues a heading
to the first sentence under it. The parser keeps boundaries set before it.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

# A full stop after a year ("innen 2027.") or a decimal/time ("kl. 10.30.") ends a sentence; spaCy's Norwegian
# defaults keep it on the number, as for ordinals ("1. januar"), so the sentence would not end there.
SENTENCE_FINAL_NUMBER_SUFFIXES = [r"(?<=[0-9]{4})\.", r"(?<=[0-9][.,:][0-9]{2})\."]


def with_sentence_final_numbers(nlp: Language) -> Language:
    """Split the full stop off years and decimals in ``nlp``'s tokenizer (idempotent)."""
    from spacy.util import compile_suffix_regex

    suffixes = list(nlp.Defaults.suffixes) + SENTENCE_FINAL_NUMBER_SUFFIXES
    nlp.tokenizer.suffix_search = compile_suffix_regex(suffixes).search
    return nlp


# Abbreviations of budget propositions and committee recommendations that spaCy's Norwegian tokenizer splits
# ("kap. 1300, post 01", "jfr. Innst. 12 S"), so that their full stop would end the sentence mid-measure.
POLICY_ABBREVIATIONS = ["kap.", "Kap.", "jfr.", "Jfr.", "vedl.", "Vedl.", "stk.", "tab.", "Tab.", "fig.", "Fig."]


def with_policy_abbreviations(nlp: Language) -> Language:
    """Keep the full stop on the abbreviations above in ``nlp``'s tokenizer (idempotent)."""
    from spacy.symbols import ORTH

    for abbreviation in POLICY_ABBREVIATIONS:
        nlp.tokenizer.add_special_case(abbreviation, [{ORTH: abbreviation}])
    return nlp


class BlockBoundaries:
    def __init__(self, name: str, min_newlines: int) -> None:
        self.name = name
        self.min_newlines = min_newlines

    def __call__(self, doc: Doc) -> Doc:
        for token in doc[:-1]:
            # spaCy's tokenizer keeps a run of newlines as a whitespace token of its own.
            if token.is_space and token.text.count("\n") >= self.min_newlines:
                doc[token.i + 1].is_sent_start = True
        return doc

    # Stateless apart from config: nothing to save.
    def to_disk(self, path, *, exclude=()) -> None:
        return None

    def from_disk(self, path, *, exclude=()) -> BlockBoundaries:
        return self

    def to_bytes(self, *, exclude=()) -> bytes:
        return b""

    def from_bytes(self, data: bytes, *, exclude=()) -> BlockBoundaries:
        return self


@Language.factory("tiltak_block_boundaries", default_config={"min_newlines": 2})
def make_block_boundaries(nlp: Language, name: str, min_newlines: int) -> BlockBoundaries:
    return BlockBoundaries(name, min_newlines)
