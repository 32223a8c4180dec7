"""``tiltak serve``'s dashboard link opens the dashboard of its own Prefect server, and the runs of ``serve --once``
are listed there (issue 16), seen in headless Chromium (Debian's chromium and chromium-driver; tests/install-browser.sh
installs them; skipped when /usr/bin/chromium is absent). A real local server on a free port, in the test's own
Prefect home, stopped at the end."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.ops.prefect_server import free_port, read_state, state_folder, stop_server

TILTAK = Path(sys.executable).parent / "tiltak"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PLAN = ("# Plan for bedre veier\n\nFor å gjøre vegane tryggere vil regjeringen:\n\n"
        "- bygge gang- og sykkelveier langs skoleveier\n- øke vedlikeholdet av fylkesveier i Nord-Norge\n")
# Generous: on a busy machine a first server start (database migrations) and the dashboard's first load are slow.
STARTUP_SECONDS = 400
PAGE_SECONDS = 180


def _post_json(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _get_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except OSError:
        return None


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: run tests/install-browser.sh (Debian's chromium and chromium-driver)")
    assert CHROMEDRIVER.exists(), f"{CHROMEDRIVER} is missing: apt-get install -y chromium-driver"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="tiltak-chromium-") as profile, pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager download a browser or driver
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                     f"--user-data-dir={profile}", "--window-size=1400,1200"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER), env=dict(os.environ)))
        driver.set_page_load_timeout(PAGE_SECONDS)
        try:
            yield driver
        finally:
            driver.quit()


def _page_text_with(driver, url: str, wanted: list[str], seconds: float) -> str:
    """The page's visible text once it shows every string of ``wanted`` (the dashboard fetches its data after the
    page loads), reloading now and then; the last text seen if it never does."""
    driver.get(url)
    deadline = time.monotonic() + seconds
    text, loaded = "", time.monotonic()
    while time.monotonic() < deadline:
        text = driver.execute_script("return document.body ? document.body.innerText : ''") or ""
        if all(item in text for item in wanted):
            return text
        if time.monotonic() - loaded > 45:  # a list fetched before the run was stored: load it again
            driver.refresh()
            loaded = time.monotonic()
        time.sleep(1)
    return text


def test_serve_links_open_its_own_dashboard_which_lists_the_runs_of_serve_once(tmp_path: Path, browser):
    home = tmp_path / "prefect"
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "COLUMNS": "200", "TILTAK_SERVER_IDLE_MINUTES": "10"}
    for name in ("PREFECT_API_URL", "TILTAK_PREFECT_SERVER", "TILTAK_SERVER_PORT"):
        env.pop(name, None)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "plan.txt").write_text(PLAN, encoding="utf-8")
    old = time.time() - 3600
    os.utime(inbox / "plan.txt", (old, old))  # settled: not being copied in
    common = ["--inbox", str(inbox), "--out", str(tmp_path / "ut"), "--nlp", "blank"]
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        serving = subprocess.Popen([str(TILTAK), "serve", "--interval-minutes", "600", *common, "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # The scheduled serve is up once it has printed its links and registered its deployment.
        runs_link = None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert serving.poll() is None, log_path.read_text()
            printed = log_path.read_text()
            found = re.search(r"runs: (http://\S+/runs)\s", printed)
            if found and _get_status(f"http://127.0.0.1:{port}/api/deployments/name/ingest/tiltak-ingest") == 200:
                runs_link = found.group(1)
                break
            time.sleep(1)
        assert runs_link == f"http://127.0.0.1:{port}/runs", log_path.read_text()

        # serve --once, in another process, finds that server and runs there.
        once = subprocess.run([str(TILTAK), "serve", "--once", *common], env=env, capture_output=True, text=True,
                              timeout=STARTUP_SECONDS)
        assert once.returncode == 0, once.stdout + once.stderr
        assert f"Prefect server http://127.0.0.1:{port}/api, dashboard http://127.0.0.1:{port}" in once.stdout
        assert "1 new, 0 changed" in once.stdout
        api = f"http://127.0.0.1:{port}/api"
        flows = {flow["id"]: flow["name"] for flow in _post_json(f"{api}/flows/filter", {})}
        # (the scheduled serve's deployment has runs of its own, scheduled for later: those of --once have none)
        runs = {flows[run["flow_id"]]: run for run in _post_json(f"{api}/flow_runs/filter", {})
                if run["deployment_id"] is None}
        assert {"ingest", "process-corpus"} <= runs.keys()
        ingest_run, corpus_run = runs["ingest"], runs["process-corpus"]
        assert ingest_run["state"]["type"] == corpus_run["state"]["type"] == "COMPLETED"

        # The printed link, in a browser: the dashboard of this server, listing both flow runs of serve --once.
        text = _page_text_with(browser, runs_link, [ingest_run["name"], corpus_run["name"]], PAGE_SECONDS)
        assert ingest_run["name"] in text and corpus_run["name"] in text, text[:3000]
        assert "Can't connect to Server API" not in text
        # The link `tiltak run` prints for a flow run opens its page.
        text = _page_text_with(browser, f"{runs_link}/flow-run/{corpus_run['id']}", [corpus_run["name"]],
                               PAGE_SECONDS)
        assert corpus_run["name"] in text and "Completed" in text, text[:3000]
    finally:
        os.killpg(serving.pid, signal.SIGTERM)
        try:
            serving.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(serving.pid, signal.SIGKILL)
            serving.wait(10)
        stop_server(home)
    assert read_state(state_folder(home)) is None
