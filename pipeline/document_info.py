"""Document-level facts detected from the text: which written standard it is in and what kind of document it is.

Both detectors are driven by data files (``pipeline/data/languages.yaml``, ``document_types.yaml``) so that
they can be tuned without touching code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from pipeline.rule_patterns import compile_rule
from pipeline.schema import DocumentType, Language

_WORD = re.compile(r"[a-zæøåäöüéèòóô]+", re.IGNORECASE)


@dataclass(frozen=True)
class LanguageProfiles:
    min_words: int
    norwegian_share: float
    norwegian: frozenset[str]
    bokmaal_only: frozenset[str]
    nynorsk_only: frozenset[str]
    others: dict[str, frozenset[str]]


@cache
def load_language_profiles(path: Path) -> LanguageProfiles:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    profiles = data["profiles"]
    nb, nn = set(profiles["nb"]), set(profiles["nn"])
    return LanguageProfiles(
        min_words=int(data["min_words"]),
        norwegian_share=float(data["norwegian_share"]),
        norwegian=frozenset(profiles["norwegian"]),
        # Words both standards use say nothing about which one a text is in.
        bokmaal_only=frozenset(nb - nn),
        nynorsk_only=frozenset(nn - nb),
        others={name: frozenset(words) for name, words in profiles["other_languages"].items()},
    )


def detect_language(text: str, profiles_path: Path) -> Language:
    profiles = load_language_profiles(profiles_path)
    words = [w.lower() for w in _WORD.findall(text[:200_000])]
    if len(words) < profiles.min_words:
        return Language.UNKNOWN
    norwegian_hits = sum(w in profiles.norwegian for w in words)
    other_best = max((sum(w in vocab for w in words) for vocab in profiles.others.values()), default=0)
    if norwegian_hits / len(words) < profiles.norwegian_share or other_best > norwegian_hits:
        return Language.OTHER
    nb_hits = sum(w in profiles.bokmaal_only for w in words)
    nn_hits = sum(w in profiles.nynorsk_only for w in words)
    return Language.NYNORSK if nn_hits > nb_hits else Language.BOKMAAL


LANGUAGE_NAMES = {"en": "English", "sv": "Swedish", "da": "Danish", "de": "German"}


def closest_other_language(text: str, profiles_path: Path) -> str | None:
    """The name of the non-Norwegian profile with the most hits in ``text`` ("en", "de" …), if any hits."""
    profiles = load_language_profiles(profiles_path)
    words = [w.lower() for w in _WORD.findall(text[:200_000])]
    hits = {name: sum(w in vocab for w in words) for name, vocab in profiles.others.items()}
    best = max(hits, key=lambda name: hits[name], default=None)
    return best if best is not None and hits[best] > 0 else None


def not_norwegian_warning(text: str, profiles_path: Path) -> str | None:
    """A document warning when the text is detected as not Norwegian (``Language.OTHER``), else None.

    Such a document is still processed; the warning tells the user that the extraction rules (list intros,
    commitment verbs, actor names) are written for Norwegian, so its measures are likely missing or wrong.
    """
    if detect_language(text, profiles_path) is not Language.OTHER:
        return None
    closest = closest_other_language(text, profiles_path)
    detected = f" (looks like {LANGUAGE_NAMES.get(closest, closest)})" if closest else ""
    return (f"language: the text is not Norwegian{detected}; the extraction rules are written for Norwegian "
            "Bokmål and Nynorsk, so measures, commitments and actors may be missing or wrong")


@dataclass(frozen=True)
class DocumentTypeRules:
    head_chars: int
    title_weight: int
    min_score: int
    decisive: dict[str, int]
    patterns: dict[str, tuple[re.Pattern[str], ...]]


@cache
def load_document_type_rules(path: Path) -> DocumentTypeRules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return DocumentTypeRules(
        head_chars=int(data["head_chars"]),
        title_weight=int(data["title_weight"]),
        min_score=int(data["min_score"]),
        decisive={name: int(score) for name, score in (data.get("decisive") or {}).items()},
        patterns={
            name: tuple(compile_rule(p, re.IGNORECASE, path, f"types.{name}[{i}]") for i, p in enumerate(patterns))
            for name, patterns in data["types"].items()
        },
    )


def detect_document_type(title: str | None, text: str, rules_path: Path) -> DocumentType:
    rules = load_document_type_rules(rules_path)
    head = text[: rules.head_chars]
    scores: dict[str, int] = {}
    for name, patterns in rules.patterns.items():
        score = sum(len(p.findall(head)) for p in patterns)
        if title:
            score += rules.title_weight * sum(bool(p.search(title)) for p in patterns)
        scores[name] = score
    for name, threshold in rules.decisive.items():
        if scores.get(name, 0) >= threshold:
            return DocumentType(name)
    best = max(scores, key=lambda name: scores[name])
    if scores[best] < rules.min_score:
        return DocumentType.UNKNOWN
    return DocumentType(best)
