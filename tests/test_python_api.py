"""The Python API (``import tiltak``, issue 17 item 1): the documented example runs, a fresh interpreter outside the
repository imports it, offsets point into the string given, and the datasets load with the right dtypes.

Everything runs the real pipeline with the shipped models ("best"), loaded once for the module.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tiltak
from pipeline.cli import app
from pipeline.store.outputs import write_document
from pipeline.store.validate import document_errors

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "python-api.md"

DONE_WHEN = ("import tiltak; print(len(tiltak.analyse_text('Regjeringen vil:\\n\\n- etablere et nytt senter for "
             "helsedata\\n- innføre en ordning for tidlig dialog\\n').measures))")

PLAN = """Plan for helsedata i kommunene

1 Tilgang til data

Kommunene trenger bedre tilgang til data. For å få det til vil regjeringen:

- etablere et nasjonalt senter for helsedata innen 2027
- bevilge 20 mill. kroner til Helsedirektoratet for å utvikle felles løsninger
- vurdere å endre pasientjournalloven
"""


def python_blocks(markdown: str) -> list[str]:
    """The fenced ```python blocks of a Markdown text (not those marked ```python notest)."""
    return re.findall(r"^```python\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)


def test_the_documented_example_runs():
    blocks = python_blocks(DOCS.read_text(encoding="utf-8"))
    assert blocks, f"{DOCS} has no ```python block"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for block in blocks:
            exec(compile(block, str(DOCS), "exec"), {"__name__": "docs_example"})
    output = printed.getvalue()
    assert "3 measures" in output and "etablere et nasjonalt senter for helsedata innen 2027" in output


def test_a_fresh_interpreter_outside_the_repository(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the tree under test, as an installed copy would provide it
    completed = subprocess.run([sys.executable, "-c", DONE_WHEN], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "2"


def test_the_package_is_built_into_the_distribution():
    """pip install (editable or not) installs what setuptools finds under these settings: tiltak must be among it."""
    from setuptools import find_packages

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    found = find_packages(where=str(REPO), include=config["tool"]["setuptools"]["packages"]["find"]["include"])
    assert "tiltak" in found and "pipeline" in found
    assert any(req.startswith("pandas") for req in config["project"]["optional-dependencies"]["pandas"])
    assert tiltak.__version__


def test_offsets_point_into_the_string_given():
    """A string as people paste it: Windows line ends, tabs, runs of spaces, a soft hyphen, a bullet."""
    messy = ("Plan  for\thelsedata\r\n\r\n\r\nFor å få det til vil   regjeringen:\r\n\r\n"
             "•\tetablere et nasjonalt senter for helse\u00addata innen 2027\r\n"
             "•  bevilge 20 mill. kroner til Helsedirektoratet\r\n")
    result = tiltak.analyse_text(messy, title="Plan for helsedata", language="nb")
    assert result.text == messy
    assert result.document.title == "Plan for helsedata" and result.document.language == "nb"
    assert len(result.measures) == 2
    for measure in result.measures:
        assert messy[measure.start:measure.end] == measure.text
    assert "helse\u00addata" in result.measures[0].text  # the user's own characters, soft hyphen and all
    for commitment in result.commitments:
        for item in [*commitment.amounts, *commitment.deadlines]:
            assert messy[item.start:item.end] == item.text
    for actor in result.actors:
        for mention in actor.mentions:
            assert messy[mention.start:mention.end] == mention.text
    assert document_errors(result.model_dump(mode="json")) == []
    assert not any("offsets:" in warning for warning in result.document.warnings)


def test_analyse_text_writes_no_file(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).iterdir())
    tiltak.analyse_text(PLAN)
    assert list(tmp_path.iterdir()) == []
    assert not [path for path in set(Path(os.environ.get("TMPDIR", "/tmp")).iterdir()) - before
                if "tiltak" in path.name]


def test_the_models_are_loaded_once():
    from pipeline.analysis import nlp

    tiltak.analyse_text(PLAN)
    loaded = dict(nlp._cache)
    tiltak.analyse_text(PLAN.replace("2027", "2028"))
    assert nlp._cache == loaded and all(nlp._cache[key] is loaded[key] for key in loaded)


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="language must be one of"):
        tiltak.analyse_text(PLAN, language="sv")
    with pytest.raises(TypeError, match="needs a str"):
        tiltak.analyse_text(PLAN.encode())


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    sources, out = tmp_path_factory.mktemp("sources"), tmp_path_factory.mktemp("outputs")
    for name, text in (("plan-2024", PLAN), ("plan-2025", PLAN.replace("vurdere å endre", "endre"))):
        source = sources / f"{name}.txt"
        source.write_text(text, encoding="utf-8")
        (sources / f"{name}.meta.toml").write_text(f'date = {name[-4:]}-06-01\nissuer = "Kommunal- og '
                                                   'distriktsdepartementet"\n', encoding="utf-8")
        result = tiltak.analyse(source)
        assert result.document.date == f"{name[-4:]}-06-01"  # the sidecar's correction
        write_document(result.model_dump(mode="json"), out, stem=name, source=source)
    return out


def test_analyse_a_file_gives_what_the_run_writes(outputs: Path):
    written = json.loads((outputs / "plan-2024.json").read_text(encoding="utf-8"))
    again = tiltak.analyse(written["document"]["source_path"])
    assert [m.text for m in again.measures] == [m["text"] for m in written["measures"]]
    assert again.document.issuer == written["document"]["issuer"] == "Kommunal- og distriktsdepartementet"


def test_read_outputs_builds_the_tables_in_memory(outputs: Path):
    tables = tiltak.read_outputs(outputs)
    assert {"documents", "measures", "actors", "commitments"} <= tables.keys()
    assert tables["measures"].num_rows == 6
    assert not (outputs / "datasets").exists()  # nothing written into the user's folder

    frames = tiltak.read_outputs(outputs, as_pandas=True)
    measures = frames["measures"]
    assert len(measures) == 6
    integer_columns = [name for name, field in zip(tables["measures"].column_names, tables["measures"].schema,
                                                   strict=True) if str(field.type).startswith(("int", "uint"))]
    assert integer_columns and all(str(measures[name].dtype) == "Int64" for name in integer_columns)


def test_read_outputs_reads_an_export(outputs: Path):
    exported = CliRunner().invoke(app, ["export", str(outputs)])
    assert exported.exit_code == 0, exported.output
    tables = tiltak.read_outputs(outputs)
    assert tables["measures"].num_rows == 6
    assert tables["documents"].num_rows == 2


def test_read_outputs_of_a_folder_without_outputs(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no tiltak document JSON"):
        tiltak.read_outputs(tmp_path)


def test_compare_files_and_results(outputs: Path):
    comparison = tiltak.compare(outputs / "plan-2024.json", outputs / "plan-2025.json")
    counts = comparison.pairs[0].counts
    assert (counts.continued + counts.modified, counts.new, counts.dropped) == (3, 0, 0)
    assert counts.modified >= 1  # "vurdere å endre" → "endre": a stronger commitment
    from_results = tiltak.compare(tiltak.analyse_text(PLAN), tiltak.analyse_text(PLAN + "- styrke samarbeidet\n"))
    assert from_results.pairs[0].counts.new == 1


def test_the_docstring_example_runs():
    import doctest

    outcome = doctest.testmod(tiltak, verbose=False)
    assert outcome.attempted >= 2 and outcome.failed == 0
