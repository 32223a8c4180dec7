"""Paths the user controls (issue #13 part 5, issue #22 part 4): symbolic links, FIFOs, sockets, link loops, file
names that are not UTF-8, an --out that cannot be used, a full disk, the permissions of what is written. Real files,
real mounts (tmpfs, read-only), real `tiltak run` processes where the command line is what is tested."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from fault_inputs import make_fifo, make_socket, make_symlink_loop, norwegian_text, write_non_utf8_name

from pipeline.io import atomic_write_text, display_path, output_folder_problem
from pipeline.reading.batch import InputError, discover, file_sha256, path_from_param, path_param

TILTAK = Path(sys.executable).parent / "tiltak"
BAD_STEM = b"r\xe5d-pl\xe6n"  # Latin-1 'rådplæn': not valid UTF-8


@contextlib.contextmanager
def mounted_tmpfs(where: Path, *, size: str = "1m", read_only: bool = False):
    """A real tmpfs at ``where`` (as root); skips the test with the reason when mounting is not permitted."""
    where.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> int:
    """Write into ``folder`` until its filesystem is full; the bytes written."""
    written = 0
    with open(folder / "filler.bin", "wb", buffering=0) as handle:
        for size in (1 << 16, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    written += handle.write(b"\0" * size)
    return written


def tiltak_run(args: list, prefect_api: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "COLUMNS": "200", "TILTAK_WAIT_LOCK": "30"}
    return subprocess.run([str(TILTAK), "run", *args, "--nlp", "blank"], capture_output=True, env=env, cwd=cwd,
                          timeout=timeout, check=False)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    stderr = done.stderr.decode("utf-8")
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tiltak: error: "), stderr
    return lines[0]


def latest_manifest(out: Path) -> dict:
    manifests = sorted((out / "runs").glob("*.json"))
    assert len(manifests) == 1, manifests
    return json.loads(manifests[0].read_text(encoding="utf-8"))


@pytest.fixture
def shared_folder(tmp_path: Path) -> Path:
    """An input folder as users have them: one document, and every kind of path that must not be read."""
    folder = tmp_path / "inn"
    folder.mkdir()
    run = uuid.uuid4().hex[:8]  # content of its own: analysed by the test, not found in the session's cache
    (folder / "plan.txt").write_text(norwegian_text(f"helsenæringen {run}"), encoding="utf-8")
    (folder / ".gjemt").mkdir()
    (folder / ".gjemt" / "inne.txt").write_text(norwegian_text(f"fiskeriene {run}"), encoding="utf-8")
    secret = tmp_path / "hemmelig.txt"
    secret.write_text("root:x:0:0:passordfil utenfor mappen\n", encoding="utf-8")
    (folder / "passwd.txt").symlink_to(secret)  # points outside the folder
    (folder / "inne-lenke.txt").symlink_to(Path(".gjemt") / "inne.txt")  # points inside
    (folder / "ute-mappe").symlink_to(tmp_path, target_is_directory=True)  # a folder outside (holds the secret)
    (folder / "brutt.txt").symlink_to(folder / "finnes-ikke.txt")
    make_symlink_loop(folder / "sløyfe.txt")
    make_fifo(folder / "rør.txt")
    make_socket(folder / "sokkel.md")
    (folder / "til-rør.txt").symlink_to("rør.txt")
    return folder


def test_a_folder_is_walked_without_following_links_and_every_skip_has_its_reason(shared_folder: Path):
    found = discover([shared_folder])
    assert [p.name for p in found.files] == ["plan.txt"]
    reasons = {p.name: reason for p, reason in ((s.path, s.reason) for s in found.skipped)}
    assert reasons.keys() == {"passwd.txt", "inne-lenke.txt", "ute-mappe", "brutt.txt", "sløyfe.txt",
                              "sløyfe.txt.loop", "rør.txt", "sokkel.md", "til-rør.txt"}
    assert "not followed (--follow-symlinks" in reasons["passwd.txt"]
    assert "not followed" in reasons["ute-mappe"]
    assert reasons["brutt.txt"].startswith("broken symbolic link")
    assert reasons["sløyfe.txt"].startswith("symbolic link loop")
    assert reasons["rør.txt"] == "a named pipe (FIFO), not a regular file"
    assert reasons["sokkel.md"] == "a socket, not a regular file"
    assert reasons["til-rør.txt"] == "symbolic link to a named pipe (FIFO), never read"


def test_follow_symlinks_follows_only_links_that_stay_inside_the_folder(shared_folder: Path):
    (shared_folder / "under").mkdir()
    (shared_folder / "under" / "tilbake").symlink_to("..", target_is_directory=True)  # a folder loop
    (shared_folder / "speil").symlink_to(".gjemt", target_is_directory=True)
    started = time.monotonic()
    found = discover([shared_folder], follow_symlinks=True)
    assert time.monotonic() - started < 5
    # inne-lenke.txt and speil/inne.txt are the same file: read once.
    assert [p.name for p in found.files] == ["inne-lenke.txt", "plan.txt"]
    reasons = {s.path.name: s.reason for s in found.skipped}
    assert reasons["passwd.txt"] == f"symbolic link to {shared_folder.parent / 'hemmelig.txt'}, outside " \
                                    f"{shared_folder}; not followed"
    assert "outside" in reasons["ute-mappe"]
    assert reasons["sløyfe.txt"].startswith("symbolic link loop")
    assert reasons["til-rør.txt"] == "symbolic link to a named pipe (FIFO), never read"
    assert "inne-lenke.txt" not in reasons and "tilbake" not in reasons and "speil" not in reasons


def test_a_named_link_is_read_but_never_a_named_special_file(tmp_path: Path):
    document = tmp_path / "plan.txt"
    document.write_text(norwegian_text("skogbruket"), encoding="utf-8")
    link = tmp_path / "lenke.txt"
    link.symlink_to(document)
    fifo = make_fifo(tmp_path / "rør.txt")
    loop = make_symlink_loop(tmp_path / "sløyfe.txt")
    found = discover([link, fifo, loop])
    assert found.files == [link]
    assert [(s.path, s.reason) for s in found.skipped] == [
        (fifo, "a named pipe (FIFO), not a document file; tiltak reads regular files only"),
        (loop, "symbolic link loop (the link points back to itself)"),
    ]
    with pytest.raises(InputError, match=r"mangler\.txt: no such file or folder"):
        discover([tmp_path / "mangler.txt"])


def test_hashing_a_fifo_fails_at_once_instead_of_waiting_for_a_writer(tmp_path: Path):
    fifo = make_fifo(tmp_path / "rør.txt")
    started = time.monotonic()
    with pytest.raises(OSError, match="named pipe"):
        file_sha256(fifo)
    assert time.monotonic() - started < 5


def test_a_named_file_is_sniffed_from_its_head_not_read_whole(tmp_path: Path):
    from pipeline.cli.run import _check_named_files

    huge = tmp_path / "stor.pdf"
    with open(huge, "wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(64 << 30)  # 64 GiB, sparse: read whole it would take minutes and more memory than there is
    started = time.monotonic()
    _check_named_files([huge])
    assert time.monotonic() - started < 5


def test_paths_that_are_not_utf8_cross_json_unchanged(tmp_path: Path):
    bad = write_non_utf8_name(tmp_path, BAD_STEM, "tekst")
    tricky = tmp_path / "tiltak-path-bytes:AAAA.txt"  # a valid name that looks like an encoded one
    for path in (bad, tricky, tmp_path / "æøå – plan.txt", Path("relativ/fil.txt")):
        carried = json.loads(json.dumps(path_param(path), ensure_ascii=False))
        assert path_from_param(carried) == path
    assert path_param(tmp_path / "æøå.txt") == str(tmp_path / "æøå.txt")  # readable in Prefect's UI
    assert file_sha256(path_from_param(path_param(bad)))  # the very file


def test_output_folder_problems_are_named_and_nothing_is_created(tmp_path: Path):
    a_file = tmp_path / "fil.txt"
    a_file.write_text("x", encoding="utf-8")
    assert output_folder_problem(a_file).startswith("is a file, not a folder")
    assert output_folder_problem(a_file / "ut") == f"cannot create the output folder under {a_file}: it is a file, " \
                                                   "not a folder"
    assert output_folder_problem(a_file / "ut" / "dypere").startswith(f"cannot create the output folder under {a_file}")
    assert output_folder_problem(tmp_path / "ny" / "ut") is None
    assert not (tmp_path / "ny").exists()
    assert output_folder_problem(tmp_path) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fil.txt"]  # the probe file is gone


def test_a_read_only_output_folder_is_named(tmp_path: Path):
    with mounted_tmpfs(tmp_path / "ro", read_only=True) as read_only:
        assert output_folder_problem(read_only) == "cannot write in the output folder: read-only file system"
        assert output_folder_problem(read_only / "ut") == (f"cannot create the output folder in {read_only}: "
                                                           "read-only file system")


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_get_the_permissions_of_any_new_file(tmp_path: Path, umask: int, expected: int):
    previous = os.umask(umask)
    try:
        written = atomic_write_text(tmp_path / "ut.json", "{}")
        with open(tmp_path / "vanlig.json", "w", encoding="utf-8") as handle:  # what the user's own tools give
            handle.write("{}")
        ordinary = stat.S_IMODE((tmp_path / "vanlig.json").stat().st_mode)
        assert stat.S_IMODE(written.stat().st_mode) == expected == ordinary
        atomic_write_text(written, '{"igjen": 1}')  # a rewrite too
        assert stat.S_IMODE(written.stat().st_mode) == expected
        written.chmod(0o600)  # narrowed by the user: a rewrite keeps it so
        atomic_write_text(written, '{"igjen": 2}')
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
    finally:
        os.umask(previous)


@pytest.mark.parametrize(("source_mode", "expected"), [(0o644, 0o644), (0o600, 0o600), (0o640, 0o640),
                                                       (0o444, 0o644), (0o666, 0o644)])
def test_a_document_output_is_never_more_readable_than_its_source(tmp_path: Path, analysed_result: dict,
                                                                  source_mode: int, expected: int):
    from pipeline.store.outputs import write_document

    source = tmp_path / "kilde.txt"
    source.write_text(norwegian_text("helsenæringen"), encoding="utf-8")
    source.chmod(source_mode)
    previous = os.umask(0o022)
    try:
        written = write_document(analysed_result, tmp_path / "ut", stem="kilde", source=source)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(written.stat().st_mode) == expected


@pytest.fixture(scope="module")
def analysed_result(tmp_path_factory) -> dict:
    from pipeline.analysis.process import analyse_document
    from pipeline.config import PipelineConfig

    source = tmp_path_factory.mktemp("analyse") / "plan.txt"
    source.write_text(norwegian_text("helsenæringen"), encoding="utf-8")
    return analyse_document(source, PipelineConfig(nlp="blank")).model_dump(mode="json")


def test_a_non_utf8_file_name_is_written_under_a_safe_name_with_valid_text(tmp_path: Path, analysed_result: dict):
    from pipeline.reading.batch import plan_outputs
    from pipeline.store.outputs import write_document
    from pipeline.store.validate import document_errors

    source = write_non_utf8_name(tmp_path, BAD_STEM, norwegian_text("helsenæringen"))
    [planned] = plan_outputs({source: file_sha256(source)})
    assert planned.stem == "r_d-pl_n"
    written = write_document(analysed_result, tmp_path / "ut", stem=planned.stem, source=source)
    data = json.loads(written.read_bytes().decode("utf-8"))  # strict UTF-8
    assert data["document"]["file_name"] == "r\ufffdd-pl\ufffdn.txt"
    assert data["document"]["source_path"] == str(tmp_path / "r\ufffdd-pl\ufffdn.txt")
    assert any("not valid UTF-8" in warning for warning in data["document"]["warnings"])
    assert document_errors(data) == []


def test_a_fifo_where_an_output_or_the_index_goes_is_never_waited_on(tmp_path: Path, analysed_result: dict):
    from pipeline.store.output_index import INDEX_NAME, OutputIndex
    from pipeline.store.outputs import write_document

    source = tmp_path / "plan.txt"
    source.write_text(norwegian_text("helsenæringen"), encoding="utf-8")
    out = tmp_path / "ut"
    out.mkdir()
    make_fifo(out / "plan.json")
    make_fifo(out / INDEX_NAME)
    started = time.monotonic()
    assert OutputIndex.load(out).entries == {}
    written = write_document(analysed_result, out, stem="plan", source=source)
    assert time.monotonic() - started < 5
    assert written.is_file() and json.loads(written.read_text(encoding="utf-8"))["document"]["file_name"] == "plan.txt"


def _manifest(out: Path):
    from pipeline.store.manifest import DocumentRecord, RunManifest, SkippedRecord

    return RunManifest(run_id=f"test-{uuid.uuid4().hex[:6]}", tool_version="0", schema_version="1.0.0",
                       status="running", started_at="2026-01-01T00:00:00+00:00", out_dir=str(out), config_hash="c",
                       settings={}, documents=[DocumentRecord(source=os.fsdecode(b"/inn/r\xe5d.txt"), status="failed",
                                                              stage="write", error="no space left on device")],
                       skipped=[SkippedRecord(path=os.fsdecode(b"/inn/l\xe5s.txt"), reason="symbolic link")])


def test_on_a_full_disk_writes_fail_with_the_reason_and_what_was_written_stays_valid(tmp_path: Path,
                                                                                    analysed_result: dict):
    from pipeline.store.locking import LOCK_NAME, output_lock
    from pipeline.store.output_index import INDEX_NAME, IndexEntry, OutputIndex
    from pipeline.store.outputs import ManifestWriteError, WriteError, write_document, write_manifest
    from pipeline.store.validate import manifest_errors

    source = tmp_path / "plan.txt"
    source.write_text(norwegian_text("helsenæringen"), encoding="utf-8")
    with mounted_tmpfs(tmp_path / "liten", size="256k") as out:
        manifest = _manifest(out)
        first = write_manifest(manifest, out)
        index = OutputIndex(out)
        index.save()
        fill(out)
        manifest.status = "completed"
        manifest.documents.append(manifest.documents[0].model_copy(update={"source": "/inn/b.txt"}))
        # A rewrite during the run is given up (the previous one stays); the final one says why, in one line.
        assert write_manifest(manifest, out, check_schema=False) is None
        with pytest.raises(ManifestWriteError, match=rf"^{first}: cannot write the run manifest: no space left on "
                                                     "device$"):
            write_manifest(manifest, out)
        kept = json.loads(first.read_bytes().decode("utf-8"))
        assert kept["status"] == "running" and manifest_errors(kept) == []
        assert kept["documents"][0]["source"] == "/inn/r\ufffdd.txt"
        assert kept["skipped"][0]["path"] == "/inn/l\ufffds.txt"

        with pytest.raises(WriteError) as failure:
            write_document(analysed_result, out, stem="plan", source=source)
        assert (failure.value.stage, failure.value.reason, failure.value.permanent) == (
            "write", "no space left on device", True)
        assert str(failure.value) == f"{source}: write: no space left on device"

        index.entries["plan"] = IndexEntry("sha", "identity", str(source), "plan.json", 1, 1, 2, None)
        assert index.save() is None  # logged, not raised: the index is a cache
        assert json.loads((out / INDEX_NAME).read_text(encoding="utf-8"))["entries"] == {}

        with output_lock(out, wait=0):  # the PID cannot be written; the lock holds all the same
            assert (out / LOCK_NAME).exists()
        assert sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp")) == []


# --- the command line, as a user runs it ----------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["a file", "under a file", "read-only", "not UTF-8"])
def test_an_unusable_out_is_one_line_before_any_work(tmp_path: Path, prefect_api: str, case: str):
    (tmp_path / "inn").mkdir()
    (tmp_path / "inn" / "plan.txt").write_text(norwegian_text("helsenæringen"), encoding="utf-8")
    a_file = tmp_path / "fil.json"
    a_file.write_text("{}", encoding="utf-8")
    with contextlib.ExitStack() as stack:
        if case == "a file":
            out, reason = a_file, "is a file, not a folder (--out names the folder the outputs go into)"
        elif case == "under a file":
            out, reason = a_file / "ut", f"cannot create the output folder under {a_file}: it is a file, not a folder"
        elif case == "read-only":
            out = stack.enter_context(mounted_tmpfs(tmp_path / "ro", read_only=True))
            reason = "cannot write in the output folder: read-only file system"
        else:
            out = Path(os.fsdecode(os.fsencode(tmp_path) + b"/ut-r\xe5"))
            reason = ("the --out path is not valid UTF-8; rename it (input documents may have such names, option "
                      "paths may not)")
        done = tiltak_run([str(tmp_path / "inn"), "--out", os.fsencode(out)], prefect_api, tmp_path)
    assert done.returncode == 2
    assert one_error_line(done) == f"tiltak: error: {display_path(out)}: {reason}"
    assert not (tmp_path / "inn" / "plan.json").exists() and not list(tmp_path.glob("ut-*"))
    assert a_file.read_text(encoding="utf-8") == "{}"


def test_named_special_files_and_link_loops_are_one_line_never_a_hang(tmp_path: Path, prefect_api: str):
    fifo = make_fifo(tmp_path / "rør.txt")
    loop = make_symlink_loop(tmp_path / "sløyfe.txt")
    broken = tmp_path / "brutt.txt"
    broken.symlink_to(tmp_path / "borte.txt")
    expected = {fifo: "a named pipe (FIFO), not a document file; tiltak reads regular files only",
                loop: "symbolic link loop (the link points back to itself)",
                broken: "broken symbolic link (its target does not exist)"}
    for path, reason in expected.items():
        done = tiltak_run([str(path), "--out", str(tmp_path / "ut")], prefect_api, tmp_path, timeout=120)
        assert done.returncode == 2
        assert one_error_line(done) == f"tiltak: error: {path}: {reason}"
    assert not (tmp_path / "ut").exists()


def test_a_run_over_a_shared_folder_reads_only_its_documents_and_records_the_rest(tmp_path: Path, prefect_api: str,
                                                                                  shared_folder: Path):
    from pipeline.store.validate import document_errors, manifest_errors

    run = uuid.uuid4().hex[:8]
    write_non_utf8_name(shared_folder, BAD_STEM, norwegian_text(f"kystfiske {run}"))
    named = write_non_utf8_name(tmp_path, b"s\xf8knad", norwegian_text(f"reiselivet {run}"))
    out = tmp_path / "ut"
    done = tiltak_run([os.fsencode(shared_folder), os.fsencode(named), "--out", str(out)], prefect_api, tmp_path)
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert done.returncode == 0, stdout + stderr
    assert "Traceback" not in stderr
    assert "3 processed, 0 cached, 0 duplicate, 0 failed" in stdout
    assert sorted(p.name for p in out.glob("*.json")) == ["plan.json", "r_d-pl_n.json", "s_knad.json"]
    assert "passordfil" not in "".join(p.read_text(encoding="utf-8") for p in out.glob("*.json"))
    for output in out.glob("*.json"):
        assert document_errors(json.loads(output.read_bytes().decode("utf-8"))) == []
    assert f"skipped: {shared_folder / 'passwd.txt'}: symbolic link, not followed" in stderr
    assert f"skipped: {shared_folder / 'rør.txt'}: a named pipe (FIFO), not a regular file" in stderr

    manifest = latest_manifest(out)
    assert manifest_errors(manifest) == []
    assert {Path(s["path"]).name for s in manifest["skipped"]} == {
        "passwd.txt", "inne-lenke.txt", "ute-mappe", "brutt.txt", "sløyfe.txt", "sløyfe.txt.loop", "rør.txt",
        "sokkel.md", "til-rør.txt"}
    assert sorted(Path(d["source"]).name for d in manifest["documents"]) == [
        "plan.txt", "r\ufffdd-pl\ufffdn.txt", "s\ufffdknad.txt"]
    named_output = json.loads((out / "s_knad.json").read_text(encoding="utf-8"))
    assert named_output["document"]["source_path"] == str(tmp_path / "s\ufffdknad.txt")

    again = tiltak_run([os.fsencode(shared_folder), os.fsencode(named), "--out", str(out), "--follow-symlinks"],
                       prefect_api, tmp_path)
    assert again.returncode == 0, again.stdout.decode() + again.stderr.decode()
    assert "3 cached" in again.stdout.decode() and "1 processed" in again.stdout.decode()  # inne-lenke.txt, new
    assert (out / "inne-lenke.json").is_file() and not (out / "passwd.json").exists()


def test_a_full_disk_fails_the_documents_that_do_not_fit_and_the_run_ends_with_a_valid_manifest(
        tmp_path: Path, prefect_api: str):
    from pipeline.store.validate import manifest_errors

    inputs = tmp_path / "inn"
    inputs.mkdir()
    run = uuid.uuid4().hex[:8]  # content of its own: analysed now, not taken from another test's cached analysis
    (inputs / "a-liten.txt").write_text(norwegian_text(f"helsenæringen {run}"), encoding="utf-8")
    # Long documents: each output is far larger than the room left once the small one is written.
    for name, topic in (("b-stor.txt", "fiskeriene"), ("c-stor.txt", "skogbruket")):
        (inputs / name).write_text("\n\n".join(norwegian_text(f"{topic} {run} {i}") for i in range(400)),
                                   encoding="utf-8")
    with mounted_tmpfs(tmp_path / "liten", size="160k") as out:
        done = tiltak_run([str(inputs), "--out", str(out)], prefect_api, tmp_path)
        stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
        assert done.returncode == 1, stdout + stderr
        assert "Traceback" not in stderr
        assert "1 processed, 0 cached, 0 duplicate, 2 failed" in stdout
        for name in ("b-stor.txt", "c-stor.txt"):
            assert f"failed: {inputs / name}: write: no space left on device" in stderr
        manifest = latest_manifest(out)
        assert manifest["status"] == "completed" and manifest_errors(manifest) == []
        failed = [d for d in manifest["documents"] if d["status"] == "failed"]
        assert [(d["stage"], d["error"]) for d in failed] == [("write", "no space left on device")] * 2
        assert sorted(p.name for p in out.glob("*.json")) == ["a-liten.json"]
        assert not [p for p in out.rglob("*.tmp")]


def test_a_final_manifest_that_cannot_be_written_is_one_line_and_the_last_one_written_stays_valid(
        tmp_path: Path, prefect_api: str):
    from pipeline.store.validate import document_errors, manifest_errors

    document = tmp_path / "plan.txt"
    document.write_text(norwegian_text(f"havbruket {uuid.uuid4().hex[:8]}"), encoding="utf-8")
    out = tmp_path / "liten"
    # Room for exactly five files (tmpfs counts its root): the lock, runs/, the first manifest and one output. The
    # final manifest's temporary file finds no room: the disk is full.
    with mounted_tmpfs(out, size="1m,nr_inodes=5"):
        done = tiltak_run([str(document), "--out", str(out)], prefect_api, tmp_path)
        stderr = done.stderr.decode("utf-8")
        assert done.returncode == 1, done.stdout.decode("utf-8") + stderr
        assert "Traceback" not in stderr
        manifest_path = next((out / "runs").glob("*.json"))
        assert stderr.strip().splitlines()[-1] == (f"tiltak: error: {manifest_path}: cannot write the run manifest: "
                                                   "no space left on device")
        manifest = latest_manifest(out)
        assert manifest["status"] == "running" and manifest_errors(manifest) == []
        assert document_errors(json.loads((out / "plan.json").read_text(encoding="utf-8"))) == []
        assert not [p for p in out.rglob("*.tmp")]
