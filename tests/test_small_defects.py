"""Small defects a researcher met (issue 17, item 5): `tiltak validate` after `tiltak export`, `tiltak show` on a
folder, and the seed evaluation without its gold files.

The outputs are real: a small Norwegian document written here, analysed with the blank NLP pipeline and written
with ``write_document`` as ``tiltak run`` does; the commands are the real CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.analysis.process import analyse_document
from pipeline.cli import app
from pipeline.config import PipelineConfig
from pipeline.store.outputs import write_document

REPO = Path(__file__).resolve().parents[1]
PLAN = """Plan for helsedata i kommunene

Kommunene trenger bedre tilgang til data. For å få det til vil regjeringen:

- etablere et nasjonalt senter for helsedata innen 2027
- bevilge 20 mill. kroner til Helsedirektoratet for å utvikle felles løsninger
"""

runner = CliRunner()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    source_dir = tmp_path_factory.mktemp("sources")
    out = tmp_path_factory.mktemp("outputs")
    for name in ("plan-a", "plan-b"):
        source = source_dir / f"{name}.txt"
        source.write_text(PLAN.replace("Plan", f"Plan {name}"), encoding="utf-8")
        result = analyse_document(source, PipelineConfig(nlp="blank"))
        write_document(result.model_dump(mode="json"), out, stem=name, source=source)
    return out


def test_validate_passes_after_export_on_the_same_folder(outputs: Path):
    exported = runner.invoke(app, ["export", str(outputs)])
    assert exported.exit_code == 0, exported.output
    datasets = [p for p in outputs.rglob("*.json") if p.parent != outputs]
    assert datasets, "the export wrote no JSON of its own, so this test would not test anything"

    validated = runner.invoke(app, ["validate", str(outputs)], env={"COLUMNS": "300"})
    assert validated.exit_code == 0, validated.output
    assert "2 valid, 0 invalid" in validated.output
    assert "skipped" in validated.output and "dataset export" in validated.output


def test_validate_in_a_folder_still_catches_a_broken_document(outputs: Path, tmp_path: Path):
    """Skipping the export's JSON must not skip a document that lost its keys."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "broken.json").write_text(json.dumps({"title": "not a document"}), encoding="utf-8")
    validated = runner.invoke(app, ["validate", str(folder)])
    assert validated.exit_code == 1
    assert "0 valid, 1 invalid" in validated.output


def test_show_on_a_folder_lists_its_documents(outputs: Path):
    shown = runner.invoke(app, ["show", str(outputs)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "plan-a.json" in shown.output and "plan-b.json" in shown.output
    assert "2 measures" in shown.output
    assert "Traceback" not in shown.output


def test_show_on_a_folder_without_documents_is_a_one_line_error(tmp_path: Path):
    result = runner.invoke(app, ["show", str(tmp_path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no tiltak document JSON" in lines[0], result.output


def test_evaluate_seeds_without_the_gold_files_fails_clearly(tmp_path: Path):
    missing = tmp_path / "no-such-gold"
    completed = subprocess.run([sys.executable, str(REPO / "benchmarks" / "evaluate_seeds.py"), "--gold",
                                str(missing)], capture_output=True, text=True, timeout=300)
    assert completed.returncode != 0
    assert "no such folder" in completed.stderr and str(missing) in completed.stderr
    assert "0.000" not in completed.stdout

    empty = tmp_path / "empty-gold"
    empty.mkdir()
    completed = subprocess.run([sys.executable, str(REPO / "benchmarks" / "evaluate_seeds.py"), "--gold",
                                str(empty)], capture_output=True, text=True, timeout=300)
    assert completed.returncode != 0
    assert "nothing to evaluate" in completed.stderr
