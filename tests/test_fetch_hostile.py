"""Issue #22 (5 and 4): fetching that cannot stall or crash ingestion, and an inbox whose files stay where the user
pointed. A raw socket server in a thread plays hostile web servers (headers or a body trickled a byte a second,
garbage instead of HTTP, a connection closed mid-body or reset, a redirect loop, 503s); the inbox holds a link to
a private file outside it, a FIFO and a file name that is not UTF-8."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.ops.ingest import (
    INBOX_KEY_PREFIX,
    InboxSkip,
    Registry,
    escape_fs_name,
    fetch,
    file_mode,
    read_inbox_file,
    retry_after_seconds,
    scan_inbox_entries,
)

REPO = Path(__file__).resolve().parents[1]

GOOD_PAGE = """<!doctype html><html><head><title>Tiltaksplan for friluftsliv</title></head><body>
<h1>Tiltaksplan for friluftsliv</h1>
<p>For å styrke friluftslivet i nærmiljøet vil regjeringen:</p>
<ul><li>etablere en tilskuddsordning for turstier i kommunene</li>
<li>utrede bedre tilgang til strandsonen langs Oslofjorden</li></ul>
</body></html>""".encode()

INBOX_TEXT = """Handlingsplan for lesing i skolen

Leseferdighetene har gått ned. For å snu utviklingen vil regjeringen:

• innføre en leselystsatsing i alle grunnskoler
• styrke skolebibliotekene med øremerkede midler
"""

SECRET = "HEMMELIG-INNHOLD-7f3a utenfor innboksen"
TRICKLE_SECONDS = 600  # what a trickled response would take to finish: the fetch must give up long before


class HostileServer:
    """One thread per connection, one request per connection (every answer says ``Connection: close``); what it
    does depends on the request path. ``hits`` counts requests per path."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.sock.settimeout(0.2)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket, data: bytes) -> None:
        for byte in data:
            if self.stop.wait(1.0):
                return
            conn.sendall(bytes([byte]))

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(10)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1].decode("ascii", "replace")
            with self.lock:
                self.hits[path] = hit = self.hits.get(path, 0) + 1
            self._respond(conn, path, hit)

    def _respond(self, conn: socket.socket, path: str, hit: int) -> None:
        if path == "/good.html":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nETag: \"g1\"\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(GOOD_PAGE) + GOOD_PAGE)
        elif path == "/trickle-headers":
            self._trickle(conn, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: "
                          + b"a" * TRICKLE_SECONDS + b"\r\n\r\n<html></html>")
        elif path == "/trickle-body":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % TRICKLE_SECONDS)
            self._trickle(conn, b"<" * TRICKLE_SECONDS)
        elif path == "/garbage":
            conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe garbage \x1b[31m\r\n\r\n")
        elif path == "/mid-body":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10000\r\n\r\n<html><body>")
        elif path == "/reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
        elif path == "/loop":
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        elif path == "/to-file":
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
        elif path == "/flaky.html":  # busy twice (once asking for a second's pause), then the page
            if hit <= 2:
                retry_after = b"Retry-After: 1\r\n" if hit == 2 else b""
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\n" + retry_after
                             + b"Content-Length: 4\r\nConnection: close\r\n\r\nbusy")
            else:
                self._respond(conn, "/good.html", hit)
        elif path == "/latin1-etag":  # a validator with a byte that is not ASCII cannot be sent back as it is
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"bl\xe5b\xe6r\"\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(GOOD_PAGE) + GOOD_PAGE)
        elif path == "/always-busy":
            conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        elif path == "/come-back-tomorrow":
            conn.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 86400\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture
def hostile():
    server = HostileServer()
    yield server
    server.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Fetching, one hostile server at a time --------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("/trickle-headers", "timed out after 2 s"),
    ("/trickle-body", "timed out after 2 s"),
    ("/garbage", "broken HTTP response"),
    ("/mid-body", "broken HTTP response"),
    ("/reset", "connection lost: Connection reset by peer"),
    ("/loop", "more than 5 redirects"),
    ("/to-file", "not http or https"),
])
def test_a_hostile_response_fails_within_its_deadline(hostile, path, expected):
    started = time.monotonic()
    result = fetch(f"{hostile.base}{path}", timeout=2)
    elapsed = time.monotonic() - started
    assert result.status == "error" and result.content is None
    assert expected in result.reason and result.reason.startswith(f"{hostile.base}{path}: ")
    assert "\n" not in result.reason and len(result.reason) < 400
    assert elapsed < 15, f"{path} took {elapsed:.0f} s; a trickle finishes after {TRICKLE_SECONDS} s"


def test_transient_errors_are_retried_with_backoff_within_the_budget(hostile):
    started = time.monotonic()
    flaky = fetch(f"{hostile.base}/flaky.html", timeout=5)
    assert flaky.status == "new" and flaky.content == GOOD_PAGE and flaky.etag == '"g1"'
    assert hostile.hits["/flaky.html"] == 3
    assert time.monotonic() - started >= 1.0  # the second 503's Retry-After: 1 was waited for

    busy = fetch(f"{hostile.base}/always-busy", timeout=5, retries=2)
    assert busy.status == "error" and busy.reason.endswith("HTTP 503 Service Unavailable (3 attempts)")
    assert hostile.hits["/always-busy"] == 3

    started = time.monotonic()
    later = fetch(f"{hostile.base}/come-back-tomorrow", timeout=5)
    assert later.status == "error" and "Retry-After 86400 s is beyond" in later.reason
    assert hostile.hits["/come-back-tomorrow"] == 1 and time.monotonic() - started < 5

    # a budget smaller than the backoff stops the retries early; no retries at all when asked
    assert fetch(f"{hostile.base}/always-busy", timeout=1, retries=5, budget=1.2).status == "error"
    assert hostile.hits["/always-busy"] == 4
    assert fetch(f"{hostile.base}/always-busy", timeout=5, retries=0).reason.endswith("Service Unavailable")
    assert hostile.hits["/always-busy"] == 5


def test_a_validator_that_is_not_ascii_does_not_break_the_next_fetch(hostile):
    first = fetch(f"{hostile.base}/latin1-etag", timeout=5)
    assert first.status == "new" and first.etag
    again = fetch(f"{hostile.base}/latin1-etag", first.etag, "Tue, 01 Dec 2026 10:00:00 GMT", timeout=5)
    assert again.status == "new" and again.content == GOOD_PAGE and hostile.hits["/latin1-etag"] == 2


def test_unreachable_hosts_are_errors_not_crashes():
    started = time.monotonic()
    refused = fetch(f"http://127.0.0.1:{_closed_port()}/plan.html", timeout=2, retries=2)
    assert refused.status == "error" and "cannot connect" in refused.reason and "(3 attempts)" in refused.reason
    unknown = fetch("http://no-such-host.invalid/plan.html", timeout=2, retries=0)
    assert unknown.status == "error" and ("cannot connect" in unknown.reason or "timed out" in unknown.reason)
    assert time.monotonic() - started < 20


def test_tls_to_a_server_that_does_not_speak_it_fails_at_once():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)

        def answer_in_plain_text() -> None:
            with contextlib.suppress(OSError):
                for _ in range(3):
                    conn, _ = server.accept()
                    with conn:
                        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        time.sleep(0.2)

        threading.Thread(target=answer_in_plain_text, daemon=True).start()
        result = fetch(f"https://127.0.0.1:{server.getsockname()[1]}/plan.html", timeout=5)
    assert result.status == "error" and ": TLS failed: " in result.reason and "attempts" not in result.reason


def test_a_fetch_stops_at_once_when_the_run_is_interrupted(hostile):
    from pipeline.ops.ingest import stop_event, stoppable_fetches

    results = []
    with pytest.raises(KeyboardInterrupt), stoppable_fetches() as token:
        worker = threading.Thread(target=lambda: results.append(
            fetch(f"{hostile.base}/trickle-body", timeout=60, stop=stop_event(token))))
        worker.start()
        time.sleep(1.5)
        started = time.monotonic()
        raise KeyboardInterrupt  # as Ctrl+C (or Prefect's SIGTERM bridge) raises in the main thread
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - started < 5
    assert results[0].status == "error" and results[0].reason.endswith("fetch stopped: the run is stopping")


def test_retry_after_forms():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 10) == 10.0
    assert retry_after_seconds("snart") is None and retry_after_seconds(None) is None


# --- The inbox -------------------------------------------------------------------------------------------------------

def _age(path: Path, seconds: float = 3600) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)


@pytest.fixture
def restricted_umask():
    """A real umask for the test (the process's, restored after)."""
    previous = os.umask(0o022)
    yield 0o022
    os.umask(previous)


@pytest.fixture
def hostile_inbox(tmp_path, restricted_umask) -> dict:
    """An inbox with one good file, a private (0640) file, and what must not be read: a link to a private file
    outside, a link to a folder outside, a link to a file inside, a FIFO. Plus a file name that is not UTF-8."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "hemmelig.txt"
    secret.write_text(f"{SECRET}\n\nFor å sikre dette vil regjeringen:\n\n• opprette et hemmelig register\n",
                      encoding="utf-8")
    secret.chmod(0o640)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = inbox / "leseplan.txt"
    good.write_text(INBOX_TEXT, encoding="utf-8")
    private = inbox / "privat-plan.txt"
    private.write_text(INBOX_TEXT.replace("lesing", "regning").replace("leselystsatsing", "regnesatsing"),
                       encoding="utf-8")
    private.chmod(0o640)
    (inbox / "lenke-ut.txt").symlink_to(secret)
    (inbox / "mappe-ut").symlink_to(outside, target_is_directory=True)
    (inbox / "lenke-inn.txt").symlink_to("leseplan.txt")
    os.mkfifo(inbox / "ventende.txt")
    latin1 = os.fsencode(inbox) + b"/l\xe6replan-\xf8st.txt"  # 'læreplan-øst.txt' in Latin-1
    fd = os.open(latin1, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, INBOX_TEXT.replace("lesing", "naturfag").replace("leselystsatsing", "forskerspiresatsing").encode())
    os.close(fd)
    for entry in inbox.iterdir():
        _age(entry)
    return {"inbox": inbox, "secret": secret, "good": good, "private": private, "latin1": Path(os.fsdecode(latin1))}


def test_scan_skips_links_and_special_files_with_reasons(hostile_inbox):
    inbox = hostile_inbox["inbox"].resolve()
    scan = scan_inbox_entries(hostile_inbox["inbox"])
    assert scan.files == sorted([inbox / "leseplan.txt", inbox / "privat-plan.txt", hostile_inbox["latin1"]])
    reasons = {Path(entry["source"]).name: entry["reason"] for entry in scan.skipped}
    assert set(reasons) == {"lenke-ut.txt", "lenke-inn.txt", "mappe-ut", "ventende.txt"}
    assert f"a symbolic link (to {hostile_inbox['secret']}, outside the inbox)" in reasons["lenke-ut.txt"]
    assert "inside the inbox" in reasons["lenke-inn.txt"]
    assert "symbolic link to a folder; not followed" in reasons["mappe-ut"]
    assert "a FIFO, not a regular file; not opened" in reasons["ventende.txt"]

    # Where os.fwalk is missing (Windows) the plain walk finds the same.
    with pytest.MonkeyPatch.context() as patch:
        patch.delattr(os, "fwalk")
        assert scan_inbox_entries(hostile_inbox["inbox"]) == scan

    # A file swapped for a FIFO or a link after the scan is not opened either (a FIFO would block the read).
    good = inbox / "leseplan.txt"
    identity = scan.identities[good]
    good.rename(inbox / "flyttet.txt")
    os.mkfifo(good)
    started = time.monotonic()
    with pytest.raises(InboxSkip, match="a FIFO, not a regular file"):
        read_inbox_file(good, identity)
    assert time.monotonic() - started < 5
    good.unlink()
    good.symlink_to(hostile_inbox["secret"])
    with pytest.raises(InboxSkip, match="symbolic link; not followed"):
        read_inbox_file(good, identity)
    good.unlink()
    (inbox / "flyttet.txt").write_text("en annen fil", encoding="utf-8")
    good.write_text("en ny fil", encoding="utf-8")  # another inode than the one scanned
    with pytest.raises(InboxSkip, match="replaced by another file"):
        read_inbox_file(good, identity)


def test_names_of_any_bytes_are_escaped_reversibly_and_saved():
    assert escape_fs_name(os.fsdecode(b"/inn/l\xe6re\\plan.txt")) == "/inn/l\\xe6re\\\\plan.txt"
    assert escape_fs_name("/inn/læreplan.txt") == "/inn/læreplan.txt"
    # a name with a real backslash-x never meets an escaped byte
    assert escape_fs_name(os.fsdecode(b"a\\xe6")) != escape_fs_name(os.fsdecode(b"a\xe6"))


def test_an_output_is_written_no_more_readable_than_its_source(tmp_path, restricted_umask):
    """The document JSON holds the source's text: written with the source's narrower mode from the start (not
    widened and narrowed afterwards)."""
    from pipeline.analysis.process import analyse_document
    from pipeline.config import PipelineConfig
    from pipeline.store.outputs import write_document

    for name, source_mode, expected in (("privat.txt", 0o640, 0o640), ("apen.txt", 0o644, 0o644),
                                        ("kjorbar.txt", 0o755, 0o644), ("hemmelig.txt", 0o600, 0o600)):
        source = tmp_path / name
        source.write_text(INBOX_TEXT, encoding="utf-8")
        source.chmod(source_mode)
        result = analyse_document(source, PipelineConfig(nlp="blank")).model_dump(mode="json")
        output = write_document(result, tmp_path / "out", stem=source.stem, source=source)
        assert stat.S_IMODE(output.stat().st_mode) == expected, name


def _all_bytes_under(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def test_ingest_flow_survives_hostile_urls_and_a_hostile_inbox(prefect_harness, tmp_path, hostile, hostile_inbox):
    """One real ``ingest`` flow run: every hostile URL recorded as failed within its deadline, the good URL and
    the retried one ingested; the inbox's link, FIFO and folder link skipped with reasons, nothing outside read,
    the Latin-1 name ingested; stored copies and outputs no more readable than their sources."""
    from flows import ingest

    out = tmp_path / "out"
    hostile_paths = ["/trickle-headers", "/trickle-body", "/garbage", "/mid-body", "/reset", "/loop"]
    urls = [f"{hostile.base}{path}" for path in hostile_paths]
    good, flaky = f"{hostile.base}/good.html", f"{hostile.base}/flaky.html"
    inbox = hostile_inbox["inbox"]
    params = {"inbox": str(inbox), "urls": [*urls, good, flaky], "out_dir": str(out), "nlp": "blank",
              "timeout": 3.0}
    started = time.monotonic()
    first = ingest(**params)
    elapsed = time.monotonic() - started
    assert elapsed < 240, f"the run took {elapsed:.0f} s; the trickles alone would take {TRICKLE_SECONDS} s each"

    failed = {failure["source"]: failure for failure in first["failed"]}
    assert set(failed) == set(urls), first["failed"]
    assert all(failure["stage"] == "fetch" for failure in failed.values())
    assert "timed out after 3 s" in failed[urls[0]]["error"] and "timed out after 3 s" in failed[urls[1]]["error"]
    assert "broken HTTP response" in failed[urls[2]]["error"]
    resolved = inbox.resolve()
    latin1_key = INBOX_KEY_PREFIX + str(resolved) + "/l\\xe6replan-\\xf8st.txt"
    assert sorted(first["new"]) == sorted([good, flaky, str(resolved / "leseplan.txt"),
                                           str(resolved / "privat-plan.txt"), latin1_key])
    assert hostile.hits["/flaky.html"] == 3
    assert {Path(entry["source"]).name for entry in first["skipped"]} == {
        "lenke-ut.txt", "lenke-inn.txt", "mappe-ut", "ventende.txt"}

    registry_bytes = (out / "ingest" / "registry.json").read_bytes()
    registry = json.loads(registry_bytes.decode("utf-8"))  # valid UTF-8 JSON
    assert registry["sources"][latin1_key]["display"] == str(resolved) + "/l\\xe6replan-\\xf8st.txt"
    assert "ventende.txt" in " ".join(entry["reason"] for entry in registry["skipped"].values())
    for url in urls:
        assert registry["sources"][url]["last_error"] == failed[url]["error"]
    measures = json.loads((out / first["outputs"][latin1_key]).read_text(encoding="utf-8"))["measures"]
    assert [m["text"] for m in measures] == ["innføre en forskerspiresatsing i alle grunnskoler",
                                             "styrke skolebibliotekene med øremerkede midler"]
    assert SECRET.encode() not in _all_bytes_under(out)  # nothing behind the link was read

    normal = 0o666 & ~0o022
    assert file_mode() == normal
    for source, expected in ((str(resolved / "leseplan.txt"), normal), (str(resolved / "privat-plan.txt"), 0o640),
                             (good, normal)):
        (version,) = registry["sources"][source]["versions"]
        assert stat.S_IMODE((out / version["stored_path"]).stat().st_mode) == expected, source
        assert stat.S_IMODE((out / version["output_json"]).stat().st_mode) == expected, source
    assert stat.S_IMODE((out / "ingest" / "registry.json").stat().st_mode) == normal

    # Every later run is the same: no crash on the odd name, nothing new, the hostile URLs fail again.
    again = ingest(**{**params, "urls": [good, urls[2]]})
    assert latin1_key in again["unchanged"] and again["new"] == again["changed"] == []
    assert [failure["source"] for failure in again["failed"]] == [urls[2]]
    assert Registry.load(out).sources[latin1_key]["versions"]


def test_serve_once_is_bounded_and_stops_on_sigterm(prefect_api, tmp_path, hostile):
    """``serve --once`` (as cron runs it): a trickling URL cannot hold the run, and SIGTERM in the middle of the
    fetch ends the process at once, not at the fetch deadline nor after the trickle."""
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "pipeline.cli.serve", "serve", "--once", "--out", str(tmp_path / "out"),
               "--nlp", "blank", "--timeout", "4", "--url", f"{hostile.base}/trickle-body",
               "--url", f"{hostile.base}/good.html"]
    started = time.monotonic()
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    elapsed = time.monotonic() - started
    assert finished.returncode == 1, finished.stdout + finished.stderr
    assert "1 new, 0 changed" in finished.stdout and "1 failed" in finished.stdout
    assert f"failed: {hostile.base}/trickle-body: fetch:" in finished.stdout
    assert "timed out after 4 s" in finished.stdout
    print(f"serve --once with a trickling URL: {elapsed:.1f} s")

    command[command.index("--timeout") + 1] = "90"
    process = subprocess.Popen(command[:-2], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while hostile.hits.get("/trickle-body", 0) < 2 and time.monotonic() < deadline:  # the fetch has begun
            assert process.poll() is None, process.stdout.read().decode()
            time.sleep(0.2)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        assert time.monotonic() - signalled < 30  # the fetch stops at once (its deadline: 90 s, the trickle: 600 s)
        assert process.returncode != 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        process.stdout.close()
