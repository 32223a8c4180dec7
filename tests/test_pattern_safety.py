"""Every regular expression of the project runs in (near) linear time, also on adversarial text.

Python's ``re`` backtracks: a nested quantifier over overlapping classes (``(?:[\\s.]+|\\s+og)+$``) takes
exponential time on a line of dots, and an unanchored lazy ``.+?`` searched over a long text takes quadratic
time. ``re`` cannot be interrupted (not even by a signal), so the patterns run in a child process that is killed
when one of them takes too long; the test then names the pattern and the input that hung.

The patterns are found, not listed: every compiled pattern reachable from the globals of the modules of
``pipeline``, ``extractors`` and ``models``, every literal pattern written inline in a ``re.*`` call of their
source, and every pattern that the project's own loaders (``load_*``) compile from the YAML rule files. A pattern
added later is covered without editing this test. (Patterns built at run time from escaped names, such as
``re.escape(name)`` with lookarounds, and spaCy's tokenizer rules are not among them.)
"""

from __future__ import annotations

import ast
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
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "extractors", "models")
RULE_DIRECTORIES = ("extractors/data", "pipeline/data", "models/focus_area/data")

# One check is one pattern run one way (finditer covers search, findall, sub and split) over one input.
MODES = ("finditer", "match", "fullmatch")
SHORT = 20_000  # a quadratic pattern spends tens of seconds here, a linear one milliseconds
LONG = 100_000
SLOW_SECONDS = 2.0  # a check over this is reported (linear checks take milliseconds even on a busy machine)
HANG_SECONDS = 10.0  # a check still running after this is killed and reported as hung
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


# Where the flags argument of each re function stands.
_FLAGS_POSITION = {"compile": 1, "search": 2, "match": 2, "fullmatch": 2, "finditer": 2, "findall": 2, "split": 3,
                   "sub": 4, "subn": 4}


def inline_patterns(modules) -> list[tuple[str, re.Pattern]]:
    """Literal patterns written straight into a ``re.*`` call (``re.sub(r"[ .]", "", raw)``), compiled."""
    found = []
    for module in modules:
        source = getattr(module, "__file__", None)
        if not source or not source.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(Path(source).read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.func.attr in _FLAGS_POSITION and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, (str, bytes))):
                continue
            position = _FLAGS_POSITION[node.func.attr]
            flags_node = next((k.value for k in node.keywords if k.arg == "flags"), None) or (
                node.args[position] if len(node.args) > position else None)
            flags = eval(compile(ast.Expression(flags_node), source, "eval"), {"re": re}) if flags_node else 0
            found.append((f"{module.__name__}:{node.lineno} (inline)", re.compile(node.args[0].value, flags)))
    return found


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
    for where, pattern in inline_patterns(modules):
        _collect(pattern, where, found, seen)
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

# Shapes that make backtracking patterns blow up: long runs of one class (the dots of a table of contents,
# ellipses, spaces, tabs, dashes, commas), words repeated without end, capitalised words, one long word,
# hyphenated chains, digits, markup. Each run ends in "x", a character that makes most patterns fail right at
# the end, after trying everything before it.
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
_PROSE = ("For å styrke helsenæringen vil regjeringen etablere et nytt program i 2025, og Helsedirektoratet gis i "
          "oppdrag å utrede ordningen. Regjeringen vil også bevilge 50 millioner kroner til forskning innen 2026, "
          "sier næringsministeren. ")


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def adversarial_inputs() -> list[tuple[str, str]]:
    inputs = [(f"{name} ({SHORT})", _fill(unit, SHORT) + "x") for name, unit in _UNITS.items()]
    inputs += [
        ("table of contents line", "1. juli 2026 " + "." * 120 + " 12"),
        (f"table of contents ({SHORT})", _fill("1.2 Tittel på kapitlet " + "." * 60 + " 12\n", SHORT)),
        (f"prose ({LONG})", _fill(_PROSE, LONG)),
        (f"prose without a full stop ({LONG})", _fill(_PROSE.replace(". ", ", "), LONG)),
        (f"dots ({LONG})", "1. juli 2026 " + "." * LONG + " 12"),
        (f"spaces ({LONG})", "Regjeringen vil" + " " * LONG + "x"),
        (f"repeated words ({LONG})", _fill("regjeringen vil ", LONG) + ":"),
        (f"capitalised words ({LONG})", _fill("Helse Nord ", LONG) + "x"),
        (f"one long word ({LONG})", "a" * LONG + "-"),
    ]
    return inputs


def checks(only: str | None = None) -> list[tuple[str, re.Pattern, str, str, int]]:
    """(id, pattern, mode, input, index of the next pattern's first check) for every check, in a fixed order;
    ``only``: that one pattern instead of the project's."""
    patterns = [("given pattern", re.compile(only))] if only is not None else discover()[0]
    inputs = adversarial_inputs()
    per_pattern = len(MODES) * len(inputs)
    return [(f"{where} | {mode} | {input_name}", pattern, mode, text, (number + 1) * per_pattern)
            for number, (where, pattern) in enumerate(patterns) for mode in MODES for input_name, text in inputs]


def run_check(pattern: re.Pattern, mode: str, text: str) -> None:
    subject = text.encode("utf-8") if isinstance(pattern.pattern, bytes) else text
    if mode == "finditer":
        for _match in pattern.finditer(subject):
            pass
    else:
        getattr(pattern, mode)(subject)


def worker(first: int, only: str | None) -> None:
    """Run the checks from index ``first``; one JSON line before and after each (the parent times them)."""
    all_checks = checks(only)
    print(json.dumps({"event": "total", "count": len(all_checks)}), flush=True)
    for index in range(first, len(all_checks)):
        check_id, pattern, mode, text, next_pattern = all_checks[index]
        print(json.dumps({"event": "start", "next_pattern": next_pattern, "check": check_id}), flush=True)
        started = time.perf_counter()
        run_check(pattern, mode, text)
        print(json.dumps({"event": "done", "seconds": time.perf_counter() - started}), flush=True)


# ---- the parent: run the worker, kill it when a check hangs, go on after it ---------------------------------


@dataclasses.dataclass
class Outcome:
    count: int = 0
    ran: int = 0
    hung: list[str] = dataclasses.field(default_factory=list)
    slow: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)


def run_all_checks(only: str | None = None, hang_seconds: float = HANG_SECONDS,
                   max_restarts: int = MAX_RESTARTS) -> Outcome:
    """Run every check in a child process; a check still running after ``hang_seconds`` is reported and the child
    killed, and a new child goes on with the next pattern (at most ``max_restarts`` times)."""
    outcome = Outcome()
    deadline = time.monotonic() + TOTAL_SECONDS
    first = 0
    for _attempt in range(max_restarts + 1):
        resume = _run_worker(first, only, hang_seconds, outcome, deadline)
        if resume is None:
            return outcome
        first = resume
    outcome.errors.append(f"stopped after {max_restarts + 1} hung checks; later checks did not run")
    return outcome


def _run_worker(first: int, only: str | None, hang_seconds: float, outcome: Outcome, deadline: float) -> int | None:
    """Run the worker from check ``first``; where to resume after a hung check (the next pattern), or None when
    done."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, __file__, "--worker", str(first), *(["--only", only] if only is not None else [])]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
            if current is not None and now - started > hang_seconds:
                outcome.hung.append(f"{current[1]} (killed after {hang_seconds:.0f} s)")
                return current[0]
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
                current, started = (event["next_pattern"], event["check"]), time.monotonic()
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


def test_discovery_finds_module_inline_and_rule_file_patterns(discovered):
    patterns, read_by = discovered
    modules = {where.split("(")[0].split(":")[0].rsplit(".", 1)[0] for where, _pattern in patterns}
    assert {"extractors.measures", "extractors.extract", "pipeline.reading.structure",
            "pipeline.reading.normalise"} <= modules
    assert any(where.endswith("(inline)") for where, _pattern in patterns)
    # Every rule file is read by one of the project's loaders, so the patterns in it are among those checked.
    assert all(read_by.values()), {name: loaders for name, loaders in read_by.items() if not loaders}
    from_rules = [where for where, _pattern in patterns if "(" in where and "(inline)" not in where]
    for name in ("list_intros.yaml", "prose_measures.yaml", "actors.yaml", "document_types.yaml"):
        assert any(f"({name}" in where for where in from_rules), name


def test_no_pattern_backtracks_on_adversarial_input():
    outcome = run_all_checks()
    assert not outcome.hung, "patterns that hung:\n" + "\n".join(outcome.hung + outcome.errors)
    assert not outcome.slow, "patterns that took too long:\n" + "\n".join(outcome.slow + outcome.errors)
    assert not outcome.errors, outcome.errors
    assert outcome.count and outcome.ran == outcome.count


# The trailing-punctuation pattern of extractors/measures.py before issue #13: exponential on a dotted line.
OLD_TRAILING = r"(?:[\s.;,:]+|\s+(?:og|eller|samt)\b)+$"


def test_a_hanging_pattern_is_killed_and_named():
    outcome = run_all_checks(only=OLD_TRAILING, hang_seconds=5)
    assert len(outcome.hung) == 1 and outcome.hung[0].startswith("given pattern | finditer | dots"), outcome.hung
    assert outcome.ran < outcome.count and not outcome.errors


# ---- rule files: a nested quantifier is refused when the file is read ---------------------------------------


def _with_rule(source: Path, target: Path, key: str, rule: str) -> tuple[Path, str]:
    """A copy of the rule file ``source`` with ``rule`` appended to the list ``key`` (a top-level key, or
    ``types.<name>`` one level down), and the new rule's name as errors give it ("adverbs[31]")."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    holder = data
    *parents, last = key.split(".")
    for parent in parents:
        holder = holder[parent]
    holder[last] = [*holder[last], rule]
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target, f"{key}[{len(holder[last]) - 1}]"


@pytest.mark.parametrize(("loader", "file_name", "key"), [
    ("extractors.measures:load_list_intro_rules", "list_intros.yaml", "commitment_intros"),
    ("extractors.measures:load_prose_rules", "prose_measures.yaml", "adverbs"),
    ("extractors.actors:load_gazetteer", "actors.yaml", "person_titles"),
    ("pipeline.reading.document_info:load_document_type_rules", "document_types.yaml", "types.nyhet"),
])
def test_a_rule_with_a_nested_quantifier_is_refused_naming_file_and_rule(tmp_path, loader, file_name, key):
    from pipeline.config import EXTRACTOR_DATA, PIPELINE_DATA
    from pipeline.rule_patterns import RulePatternError

    module_name, function_name = loader.split(":")
    load = getattr(importlib.import_module(module_name), function_name)
    source = next(path for path in (EXTRACTOR_DATA / file_name, PIPELINE_DATA / file_name) if path.is_file())
    nested = r"(?:[\s.;,:]+|\s+og\b)+$"
    path, rule = _with_rule(source, tmp_path / file_name, key, nested)
    with pytest.raises(RulePatternError) as raised:
        load(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: rule {rule} '{nested}'"), message
    assert "possessive" in message and "\n" not in message
    # The same rule written possessive is accepted.
    load(_with_rule(source, tmp_path / f"ok-{file_name}", key, r"(?:[\s.;,:]++|\s++og\b)++$")[0])


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    worker(int(sys.argv[2]), sys.argv[4] if sys.argv[3:4] == ["--only"] else None)
