"""Issue #8: a run killed with SIGKILL and re-run, two runs on one output folder, and `tiltak doctor`.

Real `tiltak run` processes, real signals, real locks. The runs talk to the suite's temporary Prefect server
(PREFECT_API_URL) instead of each starting one of their own (~15 s each); each keeps its own PREFECT_HOME,
where Prefect persists the analysis cache. (tests/test_cli.py covers a run with its own server.)
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.research.published_schemas import validate_file
from pipeline.store.locking import LOCK_NAME, output_lock

TILTAK = Path(sys.executable).parent / "tiltak"
TIMEOUT = 240


def _document(number: int, paragraphs: int) -> str:
    """A Norwegian policy text with one list of measures per paragraph (own words)."""
    parts = [f"# Handlingsplan {number} for samarbeid mellom kommunene\n\n"]
    for i in range(paragraphs):
        parts.append(
            f"Kommunene i region {number} har bygget opp tjenester for innbyggerne over tid. Avsnitt {i} beskriver "
            "hvordan samordningen mellom helse, skole og næring har fungert, og hva som gjenstår.\n\n"
            "For å bedre samarbeidet vil regjeringen:\n\n"
            f"- etablere et felles kontor for region {number}, del {i}\n"
            f"- styrke opplæringen av ansatte i tjeneste {i}\n\n"
        )
    return "".join(parts)


def _corpus(folder: Path, sizes: list[int]) -> list[str]:
    folder.mkdir()
    stems = []
    for number, paragraphs in enumerate(sizes, start=1):
        stem = f"plan-{number:02d}"
        (folder / f"{stem}.txt").write_text(_document(number, paragraphs), encoding="utf-8")
        stems.append(stem)
    return stems


def _env(api: str, prefect_home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(prefect_home), "COLUMNS": "160", **extra}
    if "TILTAK_WAIT_LOCK" not in extra:
        env.pop("TILTAK_WAIT_LOCK", None)
    return env


def _start(corpus: Path, out: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    # Own session: the run's Prefect server (a child process) can be killed with it.
    with log.open("wb") as handle:
        return subprocess.Popen([str(TILTAK), "run", str(corpus), "--out", str(out), "--nlp", "blank"],
                                stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _finish(process: subprocess.Popen, log: Path) -> tuple[int, str]:
    try:
        code = process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    _reap(process)
    return code, log.read_text(encoding="utf-8", errors="replace")


def _reap(process: subprocess.Popen) -> None:
    """Kill what is left of the run's process group (its Prefect server)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _outputs(out: Path) -> dict[str, Path]:
    return {p.stem: p for p in out.glob("*.json") if not p.name.startswith(".")}


def _manifests(out: Path) -> list[dict]:
    runs = sorted((out / "runs").glob("*.json"))
    for path in runs:
        assert validate_file(path) == [], path
    manifests = [json.loads(p.read_text(encoding="utf-8")) for p in runs]
    # Ordered by start (milliseconds); a tie cannot happen between runs that take turns on one folder.
    return sorted(manifests, key=lambda m: (m["started_at"], m["finished_at"] or ""))


def _temporaries(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.tmp"))


def _statuses(manifest: dict) -> dict[str, str]:
    return {Path(r["source"]).stem: r["status"] for r in manifest["documents"]}


def test_a_killed_run_leaves_valid_files_and_the_rerun_finishes_it_from_the_cache(tmp_path: Path, prefect_api: str):
    # Three small documents finish (and are written) first; the nine big ones (analysed side by side in one
    # interpreter) are still being analysed when the kill lands.
    stems = _corpus(tmp_path / "corpus", [2, 3, 4] + [150] * 9)
    out, env = tmp_path / "out", _env(prefect_api, tmp_path / "prefect")

    first = _start(tmp_path / "corpus", out, env, tmp_path / "first.log")
    deadline = time.monotonic() + TIMEOUT
    try:
        while not _outputs(out):
            assert first.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "no output appeared"
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        _reap(first)

    # Whatever is on disk is whole: every JSON parses and validates; the manifest says the run never ended and
    # lists exactly the documents written so far.
    written = _outputs(out)
    assert 1 <= len(written) < len(stems), "the run was not killed halfway; make the documents bigger"
    for path in written.values():
        assert validate_file(path) == [], path
    [killed] = _manifests(out)
    assert killed["status"] == "running" and killed["finished_at"] is None
    assert {Path(r["output"]).stem for r in killed["documents"]} <= set(written)
    # (The kill may land between a document's JSON and its manifest entry: the manifest lists what it is sure of.)
    assert set(_statuses(killed).values()) <= {"processed"}
    # What a write cut off by the kill leaves behind (the kill rarely lands inside one, so one is planted).
    (out / ".plan-12.json.k1ll3d.tmp").write_text('{"document": {"id": "plan-', encoding="utf-8")
    (out / "runs" / f".{killed['run_id']}.json.k1ll3d.tmp").write_text("{", encoding="utf-8")

    code, log = _finish(_start(tmp_path / "corpus", out, env, tmp_path / "second.log"), tmp_path / "second.log")
    assert code == 0, log

    assert set(_outputs(out)) == set(stems)
    for path in _outputs(out).values():
        assert validate_file(path) == [], path
    assert _temporaries(out) == []
    killed_again, rerun = _manifests(out)
    assert killed_again == killed  # a finished run's manifest is never touched again
    assert rerun["status"] == "completed" and rerun["finished_at"]
    before, after = _statuses(killed), _statuses(rerun)
    assert set(after) == set(stems) and set(after.values()) <= {"processed", "cached"}
    # Exactly once overall: nothing is processed in both runs, and what the killed run finished (written, or
    # only analysed when the kill came before its JSON and manifest entry) comes from the cache it persisted in
    # its PREFECT_HOME, in another process, traced to the killed run.
    assert [stem for stem in stems if [before.get(stem), after[stem]].count("processed") > 1] == []
    origin = {Path(r["source"]).stem: r["analysed_in_run"] for r in rerun["documents"]}
    for stem in stems:
        expected = killed["run_id"] if after[stem] == "cached" else rerun["run_id"]
        assert origin[stem] == expected, stem
    assert all(after[stem] == "cached" for stem in {*before, *written})
    assert {r["analysed_in_run"] for r in killed["documents"]} <= {killed["run_id"]}
    # Whether the kill lands before every analysis is cached depends on the machine's speed; either way each
    # document was analysed exactly once, which the checks above prove.


def test_runs_on_one_output_folder_take_turns_and_a_run_that_cannot_wait_fails_in_one_line(
    tmp_path: Path, prefect_api: str
):
    stems = _corpus(tmp_path / "corpus", [3, 4, 5])
    out = tmp_path / "out"
    runs = {}
    with output_lock(out, wait=0):  # held by this test process while three runs start
        for name, extra in (("a", {}), ("b", {}), ("impatient", {"TILTAK_WAIT_LOCK": "0"})):
            log = tmp_path / f"{name}.log"
            env = _env(prefect_api, tmp_path / f"prefect-{name}", **extra)
            runs[name] = (_start(tmp_path / "corpus", out, env, log), log)
        code, log = _finish(*runs.pop("impatient"))
        assert code == 2, log
        error = [line for line in log.splitlines() if line.startswith("tiltak: error:")]
        assert error == [f"tiltak: error: {out}: output folder is in use by another tiltak run (PID {os.getpid()}); "
                         "gave up after waiting 0 s (wait longer with --wait-lock SECONDS, or write to another "
                         "--out folder)"], log
        assert not (out / "runs").exists()  # the waiting runs have written nothing
        assert all(process.poll() is None for process, _log in runs.values())

    for name, (process, log) in runs.items():
        code, text = _finish(process, log)
        assert code == 0, f"{name}: {text}"
    manifests = _manifests(out)
    assert [m["status"] for m in manifests] == ["completed", "completed"]
    # The second run finds the first one's outputs up to date (the output index), even without its cache.
    assert [(m["counts"]["processed"], m["counts"]["cached"]) for m in manifests] == [(3, 0), (0, 3)]
    first, second = manifests
    assert first["finished_at"] <= second["started_at"]  # one after the other, never interleaved
    assert set(_outputs(out)) == set(stems)
    for path in _outputs(out).values():
        assert validate_file(path) == [], path
    assert _temporaries(out) == []
    assert (out / LOCK_NAME).read_text() == ""  # released


def test_the_lock_is_released_when_its_holder_dies(tmp_path: Path):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from pipeline.store.locking import output_lock\n"
         "with output_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)", str(out)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        from pipeline.errors import TiltakError

        in_use = rf"output folder is in use by another tiltak run \(PID {holder.pid}\)"
        with pytest.raises(TiltakError, match=in_use), output_lock(out, wait=0.3):
            pass
        holder.kill()
        holder.wait(timeout=10)
        with output_lock(out, wait=5):
            assert (out / LOCK_NAME).read_text().strip() == str(os.getpid())
    finally:
        holder.kill()
        holder.wait(timeout=10)


def _doctor(args: list[str], env: dict[str, str] | None = None):
    from pipeline.cli import app
    from pipeline.cli.doctor import register

    if not any(command.name == "doctor" for command in app.registered_commands):
        register(app)
    return CliRunner().invoke(app, ["doctor", *args], env={"COLUMNS": "250", **(env or {})})


def test_doctor_reports_every_check(tmp_path: Path):
    result = _doctor(["--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    for name in ("python", "nlp model", "shipped nlp model", "focus-area classifier", "taxonomy", "prefect",
                 "output folder", "dask", "chromium", "datasette", "pyarrow"):
        assert f"│ {name} " in result.output, name
    assert "matches its card" in result.output
    assert " 0 failed" in result.output
    assert not (tmp_path / "out").exists()  # checked, not created


def test_doctor_fails_on_an_unwritable_prefect_home(tmp_path: Path):
    # Root may write into a chmod 0o500 folder; nobody can create a folder under a regular file.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = _doctor(["--out", str(tmp_path / "out"), "--nlp", "blank"], env={"PREFECT_HOME": str(blocker / "p")})
    assert result.exit_code == 1, result.output
    prefect_row = next(line for line in result.output.splitlines() if line.startswith("│ prefect "))
    assert "│ fail " in prefect_row and "set PREFECT_HOME to a writable folder" in prefect_row
    assert "1 failed" in result.output


def test_doctor_prefect_check_names_the_problem(tmp_path: Path, monkeypatch):
    from pipeline.ops.doctor import check_prefect

    (tmp_path / "a-file").write_text("", encoding="utf-8")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "a-file" / "p"))
    check = check_prefect()
    assert check.status == "fail" and "is not writable: Not a directory" in check.detail


def test_manifests_written_before_status_and_analysed_in_run_still_validate():
    from pipeline.store.manifest import RunManifest
    from pipeline.store.validate import manifest_errors

    old = {"manifest_version": "1.0.0", "run_id": "r", "tool_version": "0.1.0", "schema_version": "1.0.0",
           "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:01:00+00:00", "out_dir": "o",
           "config_hash": "c", "settings": {}, "counts": {"processed": 1, "cached": 0, "duplicate": 0, "failed": 0},
           "documents": [{"source": "a.txt", "status": "processed", "output": "a.json"}]}
    assert manifest_errors(old) == []
    assert RunManifest.model_validate({k: v for k, v in old.items() if k != "counts"}).status == "completed"
