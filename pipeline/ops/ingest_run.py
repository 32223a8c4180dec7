"""The bookkeeping of one ingestion run (``flows.ingest``), as plain functions: what a fetch or an inbox file
means for the registry and the run's summary, which candidates become new versions, what a processed version
records. The flow only composes these with its Prefect tasks (fetching, processing, comparing); the order of the
registry updates and saves is the flow's, unchanged.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.ops.ingest import (
    Candidate,
    FetchResult,
    InboxSkip,
    PlannedVersion,
    Registry,
    comparison_path,
    inbox_candidate,
    inbox_source_key,
    narrow_permissions,
    plan,
    relative_to_out,
    scan_inbox_entries,
    settled,
    store_version,
    url_candidate,
)
from pipeline.ops.ingest import display_path as inbox_display_path


def new_summary() -> dict:
    """An ingestion run's summary before anything happened (per source: new, changed, unchanged, waiting, skipped,
    failed; the outputs and comparisons written; the processing run's id)."""
    return {"new": [], "changed": [], "unchanged": [], "waiting": [], "skipped": [], "failed": [],
            "outputs": {}, "comparisons": [], "run_id": None}


def note_fetch(registry: Registry, summary: dict, url: str, result: FetchResult) -> Candidate | None:
    """A URL's fetch in the registry and the summary: an error is recorded as failed, an unchanged response
    (ETag / Last-Modified) touches the source; otherwise the response is a candidate for a new version."""
    if result.status == "error":
        registry.note_error(url, "url", result.reason or "error")
        summary["failed"].append({"source": url, "stage": "fetch", "error": result.reason})
        return None
    if result.status == "unchanged":
        registry.touch(url, result.etag, result.last_modified)
        summary["unchanged"].append(url)
        return None
    return url_candidate(url, result)


def inbox_candidates(registry: Registry, summary: dict, inbox: Path, settle_seconds: float) -> list[Candidate]:
    """The inbox files ready to ingest. Files modified in the last ``settle_seconds`` wait for a later run;
    links and special files are skipped with their reason; a file that cannot be read fails (recorded in the
    registry)."""
    candidates: list[Candidate] = []
    scan = scan_inbox_entries(inbox)
    summary["skipped"] = scan.skipped
    ready, settling = settled(scan.files, settle_seconds)
    summary["waiting"] = [inbox_source_key(path) for path in settling]  # taken on a later run
    for path in ready:
        try:
            candidates.append(inbox_candidate(path, scan.identities.get(path)))
        except InboxSkip as exc:
            summary["skipped"].append({"source": inbox_source_key(path), "reason": str(exc)})
        except OSError as exc:
            reason = f"{inbox_display_path(path)}: cannot read: {exc.strerror or exc}"
            registry.note_error(inbox_source_key(path), "inbox", reason, inbox_display_path(path))
            summary["failed"].append({"source": inbox_source_key(path), "stage": "read", "error": reason})
    registry.note_skipped(summary["skipped"])
    return candidates


def plan_versions(registry: Registry, summary: dict, candidates: list[Candidate]
                  ) -> tuple[list[PlannedVersion], dict[str, Path]]:
    """The candidates that are new or changed, each stored under the output folder (by source), and the stored
    paths; an unchanged candidate (same content as the source's latest version) only touches its source."""
    planned = plan(registry, candidates)
    for item in planned:
        if item.change == "unchanged":
            registry.touch(item.candidate.source, item.candidate.etag, item.candidate.last_modified)
            summary["unchanged"].append(item.candidate.source)
    todo = [item for item in planned if item.change != "unchanged"]
    stored = {item.candidate.source: store_version(registry, item.candidate).resolve() for item in todo}
    return todo, stored


def record_version(registry: Registry, summary: dict, out: Path, item: PlannedVersion, record: dict | None,
                   stored: Path) -> tuple[str, Path] | None:
    """A processed version in the registry (saved at once) and the summary, given its record in the run manifest.
    A version that failed (or is not in the manifest) is not recorded: the next run tries it again. Returns the
    previous version's output and the comparison file to write when there is a previous output to compare with."""
    source, candidate = item.candidate.source, item.candidate
    if record is None or record["status"] == "failed" or not record.get("output"):
        error = record["error"] if record else "not in the run manifest"
        registry.note_error(source, candidate.kind, error, candidate.display)
        summary["failed"].append({"source": source, "stage": record["stage"] if record else "process",
                                  "error": error})
        return None
    # The document JSON holds the source's text: no more readable than the source itself.
    narrow_permissions(out / record["output"], candidate.mode)
    output = relative_to_out(out, out / record["output"])
    registry.add_version(candidate, relative_to_out(out, stored), output)
    summary[item.change].append(source)
    summary["outputs"][source] = output
    registry.save()
    previous = item.previous
    if previous is None or not previous.get("output_json"):
        return None
    name = registry.sources[source]["name"]
    return previous["output_json"], comparison_path(out, name, previous["sha256"], candidate.sha256)


def note_comparison(summary: dict, out: Path, target: Path, candidate: Candidate) -> None:
    """A comparison written for a new version: as readable as the version's source, listed in the summary."""
    narrow_permissions(target, candidate.mode)
    summary["comparisons"].append(relative_to_out(out, target))
