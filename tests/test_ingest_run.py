"""The ingestion run's bookkeeping (pipeline.ops.ingest_run) without Prefect: real files in a temporary output
folder and inbox, the registry as it is saved. The flow that composes these is tested in tests/test_ingest.py."""

import json
import os
import time
from pathlib import Path

from pipeline.ops.ingest import FetchResult, Registry
from pipeline.ops.ingest_run import (
    inbox_candidates,
    new_summary,
    note_comparison,
    note_fetch,
    plan_versions,
    record_version,
)

URL = "https://example.invalid/strategi.html"
HTML = b"<html><body><h1>Strategi</h1><p>Regjeringen skal styrke tilsynet.</p></body></html>"


def _old(path: Path) -> Path:
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


def test_a_failed_fetch_is_recorded_and_an_unchanged_one_touches_its_source(tmp_path):
    registry, summary = Registry(tmp_path / "out"), new_summary()
    assert note_fetch(registry, summary, URL, FetchResult("error", reason=f"{URL}: HTTP 500")) is None
    assert summary["failed"] == [{"source": URL, "stage": "fetch", "error": f"{URL}: HTTP 500"}]
    assert registry.sources[URL]["last_error"] == f"{URL}: HTTP 500"

    assert note_fetch(registry, summary, URL, FetchResult("unchanged", etag='"v2"')) is None
    assert summary["unchanged"] == [URL]
    assert "last_error" not in registry.sources[URL]

    candidate = note_fetch(registry, summary, URL, FetchResult("new", content=HTML, content_type="text/html"))
    assert (candidate.source, candidate.kind, candidate.suffix) == (URL, "url", ".html")


def test_inbox_files_wait_until_settled_and_links_are_skipped(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ready = inbox / "plan-æøå.txt"
    ready.write_text("Departementet vil utrede en ny ordning.\n", encoding="utf-8")
    _old(ready)
    (inbox / "fersk.txt").write_text("Fylkeskommunen skal følge opp.\n", encoding="utf-8")
    (inbox / "lenke.txt").symlink_to(ready)
    registry, summary = Registry(tmp_path / "out"), new_summary()

    candidates = inbox_candidates(registry, summary, inbox, settle_seconds=600)

    assert [Path(candidate.source).name for candidate in candidates] == ["plan-æøå.txt"]
    assert [Path(source).name for source in summary["waiting"]] == ["fersk.txt"]
    assert [Path(entry["source"]).name for entry in summary["skipped"]] == ["lenke.txt"]
    assert list(registry.data["skipped"]) == [entry["source"] for entry in summary["skipped"]]


def test_a_processed_version_is_recorded_and_the_next_one_is_compared_with_it(tmp_path):
    out = tmp_path / "out"
    registry, summary = Registry(out), new_summary()
    first = note_fetch(registry, summary, URL, FetchResult("new", content=HTML, content_type="text/html"))
    todo, stored = plan_versions(registry, summary, [first])
    assert [item.change for item in todo] == ["new"] and stored[URL].read_bytes() == HTML
    (out / "strategi.json").write_text("{}", encoding="utf-8")
    record = {"source": str(stored[URL]), "status": "ok", "output": "strategi.json"}

    assert record_version(registry, summary, out, todo[0], record, stored[URL]) is None  # nothing to compare with
    assert summary["new"] == [URL] and summary["outputs"] == {URL: "strategi.json"}
    saved = json.loads(registry.path.read_text(encoding="utf-8"))
    assert saved["sources"][URL]["versions"][0]["output_json"] == "strategi.json"

    # The same bytes again: unchanged, nothing stored or processed.
    again = note_fetch(registry, new_summary(), URL, FetchResult("new", content=HTML, content_type="text/html"))
    summary = new_summary()
    assert plan_versions(registry, summary, [again]) == ([], {}) and summary["unchanged"] == [URL]

    changed = note_fetch(registry, summary, URL, FetchResult("new", content=HTML.replace(b"styrke", b"utvide"),
                                                             content_type="text/html"))
    todo, stored = plan_versions(registry, summary, [changed])
    assert [item.change for item in todo] == ["changed"]
    (out / "strategi-2.json").write_text("{}", encoding="utf-8")
    record = {"source": str(stored[URL]), "status": "ok", "output": "strategi-2.json"}
    previous_output, target = record_version(registry, summary, out, todo[0], record, stored[URL])
    assert previous_output == "strategi.json" and target.suffix == ".json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("{}", encoding="utf-8")
    note_comparison(summary, out, target, changed)
    assert summary["changed"] == [URL] and len(summary["comparisons"]) == 1
    assert (out / summary["comparisons"][0]).is_file()


def test_a_version_that_failed_is_not_recorded_and_is_tried_again(tmp_path):
    out = tmp_path / "out"
    registry, summary = Registry(out), new_summary()
    candidate = note_fetch(registry, summary, URL, FetchResult("new", content=HTML, content_type="text/html"))
    todo, stored = plan_versions(registry, summary, [candidate])
    failed = {"source": str(stored[URL]), "status": "failed", "stage": "load", "error": "strategi.html: broken"}

    assert record_version(registry, summary, out, todo[0], failed, stored[URL]) is None
    assert summary["failed"] == [{"source": URL, "stage": "load", "error": "strategi.html: broken"}]
    assert registry.versions(URL) == []
    assert record_version(registry, new_summary(), out, todo[0], None, stored[URL]) is None  # not in the manifest
    assert registry.sources[URL]["last_error"] == "not in the run manifest"
    assert [item.change for item in plan_versions(registry, new_summary(), [candidate])[0]] == ["new"]
