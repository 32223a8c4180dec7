"""The Prefect flow on a real mixed corpus, on a real (temporary) Prefect server."""

import json
import os
import shutil
from pathlib import Path

import pytest
from builders import write_docx, write_html, write_pdf

from pipeline.store.validate import document_errors, manifest_errors

GOVERNMENT_LIST = [
    "For å styrke helsenæringen vil regjeringen:",
    "• etablere en nasjonal ordning for testing av helseteknologi",
    "• legge fram en handlingsplan for kliniske studier",
    "• utrede hvordan helsedata kan deles tryggere",
]


def _make_corpus(folder: Path, seeds_dir: Path) -> dict[str, Path]:
    folder.mkdir()
    files = {
        "pdf": write_pdf(
            folder / "melding.pdf",
            [
                ["# Helsenæringen", "Meldingen handler om helse-", "næringen og helse-",
                 "og omsorgstjenesten i Nord-Norge.", "", *GOVERNMENT_LIST[:2]],
                [*GOVERNMENT_LIST[2:], "", "Målet er å doble eksporten innen 2030."],
            ],
            header="Meld. St. 99 (2025–2026)",
        ),
        "html": write_html(
            folder / "nyhet.html",
            "<h1>Ny plan for helsenæringen</h1><p>Regjeringen vil:</p>"
            "<ul><li>opprette et råd for helseinnovasjon</li><li>styrke eksportsatsingen</li></ul>",
            title="Ny plan for helsenæringen - regjeringen.no",
        ),
        "docx": write_docx(
            folder / "strategi.docx",
            [("title", "Strategi for helsedata"), ("paragraph", "For å bedre tilgangen til data vil regjeringen:"),
             ("bullet", "etablere en helseanalyseplattform"), ("bullet", "forenkle søknadsprosessen")],
        ),
        "txt": folder / "melding-18.txt",
    }
    shutil.copy(seeds_dir / "meld-st-18-2018-2019-sammendrag.txt", files["txt"])
    shutil.copy(files["txt"], folder / "kopi av melding-18.txt")
    (folder / "ødelagt.pdf").write_bytes(os.urandom(4096))
    return files


def _documents(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*.json"))}


def test_process_corpus_writes_valid_outputs_isolates_failures_and_caches(prefect_harness, tmp_path, seeds_dir):
    from flows import process_corpus

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    _make_corpus(corpus, seeds_dir)

    manifest = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="blank")

    assert manifest_errors(manifest) == []
    by_source = {Path(r["source"]).name: r for r in manifest["documents"]}
    assert manifest["counts"] == {"processed": 4, "cached": 0, "duplicate": 1, "failed": 1}
    broken = by_source["ødelagt.pdf"]
    assert broken["stage"] == "load" and "ødelagt.pdf" not in (broken["output"] or "")
    assert "not a PDF" in broken["error"] or "binary" in broken["error"]
    assert by_source["kopi av melding-18.txt"]["duplicate_of"].endswith("melding-18.txt")

    documents = _documents(out)
    assert set(documents) == {"melding.json", "nyhet.json", "strategi.json", "melding-18.json"}
    for name, document in documents.items():
        assert document_errors(document) == [], name
    measures = {name: [m["text"] for m in doc["measures"]] for name, doc in documents.items()}
    assert measures["melding.json"] == [
        "etablere en nasjonal ordning for testing av helseteknologi",
        "legge fram en handlingsplan for kliniske studier",
        "utrede hvordan helsedata kan deles tryggere",
    ]
    assert measures["nyhet.json"] == ["opprette et råd for helseinnovasjon", "styrke eksportsatsingen"]
    assert measures["strategi.json"] == ["etablere en helseanalyseplattform", "forenkle søknadsprosessen"]
    assert len(measures["melding-18.json"]) == 31
    pdf = documents["melding.json"]
    assert pdf["document"]["page_count"] == 2
    assert "helsenæringen og helse- og omsorgstjenesten i Nord-Norge" in pdf["text"]
    assert "Meld. St. 99" not in pdf["text"]
    assert [m["page"] for m in pdf["measures"]] == [1, 2, 2]
    assert list((out / "runs").glob("*.json")) != []
    first_bytes = {p.name: p.read_bytes() for p in out.glob("*.json")}

    # Unchanged inputs: every output is reused (the output index), outputs unchanged.
    again = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="blank")
    assert again["counts"] == {"processed": 0, "cached": 4, "duplicate": 1, "failed": 1}
    assert {p.name: p.read_bytes() for p in out.glob("*.json")} == first_bytes
    assert len(list((out / "runs").glob("*.json"))) == 2

    # A changed document is analysed again; the others stay cached.
    write_html(corpus / "nyhet.html", "<h1>Endret</h1><p>Regjeringa vil:</p><ul><li>byggje eit nytt senter</li>"
               "<li>auke løyvinga</li></ul>", title="Endret")
    third = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="blank")
    assert third["counts"] == {"processed": 1, "cached": 3, "duplicate": 1, "failed": 1}
    assert [m["text"] for m in _documents(out)["nyhet.json"]["measures"]] == ["byggje eit nytt senter", "auke løyvinga"]


def test_refresh_ignores_the_cache(prefect_harness, tmp_path, seeds_dir):
    from flows import process_corpus

    target = tmp_path / "veikart.txt"
    shutil.copy(seeds_dir / "veikart-helsenaering-2023-artikkel.txt", target)
    process_corpus(paths=[str(target)], out_dir=str(tmp_path / "out"), nlp="blank")
    refreshed = process_corpus(paths=[str(target)], out_dir=str(tmp_path / "out"), nlp="blank", refresh_cache=True)
    assert refreshed["counts"]["processed"] == 1


@pytest.mark.parametrize("nlp", ["nb_core_news_none"])
def test_missing_model_fails_the_run_with_install_advice(prefect_harness, tmp_path, seeds_dir, nlp):
    from flows import process_corpus
    from pipeline.errors import TiltakError

    with pytest.raises(TiltakError, match="is not installed"):
        process_corpus(paths=[str(seeds_dir)], out_dir=str(tmp_path / "out"), nlp=nlp)


def _task_run_names(flow_run_id: str, wait_for: str, count: int = 1) -> list[str]:
    """Names of the flow run's task runs, once ``count`` named ``wait_for…`` are recorded (task runs reach the API
    through events, a moment after they ran, and one at a time on a busy machine)."""
    import time

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    names: list[str] = []
    with get_client(sync_client=True) as client:
        for _ in range(300):
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            names = [run.name for run in runs]
            if sum(name.startswith(wait_for) for name in names) >= count:
                return names
            time.sleep(0.1)
    raise AssertionError(f"no task run named {wait_for}… recorded for flow run {flow_run_id}: {names}")


def test_unchanged_outputs_are_reused_without_analysis_tasks(prefect_harness, tmp_path):
    from flows import process_corpus
    from pipeline.store.output_index import INDEX_NAME

    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    for name, item in [("a", "etablere et testsenter"), ("b", "styrke eksporten"), ("c", "utrede helsedata")]:
        (corpus / f"{name}.txt").write_text(f"Regjeringen vil:\n\n- {item}\n", encoding="utf-8")
    first = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="blank")
    assert first["counts"]["processed"] == 3 and (out / INDEX_NAME).is_file()
    assert sum(n.startswith("analyse") for n in _task_run_names(first["flow_run_id"], "analyse", 3)) == 3
    outputs = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("*.json")}

    # Unchanged: each document is recorded from the output index; no analysis or write task runs at all.
    second = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="blank")
    assert second["counts"] == {"processed": 0, "cached": 3, "duplicate": 0, "failed": 0}
    assert [r["analysed_in_run"] for r in second["documents"]] == [first["run_id"]] * 3
    assert [r["measures"] for r in second["documents"]] == [1, 1, 1]
    names = _task_run_names(second["flow_run_id"], "fingerprint")
    assert not [n for n in names if n.startswith(("analyse", "write"))], names
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("*.json")} == outputs

    # Doubt falls back to the full path: an edited output is rewritten (its analysis comes from the cache), an
    # unreadable index is ignored with the same result.
    (out / "b.json").write_text("{}", encoding="utf-8")
    (out / INDEX_NAME).write_text("not json", encoding="utf-8")
    third = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="blank")
    assert third["counts"] == {"processed": 0, "cached": 3, "duplicate": 0, "failed": 0}
    assert {p.name: p.read_bytes() for p in out.glob("*.json")} == {k: v[0] for k, v in outputs.items()}
    names = _task_run_names(third["flow_run_id"], "write", 3)
    assert sorted(n.split()[0] for n in names if n.startswith(("analyse", "write"))) == ["analyse"] * 3 + ["write"] * 3

    # A renamed source is a different output: analysed from the cache, written under its new name.
    (corpus / "c.txt").rename(corpus / "d.txt")
    fourth = process_corpus(paths=[str(corpus)], out_dir=str(out), nlp="blank")
    assert fourth["counts"] == {"processed": 0, "cached": 3, "duplicate": 0, "failed": 0}
    assert json.loads((out / "d.json").read_text(encoding="utf-8"))["document"]["file_name"] == "d.txt"


def test_pypdfium2_backend_finds_the_same_measures_and_the_manifest_says_which_ran(prefect_harness, tmp_path):
    from flows import process_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_pdf(corpus / "melding.pdf", [["# Helsenæringen", *GOVERNMENT_LIST[:3]], [GOVERNMENT_LIST[3]]],
              header="Meld. St. 99 (2025–2026)")
    runs = {backend: process_corpus(paths=[str(corpus)], out_dir=str(tmp_path / backend), nlp="blank",
                                    overrides={"pdf_backend": backend})
            for backend in ("pdfplumber", "pypdfium2")}
    assert [runs[b]["settings"]["pdf_backend"] for b in runs] == ["pdfplumber", "pypdfium2"]
    assert runs["pdfplumber"]["config_hash"] != runs["pypdfium2"]["config_hash"]
    measures = {b: [(m["text"], m["page"]) for m in _documents(tmp_path / b)["melding.json"]["measures"]]
                for b in runs}
    assert measures["pypdfium2"] == measures["pdfplumber"] == [
        ("etablere en nasjonal ordning for testing av helseteknologi", 1),
        ("legge fram en handlingsplan for kliniske studier", 1),
        ("utrede hvordan helsedata kan deles tryggere", 2),
    ]
