"""The command line, as a user runs it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline import __version__
from pipeline.cli import app

runner = CliRunner()
TILTAK = Path(sys.executable).parent / "tiltak"


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"tiltak {__version__}"


def test_missing_path_is_one_line_naming_it(tmp_path: Path):
    result = runner.invoke(app, ["run", str(tmp_path / "mangler.pdf")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"tiltak: error: {tmp_path / 'mangler.pdf'}: no such file or folder"]


def test_unsupported_file_is_one_line_naming_it_and_the_reason(tmp_path: Path):
    sheet = tmp_path / "budsjett.xlsx"
    shutil.make_archive(str(tmp_path / "budsjett"), "zip", root_dir=tmp_path, base_dir=".")
    (tmp_path / "budsjett.zip").rename(sheet)
    result = runner.invoke(app, ["run", str(sheet)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tiltak: error: {sheet}") and "docx" in lines[0].lower()


def test_run_show_and_validate_on_the_seeds(tmp_path: Path, seeds_dir: Path):
    """The issue's acceptance command, through the installed console script in a fresh process."""
    out = tmp_path / "o"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "160"}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([str(TILTAK), "run", str(seeds_dir), "--out", str(out), "--nlp", "blank"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 processed, 0 cached, 0 duplicate, 0 failed" in done.stdout
    outputs = sorted(out.glob("*.json"))
    assert [p.name for p in outputs] == [
        "meld-st-18-2018-2019-sammendrag.json",
        "veikart-helsenaering-2023-artikkel.json",
    ]
    # The 43 list measures of the issue, and the one the veikart states in prose.
    assert sum(len(json.loads(p.read_text(encoding="utf-8"))["measures"]) for p in outputs) == 44

    validated = runner.invoke(app, ["validate", str(out)])
    assert validated.exit_code == 0, validated.output
    assert "3 valid, 0 invalid" in validated.output  # two documents and the run manifest

    shown = runner.invoke(app, ["show", str(outputs[1])], env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "13 measures" in shown.output and "Videreutvikle katapultordningen" in shown.output


def test_validate_catches_a_tampered_offset(tmp_path: Path, seeds_dir: Path):
    from pipeline.analysis.process import analyse_document
    from pipeline.config import PipelineConfig

    result = analyse_document(seeds_dir / "veikart-helsenaering-2023-artikkel.txt", PipelineConfig(nlp="blank"))
    data = result.model_dump(mode="json")
    data["measures"][0]["start"] += 1
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    validated = runner.invoke(app, ["validate", str(path)])
    assert validated.exit_code == 1
    assert "measures/0: text does not equal text[" in validated.output


def test_a_bad_taxonomy_stops_the_run_with_one_line(tmp_path: Path, seeds_dir: Path):
    taxonomy = tmp_path / "taksonomi.yaml"
    taxonomy.write_text("name: x\nversion: '1'\nfallback: mangler\nlabels:\n- {id: a, name: A, covers: a}\n"
                        "- {id: b, name: B, covers: b}\n", encoding="utf-8")
    result = runner.invoke(app, ["run", str(seeds_dir), "--out", str(tmp_path / "o"), "--taxonomy", str(taxonomy)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(taxonomy) in lines[0] and "fallback 'mangler' is not one of the labels" in lines[0]
    assert not (tmp_path / "o").exists()


def test_an_unknown_pdf_backend_is_one_line(tmp_path: Path):
    (tmp_path / "a.txt").write_text("Regjeringen vil bygge en ny vei.", encoding="utf-8")
    result = runner.invoke(app, ["run", str(tmp_path / "a.txt"), "--out", str(tmp_path / "o"),
                                 "--pdf-backend", "pdfminer"])
    assert result.exit_code == 2
    assert result.output.strip() == ("tiltak: error: --pdf-backend must be pdfplumber, pdfium or pypdfium2, "
                                     "not 'pdfminer'")
