"""Console output for people and scripts (issue 16): ``--json`` gives exactly one JSON object on stdout, also on
failure; ``--quiet`` prints nothing on success; output to a pipe is plain and unwrapped, with the run's stages on
stderr; help texts carry no stray type labels; Prefect's telemetry is off unless the user set it. Through the
installed ``tiltak`` script in fresh processes, reporting to the session's Prefect test server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from pipeline.cli import app

TILTAK = Path(sys.executable).parent / "tiltak"
PLAN = ("# Plan for bedre veier\n\nFor å gjøre vegane tryggere vil regjeringen:\n\n"
        "- bygge gang- og sykkelveier langs skoleveier\n- øke vedlikeholdet av fylkesveier i Nord-Norge\n")


def tiltak(args: list[str], prefect_api: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TILTAK_WAIT_LOCK": "60"}
    env.pop("COLUMNS", None)  # what a script sees: no terminal, no width given
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
    return subprocess.run([str(TILTAK), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


def one_json_object(done: subprocess.CompletedProcess) -> dict:
    """stdout is exactly one JSON object (json.loads refuses anything after it)."""
    value = json.loads(done.stdout)
    assert isinstance(value, dict), done.stdout
    return value


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A folder a long way down (its paths are longer than a terminal's 80 columns), with one policy text and one
    broken PDF."""
    folder = tmp_path_factory.mktemp("output") / ("en-mappe-med-et-langt-navn-for-aa-se-at-ingenting-brytes-" * 2)
    folder.mkdir()
    (folder / "plan.txt").write_text(PLAN, encoding="utf-8")
    (folder / "odelagt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\n% cut short\n")
    return folder


def test_a_run_tells_its_stages_and_prints_unwrapped_plain_lines_to_a_pipe(corpus: Path, prefect_api: str):
    out = corpus / "ut"
    done = tiltak(["run", str(corpus), "--out", str(out), "--nlp", "blank"], prefect_api)
    assert done.returncode == 1, done.stdout + done.stderr  # the broken PDF failed; the plan was written
    assert "\x1b[" not in done.stdout + done.stderr  # no colours or cursor moves
    (summary,) = [line for line in done.stdout.splitlines() if " processed, " in line]
    manifest = next((out / "runs").glob("*.json"))
    assert summary == f"1 processed, 0 cached, 0 duplicate, 1 failed → {out}/  (manifest: {manifest})"
    stages = [line.removeprefix("tiltak: ") for line in done.stderr.splitlines() if line.startswith("tiltak: ")
              and not line.startswith("tiltak: error")]
    for stage in ("connecting to Prefect", "starting the flow run", "loading models", "reading", "analysing",
                  "writing"):
        assert any(line.startswith(stage) for line in stages), done.stderr
    assert stages.index("loading models") < stages.index("reading") < stages.index("writing")
    assert f"failed: {corpus / 'odelagt.pdf'}: load: " in done.stderr
    assert all(len(line) > 80 for line in done.stderr.splitlines() if line.startswith("failed: "))  # not wrapped


def test_run_json_gives_one_object_with_what_a_script_needs(corpus: Path, prefect_api: str):
    out = corpus / "ut-json"
    done = tiltak(["run", str(corpus), "--out", str(out), "--nlp", "blank", "--json"], prefect_api)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = one_json_object(done)
    assert summary["command"] == "run" and summary["ok"] is False and summary["exit_code"] == 1
    assert summary["status"] == "completed"
    assert summary["counts"] == {"processed": 1, "cached": 0, "duplicate": 0, "failed": 1} or summary["counts"] == {
        "processed": 0, "cached": 1, "duplicate": 0, "failed": 1}  # the plan's analysis may come from the cache
    assert summary["measures"] == 2
    assert summary["outputs"] == [str(out / "plan.json")] and (out / "plan.json").is_file()
    manifest = json.loads(Path(summary["manifest"]).read_text(encoding="utf-8"))
    assert manifest["run_id"] == summary["run_id"] and manifest["flow_run_id"] == summary["flow_run_id"]
    (failure,) = summary["failures"]
    assert failure["source"] == str(corpus / "odelagt.pdf") and failure["stage"] == "load" and failure["error"]
    assert f"failed: {corpus / 'odelagt.pdf'}" in done.stderr  # errors still on stderr
    assert "tiltak: loading models" not in done.stderr  # no progress with --json

    # The document written, shown as JSON; and the same with --quiet: nothing.
    shown = tiltak(["show", str(out / "plan.json"), "--json"])
    assert shown.returncode == 0, shown.stderr
    facts = one_json_object(shown)
    assert facts["measures_count"] == 2 and len(facts["measures"]) == 2 and facts["file_name"] == "plan.txt"
    quiet = tiltak(["show", str(out / "plan.json"), "--quiet"])
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")

    exported = tiltak(["export", str(out), "--json"])
    assert exported.returncode == 0, exported.stderr
    datasets = one_json_object(exported)
    assert datasets["counts"]["measures"] == 2 and all(Path(path).is_file() for path in datasets["outputs"])
    assert any(path.endswith(".sqlite") or path.endswith(".db") for path in datasets["outputs"]), datasets


def test_run_quiet_prints_nothing_on_success(corpus: Path, prefect_api: str, tmp_path: Path):
    out = tmp_path / "ut"
    done = tiltak(["run", str(corpus / "plan.txt"), "--out", str(out), "--nlp", "blank", "--quiet"], prefect_api)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert (out / "plan.json").is_file()


@pytest.mark.parametrize("command", ["run", "show", "compare", "export", "doctor"])
def test_a_failure_with_json_is_still_one_json_object_and_a_non_zero_exit(tmp_path: Path, command: str):
    missing = tmp_path / "mangler.json"
    args = {"run": ["run", str(tmp_path / "mangler")], "show": ["show", str(missing)],
            "compare": ["compare", str(missing), str(missing)], "export": ["export", str(tmp_path)],
            "doctor": ["doctor", "--nlp", "nb_finnes_ikke", "--out", str(tmp_path / "ut")]}[command]
    started = time.monotonic()
    done = tiltak([*args, "--json"], timeout=300)
    assert done.returncode != 0, done.stdout + done.stderr
    summary = one_json_object(done)
    assert summary["command"] == command and summary["ok"] is False and summary["exit_code"] == done.returncode
    if command == "doctor":  # a failed check, not an error: every check with its status
        assert any(check["name"] == "nlp model" and check["status"] == "fail" for check in summary["checks"])
    else:
        assert summary["error"] and summary["error"] in done.stderr  # the same one line on stderr
        assert time.monotonic() - started < 120  # refused before any Prefect server (which takes 20-40 s here)


def test_compare_json_and_quiet(tmp_path: Path, prefect_api: str):
    folder = tmp_path / "inn"
    folder.mkdir()
    (folder / "plan-2023.txt").write_text(PLAN, encoding="utf-8")
    (folder / "plan-2024.txt").write_text(PLAN.replace("- øke vedlikeholdet", "- doble vedlikeholdet"),
                                          encoding="utf-8")
    out = tmp_path / "ut"
    ran = tiltak(["run", str(folder), "--out", str(out), "--nlp", "blank", "--quiet"], prefect_api)
    assert ran.returncode == 0, ran.stderr
    written = tmp_path / "sammenligning.json"
    done = tiltak(["compare", str(out / "plan-2023.json"), str(out / "plan-2024.json"), "--out", str(written),
                   "--json"], prefect_api)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = one_json_object(done)
    assert summary["outputs"] == [str(written)] and written.is_file()
    (pair,) = summary["pairs"]
    assert pair["from"] == "plan-2023" and pair["to"] == "plan-2024"
    assert sum(pair["counts"].values()) >= 2  # the changed measure is modified, or dropped and new
    quiet = tiltak(["compare", str(out / "plan-2023.json"), str(out / "plan-2024.json"), "--quiet"], prefect_api)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def _commands(group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):  # a group
            yield from _commands(command, (*prefix, name))


def test_help_texts_have_no_stray_type_labels():
    commands = list(_commands(get_command(app)))
    assert {("run",), ("serve",), ("server", "status"), ("export",)} <= set(commands)
    for command in commands:
        shown = CliRunner().invoke(app, [*command, "-h"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, shown.output
        for label in ("<bool>", "<path>", "<str>", "<list", "<int", "<float", "{"):
            assert label not in shown.output, f"tiltak {' '.join(command)} -h shows {label}:\n{shown.output}"
    run_help = CliRunner().invoke(app, ["run", "-h"], env={"COLUMNS": "200"}).output
    assert "Usage: tiltak run [OPTIONS] PATHS..." in run_help and "--quiet" in run_help and "--json" in run_help
    serve_help = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"}).output
    assert "[serve] table" in serve_help and "[tiltak] table" in serve_help  # not swallowed as markup


def test_prefect_telemetry_is_off_unless_the_user_set_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from pipeline.cli.console import quiet_prefect
    from pipeline.ops.prefect_server import _server_environment

    for name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK"):
        monkeypatch.setenv(name, "placeholder")  # recorded, so the test's changes are undone
        monkeypatch.delenv(name)
    quiet_prefect()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" and os.environ["DO_NOT_TRACK"] == "1"
    assert _server_environment(tmp_path)["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"

    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "0")
    quiet_prefect()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "true" and os.environ["DO_NOT_TRACK"] == "0"
    assert _server_environment(tmp_path)["PREFECT_SERVER_ANALYTICS_ENABLED"] == "true"


def test_the_eta_appears_once_a_few_documents_are_done_and_shrinks():
    from pipeline.cli import console

    console.configure("run")
    progress = console.RunProgress(total=10)
    progress.enabled = False  # the figures only, nothing printed
    progress.stage("analysing")
    etas = []
    for _ in range(6):
        time.sleep(0.2)
        progress.document_done("plan.txt")
        etas.append(progress.eta())
    assert etas[: console.ETA_AFTER_DOCUMENTS - 1] == ["", ""]
    seconds = [int(eta.split()[1]) for eta in etas[console.ETA_AFTER_DOCUMENTS - 1:]]
    assert all(eta.startswith("about ") and eta.endswith(" s left") for eta in etas[2:]), etas
    assert seconds[0] >= seconds[-1] and 0 < seconds[0] < 60  # 7 left at about 0.2 s each, on a busy machine
