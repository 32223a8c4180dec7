"""Regular expressions written as data (the YAML rule files), refused when they could hang the pipeline.

Python's ``re`` backtracks, and a running match cannot be interrupted, not even by a signal. A rule with a
nested quantifier, a repetition inside a repetition such as ``(\\w+\\s*)+`` or ``(?:[.\\s]+|og)+$``, can try
exponentially many ways to split a long run of text (one line of a table of contents never returned). Such a rule
is refused when its file is read, with a one-line error naming the file, the rule and the fix: make the
repetition possessive (``*+``, ``++``) or atomic (``(?>…)``), which never gives back what it matched, or bound
it (``{0,3}``). A bounded outer repetition (``(?:\\s+\\w+){0,2}``) is accepted.

What this check does not see: an alternation of overlapping words repeated (``(?:a|aa)+``), and patterns that
are quadratic rather than exponential (``X.*Y`` searched over a text full of X). The shipped rule files are run
against adversarial text by ``tests/test_pattern_safety.py``; a user's own rule files should be kept as simple.
"""

from __future__ import annotations

import re
from pathlib import Path

# The parser behind re.compile (Python 3.11+); its tree says which quantifier holds which.
from re import _constants as sre
from re import _parser as sre_parse

from pipeline.errors import TiltakError

# An outer repetition of at most this many rounds multiplies the work by a constant, not exponentially.
BOUNDED_ROUNDS = 10


class RulePatternError(TiltakError, ValueError):
    """A rule file holds a pattern that is not a regular expression or could backtrack without end."""


def check_rule(pattern: str, source: Path | str, rule: str, flags: int = 0) -> None:
    """Raise RulePatternError when ``pattern`` (rule ``rule`` of file ``source``) is invalid or has a nested
    quantifier outside a possessive or atomic group."""
    try:
        tree = sre_parse.parse(pattern, flags)
    except re.error as exc:
        raise RulePatternError(f"{source}: rule {rule} '{pattern}' is not a regular expression: {exc}") from exc
    nested = _nested_repeat(tree, outer=None)
    if nested is not None:
        raise RulePatternError(
            f"{source}: rule {rule} '{pattern}' repeats a repetition ({nested}), which can backtrack exponentially "
            "on long text; make it possessive ('*+', '++'), atomic ('(?>...)') or bounded ('{0,3}')")


def compile_rule(pattern: str, flags: int, source: Path | str, rule: str) -> re.Pattern[str]:
    """``re.compile(pattern, flags)`` after ``check_rule``."""
    check_rule(pattern, source, rule, flags)
    return re.compile(pattern, flags)


def check_rules(patterns, source: Path | str, key: str, flags: int = 0) -> list[str]:
    """``check_rule`` for every pattern of the list ``key`` (named ``key[index]`` in errors); the list back."""
    patterns = list(patterns or [])
    for index, pattern in enumerate(patterns):
        check_rule(str(pattern), source, f"{key}[{index}]", flags)
    return patterns


def _nested_repeat(tree, outer: str | None) -> str | None:
    """A description of the first repetition found inside the unbounded repetition ``outer``, if any."""
    for op, av in tree:
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, body = av
            if outer is not None and high > 1:
                return f"{_quantifier(low, high)} inside {outer}"
            unbounded = high == sre.MAXREPEAT or high > BOUNDED_ROUNDS
            found = _nested_repeat(body, _quantifier(low, high) if unbounded else outer)
            if found:
                return found
        elif op in (sre.POSSESSIVE_REPEAT, sre.ATOMIC_GROUP, sre.ASSERT, sre.ASSERT_NOT):
            # Gives nothing back once matched, so the outside never tries it again; only its inside can nest.
            found = _nested_repeat(av[2] if op == sre.POSSESSIVE_REPEAT else av if op == sre.ATOMIC_GROUP
                                   else av[1], outer=None)
            if found:
                return found
        elif op == sre.SUBPATTERN:
            found = _nested_repeat(av[3], outer)
            if found:
                return found
        elif op == sre.BRANCH:
            for branch in av[1]:
                found = _nested_repeat(branch, outer)
                if found:
                    return found
        elif op == sre.GROUPREF_EXISTS:
            for branch in av[1:]:
                if branch is not None:
                    found = _nested_repeat(branch, outer)
                    if found:
                        return found
    return None


def _quantifier(low: int, high: int) -> str:
    if high == sre.MAXREPEAT:
        return {0: "'*'", 1: "'+'"}.get(low, f"'{{{low},}}'")
    return "'?'" if (low, high) == (0, 1) else f"'{{{low},{high}}}'"
