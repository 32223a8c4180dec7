"""The serve config file sets every run setting (issue 16): its ``[tiltak]`` table holds the settings of ``tiltak
run --config`` (one list: ``PipelineConfig``), checked before any Prefect server is contacted; a bad key or value is
one line naming the file and the key. Through the installed ``tiltak`` script in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

TILTAK = Path(sys.executable).parent / "tiltak"
PLAN = ("# Plan for bedre veier\n\nFor å gjøre vegane tryggere vil regjeringen:\n\n"
        "- bygge gang- og sykkelveier langs skoleveier\n- øke vedlikeholdet av fylkesveier i Nord-Norge\n")
MAX_CHARS = 1000


def tiltak(args: list[str], cwd: Path, prefect_api: str | None = None, timeout: float = 600
           ) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "TILTAK_WAIT_LOCK": "60"}
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
    return subprocess.run([str(TILTAK), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
                          check=False)


SERVE = '[serve]\ninbox = "inbox"\nout = "ut"\nnlp = "blank"\n'


@pytest.mark.parametrize(("extra", "expected"), [
    ('[tiltak]\nmax_pagez = 50\n', "[tiltak] max_pagez: unknown setting (known: actors, classifier, "),
    ('[tiltak]\npdf_backend = "pdfminer"\n',
     "[tiltak] pdf_backend: Input should be 'pdfplumber', 'pdfium' or 'pypdfium2'"),
    ('[tiltak]\nmin_confidence = 2\n', "[tiltak] min_confidence: Input should be less than or equal to 1"),
    ('[tiltak]\nmax_pages = "mange"\n', "[tiltak] max_pages: Input should be a valid integer"),
    ('[tiltak]\ntaxonomy = 5\n', "taxonomy: must be a path (a string), not 5"),
    ('[tiltak]\nclassifier = "ingen-klassifikator"\n', "[tiltak] classifier: "),
    ('tiltak = "pypdfium2"\n', "tiltak must be a table ([tiltak]) of run settings"),
    ('', "[serve] timeout: Input should be a valid number"),
    ('', "unknown [serve] keys: intervall"),
])
def test_a_bad_key_or_value_is_one_line_naming_the_file_and_the_key(tmp_path: Path, extra: str, expected: str):
    (tmp_path / "inbox").mkdir()
    serve = SERVE
    if "timeout" in expected:
        serve += 'timeout = "lenge"\n'
    if "intervall" in expected:
        serve += "intervall = 5\n"
    config = tmp_path / "serve.toml"
    # a key outside any table goes before the first one
    config.write_text(serve + extra if extra.startswith("[") or not extra else extra + serve, encoding="utf-8")
    started = time.monotonic()
    done = tiltak(["serve", "--config", str(config), "--once"], tmp_path, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tiltak: error: {config}: "), done.stderr
    assert expected in lines[0], lines[0]
    assert time.monotonic() - started < 120  # before any Prefect server (a start takes 20-40 s here)
    assert not (tmp_path / "ut").exists()


def test_the_run_settings_of_the_serve_file_apply_to_its_runs_and_to_tiltak_run(tmp_path: Path, prefect_api: str):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "plan.txt").write_text(PLAN, encoding="utf-8")
    (inbox / "lang.txt").write_text(PLAN + "\n\n" + "Regjeringen vil bygge flere veier. " * 60, encoding="utf-8")
    assert len((inbox / "lang.txt").read_text(encoding="utf-8")) > MAX_CHARS > len(PLAN)
    old = time.time() - 3600
    for path in inbox.iterdir():
        os.utime(path, (old, old))  # settled: not being copied in
    config = tmp_path / "serve.toml"
    config.write_text(SERVE + f'[tiltak]\npdf_backend = "pypdfium2"\nmax_chars = {MAX_CHARS}\nmax_pages = 40\n',
                      encoding="utf-8")

    done = tiltak(["serve", "--config", str(config), "--once"], tmp_path, prefect_api)
    assert done.returncode == 1, done.stdout + done.stderr  # lang.txt is over the file's max_chars
    assert "run settings: pdf_backend = pypdfium2, max_chars = 1000, max_pages = 40" in done.stdout
    assert "processed: plan.txt" in done.stdout and "1 new, 0 changed" in done.stdout
    assert "(max_chars)" in done.stdout  # lang.txt's failure names the limit
    (manifest_path,) = (tmp_path / "ut" / "runs").glob("*.json")
    settings = json.loads(manifest_path.read_text(encoding="utf-8"))["settings"]
    assert (settings["pdf_backend"], settings["max_chars"], settings["max_pages"]) == ("pypdfium2", MAX_CHARS, 40)

    # The same file, as `tiltak run --config`: the same settings (its [tiltak] table).
    ran = tiltak(["run", str(inbox), "--config", str(config), "--out", str(tmp_path / "run-ut"), "--nlp", "blank",
                  "--json"], tmp_path, prefect_api)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    summary = json.loads(ran.stdout)
    assert [Path(failure["source"]).name for failure in summary["failures"]] == ["lang.txt"]
    assert "(max_chars)" in summary["failures"][0]["error"]
    assert summary["outputs"] == [str(tmp_path / "run-ut" / "plan.json")]
