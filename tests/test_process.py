"""analyse_documents: the NLP batched across documents gives each document the same analysis as analysing it
alone, with the shipped model, and a bad document fails alone."""

from pathlib import Path

import pytest
from builders import write_html, write_pdf

from pipeline.analysis.process import analyse_document, analyse_documents
from pipeline.config import PipelineConfig
from pipeline.errors import DocumentError

CONFIG = PipelineConfig(nlp="best")


def _comparable(result) -> dict:
    data = result.model_dump(mode="json")
    data["provenance"].pop("timings")
    data["provenance"].pop("created_at", None)
    return data


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("batch")
    paths = [
        write_pdf(folder / "melding.pdf", [["For å styrke helsenæringen vil regjeringen:",
                                            "• etablere et nasjonalt testsenter for medisinsk utstyr",
                                            "• utrede en ordning for risikokapital"]]),
        folder / "tom.txt",
        write_html(folder / "nyhet.html", "<p>Regjeringa vil styrkje samarbeidet med Innovasjon Noreg.</p>",
                   title="Nyhet"),
        folder / "ødelagt.docx",
        folder / "plan.txt",
    ]
    paths[1].write_text("", encoding="utf-8")
    paths[3].write_bytes(b"PK\x03\x04 not really a zip")
    paths[4].write_text("Tiltak\n\n- Helse- og omsorgsdepartementet skal legge fram en plan for kliniske studier "
                        "innen 2027.\n- Siva skal kartlegge behovet for nye næringshager.\n", encoding="utf-8")
    return paths


@pytest.mark.parametrize("batch_size", [1, 2, 8])
def test_batched_analysis_equals_one_at_a_time_and_failures_stay_with_their_document(corpus, batch_size):
    outcomes = list(analyse_documents(corpus, CONFIG, batch_size=batch_size))
    assert [path for path, _ in outcomes] == corpus  # in input order, one outcome each
    by_name = {path.name: outcome for path, outcome in outcomes}
    for name in ("tom.txt", "ødelagt.docx"):
        assert isinstance(by_name[name], DocumentError), name
        assert by_name[name].stage == "load" and name in str(by_name[name])
    for name in ("melding.pdf", "nyhet.html", "plan.txt"):
        alone = analyse_document(next(p for p in corpus if p.name == name), CONFIG)
        assert _comparable(by_name[name]) == _comparable(alone), name
        assert by_name[name].provenance.timings["nlp"] > 0
        assert set(by_name[name].provenance.timings) == {"load", "structure", "nlp", "extract", "classify",
                                                         "assemble"}
    assert [m.text for m in by_name["plan.txt"].measures] == [
        "Helse- og omsorgsdepartementet skal legge fram en plan for kliniske studier innen 2027",
        "Siva skal kartlegge behovet for nye næringshager",
    ]


def test_a_document_error_crosses_processes_intact():
    """Dask workers pickle a task's exception; the manifest needs its file, stage and reason."""
    import pickle

    from pipeline.errors import UnsupportedFormatError

    for error in (DocumentError(Path("a/melding.pdf"), "nlp", "out of memory"),
                  UnsupportedFormatError(Path("b.pdf"), "password-protected PDF")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.path, copy.stage, copy.reason, str(copy)) == (error.path, error.stage, error.reason, str(error))
