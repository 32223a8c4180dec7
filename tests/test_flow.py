"""The Prefect flow on a real mixed corpus, on a real (temporary) Prefect server."""

import json
import os
import shutil
from pathlib import Path

import pytest
from builders import write_docx, write_html, write_pdf

from pipeline.validate import document_errors, manifest_errors

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
                ["# Helsenæringen", "Regjeringen legger fram en melding om helse-", "næringen og helse-",
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

    # Unchanged inputs: every analysis comes from the cache (Prefect's "Cached" state), outputs unchanged.
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
