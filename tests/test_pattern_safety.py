"""Every regular expression of the project runs in (near) linear time, also on adversarial text.

Python's ``re`` backtracks: a nested quantifier over overlapping classes (``(?:[\\s.]+|\\s+og)+$``) takes
exponential time on a line of dots, and an unanchored lazy ``.+?`` searched over a long text takes quadratic
time. ``re`` cannot be interrupted (not even by a signal), so the patterns run in a child process that is killed
when one of them takes too long; the test then names the pattern and the input that hung.

The patterns are found, not listed: every compiled pattern reachable from the globals of the modules of
``pipeline``, ``extractors`` and ``models``, and every pattern that the project's own loaders (``load_*``)
compile from the YAML rule files. A pattern added later is covered without editing this test.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import pkgutil
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "extractors", "models")
RULE_DIRECTORIES = ("extractors/data", "pipeline/data", "models/focus_area/data")

# One check is one pattern run one way (finditer covers search, findall, sub and split) over one input.
MODES = ("finditer", "match", "fullmatch")
SHORT = 20_000  # a quadratic pattern spends tens of seconds here, a linear one milliseconds
LONG = 100_000
SLOW_SECONDS = 2.0  # a check over this is reported (linear checks take milliseconds even on a busy machine)
HANG_SECONDS = 15.0  # a check still running after this is killed and reported as hung
TOTAL_SECONDS = 900.0  # the whole run, imports included; far above the ~1 minute it needs
MAX_RESTARTS = 6


# ---- discovery ----------------------------------------------------------------------------------------------


def _collect(value, where: str, found: list[tuple[str, re.Pattern]], seen: set) -> None:
    """Every compiled pattern in ``value``: itself, or inside a tuple, list, set, dict or dataclass."""
    if isinstance(value, re.Pattern):
        key = (type(value.pattern), value.pattern, value.flags)
        if key not in seen:
            seen.add(key)
            found.append((where, value))
    elif isinstance(value, (tuple, list, set, frozenset)):
        for index, item in enumerate(sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value):
            _collect(item, f"{where}[{index}]", found, seen)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(key, f"{where}<key {key!r}>", found, seen)
            _collect(item, f"{where}[{key!r}]", found, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            _collect(getattr(value, field.name), f"{where}.{field.name}", found, seen)


def project_modules() -> list:
    modules = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        modules.append(root)
        modules.extend(importlib.import_module(info.name)
                       for info in pkgutil.walk_packages(root.__path__, f"{package}."))
    return modules


def rule_files() -> list[Path]:
    return sorted(path for folder in RULE_DIRECTORIES for path in (REPO / folder).glob("*.yaml"))


def rule_loaders(modules) -> list:
    """The project's ``load_*`` functions that read a rule file: defined in the module, first parameter a path."""
    loaders = []
    for module in modules:
        for name, function in vars(module).items():
            if not name.startswith("load_") or getattr(function, "__module__", None) != module.__name__:
                continue
            try:
                parameters = list(inspect.signature(function).parameters)
            except (TypeError, ValueError):
                continue
            if parameters and parameters[0] == "path":
                loaders.append((f"{module.__name__}.{name}", function, parameters))
    return loaders


def discover() -> tuple[list[tuple[str, re.Pattern]], dict[str, list[str]]]:
    """(where, pattern) for every distinct pattern of the project, and which loaders read each rule file."""
    from pipeline.config import PipelineConfig

    found: list[tuple[str, re.Pattern]] = []
    seen: set = set()
    modules = project_modules()
    for module in modules:
        for name, value in vars(module).items():
            _collect(value, f"{module.__name__}.{name}", found, seen)
    gazetteer = PipelineConfig().actors
    read_by: dict[str, list[str]] = {path.name: [] for path in rule_files()}
    for where, loader, parameters in rule_loaders(modules):
        for path in rule_files():
            calls = [({}, "")]
            if "gazetteer_path" in parameters:  # rules that take the gazetteer's names in
                calls.append(({"gazetteer_path": gazetteer}, ", gazetteer"))
            for kwargs, note in calls:
                try:
                    result = loader(path, **kwargs)
                except Exception:  # not this loader's file
                    continue
                read_by[path.name].append(where)
                _collect(result, f"{where}({path.name}{note})", found, seen)
    return found, read_by


# ---- adversarial inputs -------------------------------------------------------------------------------------

# Shapes that make backtracking patterns blow up: long runs of one class (dots of a table of contents, ellipses,
# spaces, tabs, dashes, commas), words repeated without end, long words, digits, markup, and runs that end in a
# character that makes the pattern fail at the very end.
_UNITS = {
    "dots": ".", "ellipses": "…", "spaces": " ", "tabs": "\t", "hyphens": "-", "en dashes": "–", "commas": ",",
    "newlines": "\n", "dot space": ". ", "comma space": ", ", "colons": ":", "quotes": "«»\"'",
    "og": "og ", "og comma": "og, ", "eller": "eller ", "regjeringen vil": "regjeringen vil ",
    "Regjeringen vil": "Regjeringen vil ", "Regjeringen vil blant annet": "Regjeringen vil blant annet ",
    "capitalised words": "Helse Nord ", "capitalised comma": "Helse Nord, ", "one long word": "a",
    "hyphen chain": "helse-", "digits": "1", "digit groups": "1 000 ", "numbered": "1.2 ", "gi": "gi ",
    "sier at": "sier at ", "meldingen": "meldingen ", "minister": "minister Ola ", "departementet": "departementet ",
    "selskapet": "selskapet Nykode, ", "i": "i ", "kroner": "5 millioner kroner ", "innen": "innen 2025 ",
    "markup": "<div ", "comments": "<!-- x -->", "hashes": "# ", "pipes": "| --- ",
}
_ENDS = {"": "", "x": "x"}
_PROSE = ("For å styrke helsenæringen vil regjeringen etablere et nytt program i 2025, og Helsedirektoratet gis i "
          "oppdrag å utrede ordningen. Regjeringen vil også bevilge 50 millioner kroner til forskning innen 2026, "
          "sier næringsministeren. ")


def adversarial_inputs() -> list[tuple[str, str]]:
    inputs = []
    for name, unit in _UNITS.items():
        for end_name, end in _ENDS.items():
            inputs.append((f"{name}{' then ' + end_name if end_name else ''} ({SHORT})",
                           (unit * (SHORT // len(unit) + 1))[:SHORT] + end))
    toc_line = "1. juli 2026 " + "." * 120 + " 12"
    inputs += [
        ("table of contents line", toc_line),
        (f"table of contents ({SHORT})", _fill("1.2 Tittel på kapitlet " + "." * 60 + " 12\n", SHORT)),
        (f"prose without a full stop ({LONG})", _fill(_PROSE.replace(". ", ", "), LONG)),
        (f"prose ({LONG})", _fill(_PROSE, LONG)),
        (f"dots ({LONG})", "1. juli 2026 " + "." * LONG + " 12"),
        (f"spaces ({LONG})", "Regjeringen vil" + " " * LONG + "x"),
        (f"repeated words ({LONG})", _fill("regjeringen vil ", LONG) + ":"),
        (f"capitalised words ({LONG})", _fill("Helse Nord ", LONG) + "x"),
        (f"one long word ({LONG})", "a" * LONG + "-"),
    ]
    return inputs


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def checks() -> list[tuple[str, re.Pattern, str, str]]:
    """(id, pattern, mode, input) for every check, in a fixed order."""
    patterns, _read_by = discover()
    inputs = adversarial_inputs()
    return [(f"{where} | {mode} | {input_name}", pattern, mode, text)
            for where, pattern in patterns for mode in MODES for input_name, text in inputs]


def run_check(pattern: re.Pattern, mode: str, text: str) -> None:
    subject = text.encode("utf-8") if isinstance(pattern.pattern, bytes) else text
    if mode == "finditer":
        for _match in pattern.finditer(subject):
            pass
    else:
        getattr(pattern, mode)(subject)


def worker(first: int) -> None:
    """Run the checks from index ``first``; one JSON line before and after each (the parent times them)."""
    all_checks = checks()
    print(json.dumps({"event": "total", "count": len(all_checks)}), flush=True)
    for index in range(first, len(all_checks)):
        check_id, pattern, mode, text = all_checks[index]
        print(json.dumps({"event": "start", "index": index, "check": check_id}), flush=True)
        started = time.perf_counter()
        run_check(pattern, mode, text)
        print(json.dumps({"event": "done", "index": index, "seconds": time.perf_counter() - started}), flush=True)


# ---- the parent: run the worker, kill it when a check hangs, go on after it ---------------------------------


@dataclasses.dataclass
class Outcome:
    count: int = 0
    ran: int = 0
    hung: list[str] = dataclasses.field(default_factory=list)
    slow: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)


def run_all_checks() -> Outcome:
    outcome = Outcome()
    deadline = time.monotonic() + TOTAL_SECONDS
    first = 0
    for _attempt in range(MAX_RESTARTS + 1):
        resume = _run_worker(first, outcome, deadline)
        if resume is None:
            return outcome
        first = resume
    outcome.errors.append(f"stopped after {MAX_RESTARTS} hung checks; later checks did not run")
    return outcome


def _run_worker(first: int, outcome: Outcome, deadline: float) -> int | None:
    """Run the worker from check ``first``; the index to resume from after a hung check, or None when done."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, __file__, "--worker", str(first)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    stderr: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True).start()
    current: tuple[int, str] | None = None
    started = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            if current is not None and now - started > HANG_SECONDS:
                outcome.hung.append(f"{current[1]} (killed after {HANG_SECONDS:.0f} s)")
                return current[0] + 1
            if now > deadline:
                outcome.errors.append(f"the checks took more than {TOTAL_SECONDS:.0f} s in all"
                                      + (f"; running: {current[1]}" if current else ""))
                return None
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                process.wait()
                if process.returncode != 0:
                    outcome.errors.append(f"worker exited with {process.returncode}: {''.join(stderr)[-2000:]}")
                return None
            event = json.loads(line)
            if event["event"] == "total":
                outcome.count = event["count"]
            elif event["event"] == "start":
                current, started = (event["index"], event["check"]), time.monotonic()
            elif event["event"] == "done":
                outcome.ran += 1
                if event["seconds"] > SLOW_SECONDS:
                    outcome.slow.append(f"{current[1]} ({event['seconds']:.1f} s)")
                current = None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# ---- tests --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def discovered():
    return discover()


def test_discovery_finds_module_and_rule_file_patterns(discovered):
    patterns, read_by = discovered
    modules = {where.split("(")[0].rsplit(".", 1)[0] for where, _pattern in patterns}
    assert {"extractors.measures", "extractors.extract", "pipeline.structure", "pipeline.normalise"} <= modules
    # Every rule file is read by one of the project's loaders, so the patterns in it are among those checked.
    assert all(read_by.values()), {name: loaders for name, loaders in read_by.items() if not loaders}
    from_rules = [where for where, _pattern in patterns if "(" in where]
    for name in ("list_intros.yaml", "prose_measures.yaml", "actors.yaml", "document_types.yaml"):
        assert any(f"({name}" in where for where in from_rules), name


def test_no_pattern_backtracks_on_adversarial_input():
    outcome = run_all_checks()
    assert not outcome.errors, outcome.errors
    assert not outcome.hung, "patterns that hung:\n" + "\n".join(outcome.hung)
    assert not outcome.slow, "patterns that took too long:\n" + "\n".join(outcome.slow)
    assert outcome.count and outcome.ran == outcome.count


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    worker(int(sys.argv[2]))
