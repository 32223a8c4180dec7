"""Scheduled ingestion (issue #7): fetching with conditional GET, the version registry, the ``ingest`` flow, and a
scheduled deployment on a real local Prefect server, all against a local HTTP server and a temporary inbox."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.ops.ingest import (
    Candidate,
    IngestError,
    Registry,
    fetch,
    load_serve_config,
    plan,
    scan_inbox,
    settled,
    source_name,
    store_version,
    suffix_for,
)
from pipeline.research.published_schemas import validate_file

REPO = Path(__file__).resolve().parents[1]

PLAN_V1 = """<!doctype html><html><head><title>Handlingsplan for helsedata</title></head><body>
<h1>Handlingsplan for helsedata</h1>
<p>For å gjøre helsedata lettere å bruke i forskning vil regjeringen:</p>
<ul><li>etablere en nasjonal tjeneste for søknader om tilgang til helsedata</li>
<li>vurdere en felles løsning for samtykke i helseforskning</li></ul>
</body></html>"""
# The revised plan keeps one measure, drops one and adds one.
NEW_MEASURE = "innføre en frist på tre måneder for behandling av søknader om helsedata"
PLAN_V2 = PLAN_V1.replace(
    "<li>vurdere en felles løsning for samtykke i helseforskning</li>", f"<li>{NEW_MEASURE}</li>")

INBOX_DOCUMENT = """Strategi for kunstig intelligens i helsetjenesten

Kunstig intelligens kan gi bedre og raskere diagnostikk. For å ta teknologien i bruk på en trygg måte vil regjeringen:

• opprette et nasjonalt kompetansemiljø for kunstig intelligens i helsetjenesten
• utarbeide veiledning om personvern ved bruk av pasientdata
"""


class Site:
    """What the local web server serves, and every request it got."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.sleep = 0.0
        self.publish(PLAN_V1)

    def publish(self, html: str) -> None:
        self.body = html.encode("utf-8")
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'
        self.last_modified = formatdate(time.time(), usegmt=True)

    def get_requests(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]


class Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        site: Site = self.server.site  # type: ignore[attr-defined]
        site.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        if self.path == "/plan.html":
            validators = {"ETag": site.etag, "Last-Modified": site.last_modified}
            if self.headers.get("If-None-Match") == site.etag:
                self._send(304, headers=validators)
            else:
                self._send(200, site.body, {"Content-Type": "text/html; charset=utf-8", **validators})
        elif self.path == "/slow.html":
            time.sleep(site.sleep)
            self._send(200, site.body, {"Content-Type": "text/html"})
        elif self.path == "/big-declared.txt":
            self._send(200, b"x" * 5000, {"Content-Type": "text/plain"})
        elif self.path == "/big-streamed.txt":  # no Content-Length: only the streamed count can stop it
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"y" * 1000)
        else:
            self._send(404, b"not found")


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.site = Site()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.site.base = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield server.site  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture
def inbox(tmp_path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "ki-strategi.txt").write_text(INBOX_DOCUMENT, encoding="utf-8")
    (folder / ".hidden.txt").write_text("ikke et dokument", encoding="utf-8")
    (folder / "README.md").write_text("notater", encoding="utf-8")
    (folder / "data.csv").write_text("a,b", encoding="utf-8")
    _age(folder / "ki-strategi.txt")
    return folder


def _age(path: Path, seconds: float = 3600) -> None:
    """As if the file had been copied into the inbox a while ago (a fresh file waits until it settles)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


# --- (a) Unit level -------------------------------------------------------------------------------------------------

def test_fetch_conditional_get_new_unchanged_then_new_again(site):
    url = f"{site.base}/plan.html"
    first = fetch(url)
    assert first.status == "new" and first.content == PLAN_V1.encode()
    assert first.etag == site.etag and first.last_modified == site.last_modified
    assert first.content_type == "text/html"
    assert "if-none-match" not in site.get_requests("/plan.html")[0]

    second = fetch(url, first.etag, first.last_modified)
    assert second.status == "unchanged" and second.content is None
    sent = site.get_requests("/plan.html")[1]
    assert sent["if-none-match"] == first.etag and sent["if-modified-since"] == first.last_modified

    site.publish(PLAN_V2)
    third = fetch(url, first.etag, first.last_modified)
    assert third.status == "new" and third.content == PLAN_V2.encode() and third.etag == site.etag
    assert len(site.get_requests("/plan.html")) == 3


def test_fetch_errors_are_clear(site):
    declared = fetch(f"{site.base}/big-declared.txt", max_bytes=1000)
    assert declared.status == "error" and "5,000 bytes" in declared.reason and "size limit of 1,000" in declared.reason
    streamed = fetch(f"{site.base}/big-streamed.txt", max_bytes=4000)
    assert streamed.status == "error" and "more than the size limit of 4,000 bytes" in streamed.reason
    assert fetch(f"{site.base}/big-streamed.txt", max_bytes=20_000).content == b"y" * 10_000

    site.sleep = 6.0
    started = time.monotonic()
    slow = fetch(f"{site.base}/slow.html", timeout=0.5)
    assert slow.status == "error" and slow.reason.endswith("timed out after 0.5 s")
    assert time.monotonic() - started < 5.0  # gave up long before the server answered

    missing = fetch(f"{site.base}/nowhere.html")
    assert missing.status == "error" and "HTTP 404" in missing.reason
    for bad in ("file:///etc/passwd", "ftp://example.invalid/x.pdf", "plan.html"):
        result = fetch(bad)
        assert result.status == "error" and "only http and https" in result.reason


def test_scan_inbox_plan_and_store(tmp_path, inbox):
    assert [p.name for p in scan_inbox(inbox)] == ["ki-strategi.txt"]
    with pytest.raises(IngestError, match="not a folder"):
        scan_inbox(tmp_path / "missing")

    out = tmp_path / "out"
    registry = Registry(out)
    one = Candidate("https://example.invalid/plan", "url", b"<html>en</html>", ".html", etag='"1"')
    assert [p.change for p in plan(registry, [one])] == ["new"]
    stored = store_version(registry, one)
    name = "example.invalid_plan"
    assert stored == out / "ingest" / "sources" / name / f"{name}-{one.sha256[:12]}.html"
    assert stored.read_bytes() == one.content
    registry.add_version(one, str(stored.relative_to(out)), "example.json")
    registry.save()

    reloaded = Registry.load(out)
    same = Candidate(one.source, "url", one.content, ".html")
    changed = Candidate(one.source, "url", b"<html>to</html>", ".html")
    planned = plan(reloaded, [same, changed])
    assert [p.change for p in planned] == ["unchanged", "changed"]
    assert planned[1].previous["sha256"] == one.sha256 and planned[1].previous["etag"] == '"1"'
    assert reloaded.data["hashes"][one.sha256]["output_json"] == "example.json"
    # two sources whose names would clash get distinct folders
    assert reloaded.name("https://example.invalid/plan?x", "url") != reloaded.name("https://example.invalid/plan_x",
                                                                                  "url")


def test_suffix_and_names():
    assert suffix_for("https://x.invalid/a", "application/pdf", b"%PDF-1.7") == ".pdf"
    assert suffix_for("https://x.invalid/a.docx", "application/octet-stream", b"PK") == ".docx"
    assert suffix_for("https://x.invalid/nyhet", None, b"<!doctype html><html></html>") == ".html"
    assert suffix_for("https://x.invalid/notat", None, "Regjeringen vil styrke tilbudet på sykehus.".encode()) == ".txt"
    assert source_name("https://www.regjeringen.no/no/dokumenter/meld.-st.-18/", "url") == (
        "www.regjeringen.no_no_dokumenter_meld.-st.-18")
    assert source_name("/tmp/inbox/Nasjonal helseplan (1).pdf", "inbox") == "Nasjonal_helseplan_1_.pdf"


def test_serve_config(tmp_path):
    config = tmp_path / "serve.toml"
    config.write_text('[serve]\ncron = "0 6 * * *"\ninbox = "innboks"\nurls = ["https://x.invalid/a"]\n'
                      'out = "ut"\nnlp = "blank"\n', encoding="utf-8")
    settings = load_serve_config(config).check(scheduled=True)
    assert settings.cron == "0 6 * * *" and settings.inbox == str(tmp_path / "innboks")
    assert settings.parameters()["out_dir"] == str(tmp_path / "ut")
    config.write_text('[serve]\ninterval_minutes = 60\ncron = "0 6 * * *"\ninbox = "x"\n', encoding="utf-8")
    with pytest.raises(IngestError, match="not both"):
        load_serve_config(config).check(scheduled=True)
    config.write_text('[serve]\ninbox = "x"\n', encoding="utf-8")
    with pytest.raises(IngestError, match="no schedule"):
        load_serve_config(config).check(scheduled=True)
    assert load_serve_config(config).check(scheduled=False).inbox
    config.write_text('[serve]\ninbox = "x"\ntimeout = 10\nretries = 4\nfetch_budget = 45\n', encoding="utf-8")
    parameters = load_serve_config(config).check(scheduled=False).parameters()
    assert (parameters["timeout"], parameters["retries"], parameters["fetch_budget"]) == (10, 4, 45)
    config.write_text('[serve]\ninbox = "x"\ntimeout = 10\nfetch_budget = 5\n', encoding="utf-8")
    with pytest.raises(IngestError, match="fetch_budget must be at least the timeout"):
        load_serve_config(config).check(scheduled=False)
    config.write_text('[serve]\ninbox = "x"\nretries = -1\n', encoding="utf-8")
    with pytest.raises(IngestError, match="retries must be 0 or more"):
        load_serve_config(config).check(scheduled=False)
    config.write_text('[serve]\ninterval = 5\n', encoding="utf-8")
    with pytest.raises(IngestError, match="unknown \\[serve\\] keys: interval"):
        load_serve_config(config)


# --- (b) The flow ---------------------------------------------------------------------------------------------------

def _ingest_flow():
    from flows import ingest

    return ingest


def test_ingest_flow_processes_only_new_and_changed_and_compares_versions(prefect_harness, tmp_path, site, inbox):
    ingest = _ingest_flow()
    out = tmp_path / "out"
    url = f"{site.base}/plan.html"
    inbox_source = str((inbox / "ki-strategi.txt").resolve())
    params = {"inbox": str(inbox), "urls": [url, f"{site.base}/nowhere.html"], "out_dir": str(out), "nlp": "blank"}

    first = ingest(**params)
    assert sorted(first["new"]) == sorted([url, inbox_source]) and first["changed"] == []
    assert [f["source"] for f in first["failed"]] == [f"{site.base}/nowhere.html"]
    assert "HTTP 404" in first["failed"][0]["error"]
    registry = json.loads((out / "ingest" / "registry.json").read_text(encoding="utf-8"))
    for source in (url, inbox_source):
        (version,) = registry["sources"][source]["versions"]
        assert validate_file(out / version["output_json"]) == []
        assert (out / version["stored_path"]).is_file()
    plan_doc = json.loads((out / first["outputs"][url]).read_text(encoding="utf-8"))
    assert [m["text"] for m in plan_doc["measures"]] == [
        "etablere en nasjonal tjeneste for søknader om tilgang til helsedata",
        "vurdere en felles løsning for samtykke i helseforskning"]
    assert registry["sources"][url]["versions"][0]["etag"] == site.etag
    # where each stored copy came from, in its document JSON (a sidecar beside the copy says it)
    assert plan_doc["document"]["source_url"] == url and plan_doc["document"]["inbox_path"] is None
    inbox_doc = json.loads((out / first["outputs"][inbox_source]).read_text(encoding="utf-8"))
    assert inbox_doc["document"]["inbox_path"] == inbox_source and inbox_doc["document"]["source_url"] is None

    second = ingest(**params)
    assert second["new"] == second["changed"] == [] and sorted(second["unchanged"]) == sorted([url, inbox_source])
    assert second["run_id"] is None  # nothing was processed
    last = site.get_requests("/plan.html")[-1]
    assert last["if-none-match"] == site.etag  # the unchanged page cost a 304

    old_sha = registry["sources"][url]["versions"][0]["sha256"]
    site.publish(PLAN_V2)
    third = ingest(**params)
    assert third["changed"] == [url] and third["new"] == [] and third["unchanged"] == [inbox_source]
    registry = json.loads((out / "ingest" / "registry.json").read_text(encoding="utf-8"))
    versions = registry["sources"][url]["versions"]
    assert len(versions) == 2 and versions[0]["sha256"] == old_sha
    new_sha = versions[1]["sha256"]
    name = registry["sources"][url]["name"]
    (comparison_file,) = (out / "comparisons").glob("*.json")
    assert comparison_file.name == f"{name}-{old_sha[:12]}-{new_sha[:12]}.json"
    assert third["comparisons"] == [f"comparisons/{comparison_file.name}"]
    assert validate_file(comparison_file) == []
    comparison = json.loads(comparison_file.read_text(encoding="utf-8"))
    (pair,) = comparison["pairs"]
    assert [m["text"] for m in pair["new"]] == [NEW_MEASURE]
    assert [m["text"] for m in pair["dropped"]] == ["vurdere en felles løsning for samtykke i helseforskning"]
    assert pair["counts"]["continued"] == 1
    # both versions' bytes are kept
    assert {p.name for p in (out / "ingest" / "sources" / name).iterdir()} == {
        f"{name}-{old_sha[:12]}.html", f"{name}-{new_sha[:12]}.html",
        f"{name}-{old_sha[:12]}.html.meta.toml", f"{name}-{new_sha[:12]}.html.meta.toml"}


# --- (c) A scheduled deployment on a real Prefect server --------------------------------------------------------------

def test_serve_deployment_on_a_real_server_runs_when_triggered(tmp_path, site, inbox):
    """``tiltak serve`` (standalone: ``python -m pipeline.cli.serve serve``) against a real local Prefect server; the
    test triggers the deployment instead of waiting for the clock."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipeline.cli.serve import DEPLOYMENT_NAME, start_local_server

    home = tmp_path / "prefect-home"
    started = time.monotonic()
    server = start_local_server(home, ui=False, startup_timeout=120)
    server_seconds = time.monotonic() - started
    out = tmp_path / "out"
    config = tmp_path / "serve.toml"
    config.write_text(f'[serve]\ninterval_minutes = 60\ninbox = "{inbox}"\nurls = ["{site.base}/plan.html"]\n'
                      f'out = "{out}"\nnlp = "blank"\n', encoding="utf-8")
    env = {**os.environ, "PREFECT_API_URL": server.api_url, "PREFECT_HOME": str(home),
           "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PYTHONPATH": str(REPO)}
    log = (tmp_path / "serve.log").open("w")
    serving = subprocess.Popen([sys.executable, "-m", "pipeline.cli.serve", "serve", "--config", str(config)],
                               cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            deployment = None
            deadline = time.monotonic() + 90
            while deployment is None and time.monotonic() < deadline:
                assert serving.poll() is None, (tmp_path / "serve.log").read_text()
                try:
                    with get_client(sync_client=True) as client:
                        deployment = client.read_deployment_by_name(f"ingest/{DEPLOYMENT_NAME}")
                except Exception:  # not registered yet
                    time.sleep(0.5)
            assert deployment is not None, (tmp_path / "serve.log").read_text()
            (schedule,) = deployment.schedules
            assert schedule.schedule.interval.total_seconds() == 3600
            assert deployment.parameters["nlp"] == "blank" and deployment.parameters["inbox"] == str(inbox)

            flow_run = run_deployment(name=f"ingest/{DEPLOYMENT_NAME}", timeout=120, poll_interval=1)
            assert flow_run.state.is_completed(), (flow_run.state, (tmp_path / "serve.log").read_text())
        registry = json.loads((out / "ingest" / "registry.json").read_text(encoding="utf-8"))
        inbox_source = str((inbox / "ki-strategi.txt").resolve())
        for source in (inbox_source, f"{site.base}/plan.html"):
            (version,) = registry["sources"][source]["versions"]
            assert validate_file(out / version["output_json"]) == []
    finally:
        os.killpg(serving.pid, 15)
        try:
            serving.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(serving.pid, 9)
        log.close()
        server.stop()
    print(f"real Prefect server up in {server_seconds:.1f} s; whole test {time.monotonic() - started:.1f} s")


def test_settled_leaves_recently_modified_files_for_later(tmp_path):
    old, fresh = tmp_path / "gammel.txt", tmp_path / "ny.txt"
    old.write_text("a", encoding="utf-8")
    fresh.write_text("b", encoding="utf-8")
    _age(old, 60)
    now = time.time()
    assert settled([old, fresh], settle_seconds=10, now=now) == ([old], [fresh])
    assert settled([old, fresh], settle_seconds=10, now=now + 30) == ([old, fresh], [])
    assert settled([old, fresh], settle_seconds=0) == ([old, fresh], [])


def test_a_file_still_being_copied_in_waits_for_the_next_run(prefect_harness, tmp_path, inbox):
    from flows import ingest

    out = tmp_path / "out"
    (inbox / "ny-plan.txt").write_text(INBOX_DOCUMENT.replace("Regjeringen", "Regjeringa"), encoding="utf-8")
    first = ingest(inbox=str(inbox), out_dir=str(out), nlp="blank", settle_seconds=30)
    waiting = str((inbox / "ny-plan.txt").resolve())
    assert first["waiting"] == [waiting] and waiting not in first["new"]
    assert first["new"] == [str((inbox / "ki-strategi.txt").resolve())]
    _age(inbox / "ny-plan.txt", 60)
    second = ingest(inbox=str(inbox), out_dir=str(out), nlp="blank", settle_seconds=30)
    assert second["new"] == [waiting] and second["waiting"] == []
