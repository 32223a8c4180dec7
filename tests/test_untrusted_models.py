"""Untrusted input stays untrusted (issue #22): a classifier folder, a taxonomy or data YAML, a spaCy pipeline folder
and a record in Prefect's result storage are data. Each attack below is a real one (the test shows the old way runs
it, where that is safe to show); the new way refuses it before anything in it runs, with one line naming the file
and what was refused, and no marker file is written. The shipped models load as before and classify the same."""

from __future__ import annotations

import builtins
import functools
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io
from spacy.language import Language
from spacy.util import registry

from pipeline.analysis.classify import (
    ALLOWED_ARTIFACT_TYPES,
    DEFAULT_CLASSIFIER,
    SHIPPED_CLASSIFIER_SHA256,
    ClassifierError,
    FocusAreaClassifier,
    artifact_types,
    check_artifact_types,
    load_classifier,
    record_locally_trained,
    trust_list_path,
)
from pipeline.analysis.nlp import SHIPPED_NLP_CHECKSUMS, is_shipped_model, load_nlp, model_checksums
from pipeline.analysis.taxonomy import DEFAULT_TAXONOMY, load_taxonomy, taxonomy_hash
from pipeline.config import PipelineConfig
from pipeline.errors import TiltakError

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SAMPLE = CORPUS / "handlingsplan-helseteknologi.txt"
SHIPPED_NLP = REPO / "models" / "nb_tiltak_core"
SHIPPED_ARTIFACT = DEFAULT_CLASSIFIER / "classifier.skops"
# What skops itself trusted, and the project then trusted by prefix: the loader before issue #22.
OLD_SAFE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.", "re.")


@pytest.fixture(autouse=True)
def own_trust_list(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets an empty trust list of its own: nothing is written to the user's."""
    home = tmp_path_factory.mktemp("tiltak-home")
    monkeypatch.setenv("TILTAK_HOME", str(home))
    return home


def _load_the_old_way(data: bytes):
    untrusted = skops.io.get_untrusted_types(data=data)
    return skops.io.loads(data, trusted=[t for t in untrusted if t.startswith(OLD_SAFE_PREFIXES)])


def _classifier_folder(folder: Path, model=None, data: bytes | None = None) -> Path:
    """A classifier folder as `tiltak train-classifier` writes it (card and artifact agree; the shipped taxonomy)."""
    folder.mkdir(parents=True)
    data = data if data is not None else skops.io.dumps(model)
    (folder / "classifier.skops").write_bytes(data)
    card = json.loads((DEFAULT_CLASSIFIER / "card.json").read_text(encoding="utf-8"))
    card.update(artifact_sha256=hashlib.sha256(data).hexdigest(), name="kollegas-modell", version="9.9.9")
    assert card["taxonomy"]["sha256"] == taxonomy_hash(DEFAULT_TAXONOMY)
    (folder / "card.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


def _attack(kind: str, marker: Path):
    """A scikit-learn Pipeline whose FunctionTransformer steps run the attacker's choice when it classifies: the
    texts become the attacker's string (numpy.full_like, builtins.max), then it is executed (builtins.exec), or
    becomes the name of a file NumPy writes (numpy.savetxt), or is fed to builtins.getattr."""
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    payload = {"exec": f"open({str(marker)!r}, 'w').write('ran')", "savetxt": str(marker), "getattr": "__class__"}
    last = {"exec": FunctionTransformer(builtins.exec),
            "savetxt": FunctionTransformer(np.savetxt, kw_args={"X": [[1.0]]}),
            "getattr": FunctionTransformer(builtins.getattr, kw_args={"name": "__init__"})}[kind]
    return Pipeline([
        ("fill", FunctionTransformer(np.full_like, kw_args={"fill_value": payload[kind], "dtype": object})),
        ("pick", FunctionTransformer(builtins.max)),
        ("attack", last),
        ("classify", DummyClassifier().fit([[0], [1]], ["annet", "klynger"])),
    ])


@functools.cache
def _shipped_saved_again() -> bytes:
    """The shipped model saved again without compression: the same model and types, other bytes (from elsewhere)."""
    return skops.io.dumps(_load_the_old_way(SHIPPED_ARTIFACT.read_bytes()), compression=zipfile.ZIP_STORED)


def _one_line(message: str) -> str:
    assert "\n" not in message.strip(), message
    return message


# --- the classifier: an exact list of types --------------------------------------------------------------------


def test_the_shipped_classifier_holds_exactly_the_allowed_types_and_loads_with_them_alone():
    data = SHIPPED_ARTIFACT.read_bytes()
    found = artifact_types(data, SHIPPED_ARTIFACT)
    # Nothing listed that the shipped model does not need, nothing it needs left out.
    assert found == {name: set(loaders) for name, loaders in ALLOWED_ARTIFACT_TYPES.items()}
    for name in ALLOWED_ARTIFACT_TYPES:
        assert name.split(".")[0] in ("builtins", "numpy", "sklearn"), name
        assert "Function" not in name and name not in ("builtins.exec", "builtins.eval", "builtins.getattr")
    assert not {loader for loaders in ALLOWED_ARTIFACT_TYPES.values() for loader in loaders} & {
        "FunctionNode", "MethodNode", "PartialNode", "OperatorFuncNode", "ReduceNode"}
    untrusted = check_artifact_types(data, SHIPPED_ARTIFACT)
    assert set(untrusted) <= set(ALLOWED_ARTIFACT_TYPES)
    model = skops.io.loads(data, trusted=untrusted)  # these and nothing else
    assert set(model.classes_) == set(load_taxonomy().ids)


@pytest.mark.parametrize(("kind", "named"), [("exec", "builtins.exec"), ("getattr", "builtins.getattr"),
                                             ("savetxt", "numpy.savetxt")])
def test_a_crafted_classifier_is_refused_before_loading_trusted_or_not(tmp_path: Path, kind: str, named: str):
    marker = tmp_path / "marker"
    folder = _classifier_folder(tmp_path / "modell", _attack(kind, marker))
    for trusted in (False, True):
        with pytest.raises(ClassifierError) as refused:
            load_classifier(folder, trusted=trusted)
        message = _one_line(str(refused.value))
        assert str(folder / "classifier.skops") in message and "refused before loading" in message
        assert named in message and "FunctionTransformer" in message
    assert not marker.exists()
    if kind != "getattr":
        # The attack is real: the loader before issue #22 let it run when the first measure was classified.
        with pytest.raises(TypeError):
            _load_the_old_way((folder / "classifier.skops").read_bytes()).predict_proba(["et tiltak"])
        assert marker.exists()


def test_tiltak_run_refuses_a_crafted_classifier_before_prefect_starts(tmp_path: Path):
    marker = tmp_path / "marker"
    folder = _classifier_folder(tmp_path / "modell", _attack("exec", marker))
    prefect_home, out = tmp_path / "prefect-home", tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_HOME": str(prefect_home),
           "TILTAK_HOME": str(tmp_path / "home")}
    for trust in ([], ["--trust-classifier"]):
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", "from pipeline.cli import app; app()", "run", str(SAMPLE),
                               "--classifier", str(folder), "--out", str(out), *trust],
                              capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        error = _one_line(done.stderr)
        assert error.startswith("tiltak: error: ") and str(folder / "classifier.skops") in error
        assert "builtins.exec" in error
        assert time.monotonic() - started < 120  # seconds, not a Prefect server start and a run
    assert not marker.exists() and not prefect_home.exists() and not out.exists()


# --- provenance: shipped, local, external -----------------------------------------------------------------------


def test_the_pinned_hashes_are_the_shipped_models():
    assert hashlib.sha256(SHIPPED_ARTIFACT.read_bytes()).hexdigest() == SHIPPED_CLASSIFIER_SHA256, (
        "the shipped classifier changed: update SHIPPED_CLASSIFIER_SHA256 in pipeline/analysis/classify.py")
    assert hashlib.sha256((SHIPPED_NLP / "checksums.json").read_bytes()).hexdigest() == SHIPPED_NLP_CHECKSUMS, (
        "the shipped spaCy model changed: update SHIPPED_NLP_CHECKSUMS in pipeline/analysis/nlp.py")
    assert load_classifier().info.origin == "shipped"
    assert load_nlp(str(SHIPPED_NLP)).info.kind == "shipped"


def test_an_external_classifier_loads_only_when_trusted_and_a_recorded_one_is_local(tmp_path: Path):
    folder = _classifier_folder(tmp_path / "kopi", data=_shipped_saved_again())
    with pytest.raises(ClassifierError) as refused:
        load_classifier(folder)
    message = _one_line(str(refused.value))
    assert "external classifier" in message and "--trust-classifier" in message and str(folder) in message

    trusted = load_classifier(folder, trusted=True)
    assert trusted.info.origin == "external"
    from pipeline.ops.doctor import check_classifier

    assert check_classifier().status == "ok" and "shipped" in check_classifier().detail
    refused_check = check_classifier(folder)
    assert refused_check.status == "fail" and "--trust-classifier" in refused_check.fix
    assert check_classifier(folder, trusted=True).status == "warn" and "external" in check_classifier(
        folder, trusted=True).detail
    texts = ["etablere et nasjonalt senter for kliniske studier", "styrke eksporten av helseteknologi"]
    assert trusted.predict(texts) == load_classifier().predict(texts)

    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    listed = record_locally_trained(folder / "classifier.skops", card)
    assert listed == trust_list_path() and listed.is_relative_to(Path(os.environ["TILTAK_HOME"]))
    entries = json.loads(listed.read_text(encoding="utf-8"))["classifiers"]
    assert [e["sha256"] for e in entries] == [card["artifact_sha256"]]
    assert load_classifier(folder).info.origin == "local"
    assert "local (trained here" in check_classifier(folder).detail


def test_a_trusted_external_classifier_runs_in_the_flow_and_the_output_says_external(prefect_harness,
                                                                                     tmp_path: Path):
    from flows import process_corpus

    folder = _classifier_folder(tmp_path / "kopi", data=_shipped_saved_again())
    settings = tmp_path / "tiltak.toml"
    settings.write_text('classifier = "kopi"\ntrust_classifier = true\n', encoding="utf-8")
    config = PipelineConfig.from_toml(settings)
    assert config.trust_classifier and config.classifier == folder.resolve()
    assert config.config_hash == PipelineConfig(classifier=folder.resolve()).config_hash  # trust: not a setting
    refused = process_corpus(paths=[str(SAMPLE)], out_dir=str(tmp_path / "refused"), nlp="blank",
                             overrides={"classifier": str(folder)}, return_state=True)
    assert refused.is_failed() and "external classifier" in str(refused.result(raise_on_failure=False))
    manifest = process_corpus(paths=[str(SAMPLE)], out_dir=str(tmp_path / "out"), nlp="blank",
                              overrides={"classifier": str(folder), "trust_classifier": True})  # as the CLI does
    assert [d["status"] for d in manifest["documents"]] == ["processed"]
    output = json.loads((tmp_path / "out" / manifest["documents"][0]["output"]).read_text(encoding="utf-8"))
    assert output["provenance"]["classifier"]["origin"] == "external"
    assert output["provenance"]["classifier"]["name"] == "kollegas-modell"


def _record(number: int) -> None:
    record_locally_trained(Path(f"/tmp/modell-{number}/classifier.skops"), {"artifact_sha256": f"{number:064x}"})


def test_trainings_at_once_all_land_in_the_trust_list():
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=4) as pool:
        list(pool.map(_record, range(12)))
    entries = json.loads(trust_list_path().read_text(encoding="utf-8"))["classifiers"]
    assert sorted(e["sha256"] for e in entries) == [f"{n:064x}" for n in range(12)]
    assert not [p for p in trust_list_path().parent.iterdir() if p.name.endswith(".tmp")]


def test_a_broken_trust_list_is_named_and_the_shipped_model_still_loads(tmp_path: Path):
    trust_list_path().parent.mkdir(parents=True, exist_ok=True)
    trust_list_path().write_text("{not json", encoding="utf-8")
    folder = _classifier_folder(tmp_path / "kopi", data=_shipped_saved_again())
    with pytest.raises(ClassifierError, match=r"trusted-classifiers\.json: cannot read"):
        load_classifier(folder)
    assert load_classifier(DEFAULT_CLASSIFIER, trusted=False).info.origin == "shipped"


def test_training_stays_within_the_allowed_types_and_is_trusted_only_here(tmp_path: Path, monkeypatch):
    from models.focus_area.train import train

    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text(
        "name: samferdsel\nversion: 0.1.0\nfallback: annet\nlabels:\n"
        "  - {id: vei, name: Vei, covers: roads}\n  - {id: jernbane, name: Jernbane, covers: rail}\n"
        "  - {id: annet, name: Annet, covers: other}\n", encoding="utf-8")
    topics = {"vei": ["bygge ny firefelts motorvei mellom {a} og {b}", "utbedre riksveien ved {a}"],
              "jernbane": ["bygge dobbeltspor på jernbanen mellom {a} og {b}", "elektrifisere togstrekningen til {a}"],
              "annet": ["styrke skolehelsetjenesten i {a}", "bygge nytt kulturhus i {b}"]}
    places = [("Bergen", "Voss"), ("Trondheim", "Steinkjer"), ("Tromsø", "Narvik"), ("Oslo", "Hamar"),
              ("Bodø", "Mo"), ("Ålesund", "Molde")]
    rows = [{"text": template.format(a=a, b=b), "label": label}
            for label, templates in topics.items() for template in templates for a, b in places]
    data = tmp_path / "training.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "modell"

    card = train(data, taxonomy, out, version="0.1.0")

    artifact = out / "classifier.skops"
    new = {name: loaders - ALLOWED_ARTIFACT_TYPES.get(name, frozenset())
           for name, loaders in artifact_types(artifact.read_bytes(), artifact).items()}
    assert not {name: loaders for name, loaders in new.items() if loaders}, (
        "training brought types the loader refuses: review them and add them to ALLOWED_ARTIFACT_TYPES knowingly")
    trained = load_classifier(out, taxonomy)
    assert trained.info.origin == "local" and trained.info.artifact_sha256 == card["artifact_sha256"]
    assert trained.predict(["bygge dobbeltspor på jernbanen til Kongsberg"])[0].label == "jernbane"
    # The same folder on another machine (another user's trust list) is external there.
    monkeypatch.setenv("TILTAK_HOME", str(tmp_path / "other-home"))
    monkeypatch.setattr("pipeline.analysis.classify._cache", {})  # a fresh process there
    with pytest.raises(ClassifierError, match="external classifier"):
        load_classifier(out, taxonomy)


def test_the_shipped_models_give_the_corpus_the_same_focus_areas_as_before():
    """The focus areas of the sample corpus, analysed end to end, equal the shipped model's predictions loaded the
    way it was loaded before issue #22."""
    from pipeline.analysis.process import analyse_document

    old = _load_the_old_way(SHIPPED_ARTIFACT.read_bytes())
    current = load_classifier()
    before = FocusAreaClassifier(old, [str(c) for c in old.classes_], current.threshold, current.taxonomy,
                                 current.info)
    documents = [p for p in sorted(CORPUS.iterdir()) if p.suffix in (".txt", ".html", ".pdf", ".docx")]
    assert len(documents) >= 4
    measured = 0
    for path in documents:
        result = analyse_document(path, PipelineConfig())
        assert result.provenance.classifier.origin == "shipped"
        assert result.provenance.nlp_model.kind in ("shipped", "upstream")
        expected = before.predict([m.text for m in result.measures])
        # Since issue #18 a measure whose policy area lies outside the taxonomy's scope has no focus area.
        assert [(m.focus_area, m.focus_area_score, m.focus_area_runner_up) for m in result.measures] == [
            (p.label, p.score, p.runner_up) if current.taxonomy.in_scope(m.policy_area) else (None, None, None)
            for m, p in zip(result.measures, expected, strict=True)], path.name
        measured += len(result.measures)
    assert measured >= 20


# --- YAML, TOML and JSON are data ------------------------------------------------------------------------------


def _evil_yaml(path: Path, marker: Path) -> Path:
    path.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\nversion: '1'\n"
                    f"fallback: annet\nlabels: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:"
                    f"pathlib.Path ['{marker}']]\n", encoding="utf-8")
    return path


def test_a_taxonomy_with_python_tags_is_refused_without_running_them(tmp_path: Path):
    marker = tmp_path / "marker"
    evil = _evil_yaml(tmp_path / "taksonomi.yaml", marker)
    with pytest.raises(TiltakError) as refused:
        load_taxonomy(evil)
    message = _one_line(str(refused.value))
    assert message.startswith(f"{evil}: cannot read the taxonomy") and "python/object/apply" in message
    assert not marker.exists()


@pytest.mark.parametrize("field", ["list_intros", "prose_measures", "commitments", "actors", "document_types",
                                   "languages", "taxonomy"])
def test_data_yaml_with_python_tags_never_runs(tmp_path: Path, field: str):
    from pipeline.analysis.process import analyse_document

    marker = tmp_path / "marker"
    evil = _evil_yaml(tmp_path / f"{field}.yaml", marker)
    with pytest.raises(Exception, match="python/object/apply"):
        analyse_document(SAMPLE, PipelineConfig(nlp="blank", **{field: evil}))
    assert not marker.exists()


def test_no_code_in_the_project_loads_yaml_or_pickles_unsafely():
    unsafe = ("yaml.load(", "yaml.unsafe_load", "yaml.full_load", "Loader=yaml.Loader", "yaml.UnsafeLoader",
              "pickle.load", "joblib.load", "cloudpickle.load", "allow_pickle=True", "torch.load")
    sources = [*REPO.glob("pipeline/**/*.py"), *REPO.glob("extractors/**/*.py"), *REPO.glob("models/**/*.py"),
               *REPO.glob("benchmarks/**/*.py"), *REPO.glob("corpus/*.py"), REPO / "flows.py"]
    found = [f"{path.relative_to(REPO)}: {word}" for path in sources for word in unsafe
             if word in path.read_text(encoding="utf-8")]
    assert len(sources) > 20 and not found


def test_tiltak_run_refuses_a_taxonomy_with_python_tags(tmp_path: Path):
    marker = tmp_path / "marker"
    evil = _evil_yaml(tmp_path / "taksonomi.yaml", marker)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_HOME": str(tmp_path / "prefect-home")}
    done = subprocess.run([sys.executable, "-c", "from pipeline.cli import app; app()", "run", str(SAMPLE),
                           "--taxonomy", str(evil), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(evil) in _one_line(done.stderr) and "python/object/apply" in done.stderr
    assert not marker.exists() and not (tmp_path / "prefect-home").exists()


# --- spaCy pipeline folders ------------------------------------------------------------------------------------


@Language.factory("tiltak_test_writes_a_marker", default_config={"marker": ""})
def _make_marker_writer(nlp, name: str, marker: str):
    """A factory of some installed package that a pipeline folder can name: it runs when the pipeline loads."""
    if marker:
        Path(marker).write_text("ran", encoding="utf-8")
    return lambda doc: doc


@registry.callbacks("tiltak_test_marker_callback.v1")
def _marker_callback(marker: str):
    def callback(nlp):
        Path(marker).write_text("ran", encoding="utf-8")
        return nlp
    return callback


def _pipeline_folder(folder: Path, marker: Path | None = None) -> Path:
    import spacy

    nlp = spacy.blank("nb")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("tiltak_block_boundaries")
    if marker is not None:
        nlp.add_pipe("tiltak_test_writes_a_marker", config={"marker": str(marker)})
        marker.unlink()  # written while building the folder; the test is whether loading writes it again
    nlp.to_disk(folder)
    return folder


def test_a_pipeline_folder_naming_a_foreign_factory_is_refused_unless_trusted(tmp_path: Path):
    marker = tmp_path / "marker"
    folder = _pipeline_folder(tmp_path / "pipeline", marker)
    with pytest.raises(TiltakError) as refused:
        load_nlp(str(folder))
    message = _one_line(str(refused.value))
    assert message.startswith(f"{folder}: refused") and "'tiltak_test_writes_a_marker'" in message
    assert "--trust-nlp" in message and not marker.exists()
    # The channel is real: trusted, the folder's factory runs.
    loaded = load_nlp(str(folder), trusted=True)
    assert marker.exists() and loaded.info.kind == "external"


@pytest.mark.parametrize("change", ["callback", "source", "language"])
def test_a_pipeline_folder_naming_other_code_is_refused(tmp_path: Path, change: str):
    marker = tmp_path / "marker"
    folder = _pipeline_folder(tmp_path / "pipeline")
    config = (folder / "config.cfg").read_text(encoding="utf-8")
    if change == "callback":
        config = config.replace("after_creation = null\n", "") + (
            f'\n[nlp.after_creation]\n@callbacks = "tiltak_test_marker_callback.v1"\nmarker = "{marker}"\n')
        named = "tiltak_test_marker_callback.v1"
    elif change == "source":
        config = config.replace('factory = "sentencizer"', f'source = "{tmp_path / "elsewhere"}"')
        named = "sourced from another pipeline"
    else:
        config = config.replace('lang = "nb"', 'lang = "tiltak_test"')
        named = "'tiltak_test'"
    (folder / "config.cfg").write_text(config, encoding="utf-8")
    with pytest.raises(TiltakError) as refused:
        load_nlp(str(folder))
    assert named in _one_line(str(refused.value)) and str(folder) in str(refused.value)
    assert not marker.exists()


@Language.component("tiltak_test_component")
def _foreign_component(doc):
    return doc


def test_a_pipeline_folder_naming_a_foreign_component_is_refused(tmp_path: Path):
    """spaCy wraps a ``Language.component`` function in a closure of its own module: the component's module counts."""
    import spacy

    nlp = spacy.blank("nb")
    nlp.add_pipe("tiltak_test_component")
    nlp.to_disk(tmp_path / "pipeline")
    with pytest.raises(TiltakError, match=r"'tiltak_test_component' \(from (tests\.)?test_untrusted_models\)"):
        load_nlp(str(tmp_path / "pipeline"))


def test_a_clean_pipeline_folder_loads_and_is_external(tmp_path: Path):
    loaded = load_nlp(str(_pipeline_folder(tmp_path / "pipeline")))
    assert loaded.info.kind == "external" and "tiltak_block_boundaries" in loaded.info.components


def test_a_copy_of_the_shipped_model_is_shipped_and_an_altered_one_external(tmp_path: Path):
    copy = tmp_path / "nb_tiltak_core"
    shutil.copytree(SHIPPED_NLP, copy)
    assert is_shipped_model(copy)
    # Altered and its checksums rewritten to match: it checks against itself, but is not the shipped model.
    (copy / "README.md").write_text("Endret.\n", encoding="utf-8")
    (copy / "checksums.json").write_text(json.dumps(model_checksums(copy), indent=2), encoding="utf-8")
    assert not is_shipped_model(copy)
    assert load_nlp(str(copy)).info.kind == "external"


def test_tiltak_run_refuses_a_foreign_pipeline_folder_before_prefect_starts(tmp_path: Path):
    marker = tmp_path / "marker"
    folder = _pipeline_folder(tmp_path / "pipeline", marker)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_HOME": str(tmp_path / "prefect-home")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "from pipeline.cli import app; app()", "run", str(SAMPLE),
                           "--nlp", str(folder), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    error = _one_line(done.stderr)
    assert str(folder) in error and "'tiltak_test_writes_a_marker'" in error
    assert time.monotonic() - started < 120
    assert not marker.exists() and not (tmp_path / "prefect-home").exists()


# --- Prefect's result storage ----------------------------------------------------------------------------------


def _stores(base: Path):
    from prefect.filesystems import LocalFileSystem
    from prefect.results import ResultStore
    from prefect.serializers import JSONSerializer

    return ResultStore(result_storage=LocalFileSystem(basepath=str(base)), serializer=JSONSerializer(),
                       cache_result_in_memory=False)


def test_the_analysis_cache_reads_json_records_and_never_a_pickle(tmp_path: Path):
    from prefect._internal.result_records import ResultRecord, ResultRecordMetadata
    from prefect.serializers import PickleSerializer

    from flows import _cached_analysis

    store = _stores(tmp_path / "storage")
    value = {"result": {"measures": [], "text": "Regjeringen vil styrke kliniske studier."}, "analysed_in_run": "r1"}
    store.write(value, key="analysis-json")
    assert _cached_analysis(store, "analysis-json") == value

    marker = tmp_path / "marker"
    planted = ResultRecord(metadata=ResultRecordMetadata(serializer=PickleSerializer(), storage_key="planted"),
                           result=_Planted(marker))
    (tmp_path / "storage" / "analysis-pickle").write_bytes(planted.serialize())
    assert _cached_analysis(store, "analysis-pickle") is None
    assert not marker.exists()
    # The attack is real: Prefect's own reader runs a pickle record it finds under the key.
    _stores(tmp_path / "storage").read("analysis-pickle")
    assert marker.exists()


class _Planted:
    """Unpickled, it writes the marker (what a planted cache record could do instead)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.write_text, (self.marker, "ran")


def test_task_results_are_json_or_never_persisted(tmp_path: Path):
    from prefect.serializers import JSONSerializer

    import flows

    assert os.environ["PREFECT_RESULTS_DEFAULT_SERIALIZER"] == "json"
    # Prefect reads its settings when it is first imported: in a process that imports flows first (the CLI, a
    # deployment), the default is JSON whatever the environment or the Prefect profile said.
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_RESULTS_DEFAULT_SERIALIZER": "pickle",
           "PREFECT_HOME": str(tmp_path / "prefect-home")}
    shown = subprocess.run([sys.executable, "-c", "import flows\nfrom prefect.settings import "
                            "PREFECT_RESULTS_DEFAULT_SERIALIZER as s\nprint(s.value())"],
                           capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert shown.stdout.strip() == "json", shown.stderr[-2000:]
    # Results with bytes (a fetched document) are never written; the others serialise as JSON.
    assert flows.fetch_task.persist_result is False and flows.analyse_task.persist_result is False
    card = json.loads((DEFAULT_CLASSIFIER / "card.json").read_text(encoding="utf-8"))
    serializer = JSONSerializer()
    for value in (card, [{"sha256": "ab" * 32}, {"error": "x.pdf: cannot read the file"}], "outputs/plan.json"):
        assert json.loads(serializer.dumps(value)) == value


def test_a_flow_run_leaves_only_json_records_and_reads_them_back(prefect_harness, tmp_path: Path):
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH

    from flows import process_corpus

    storage = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    before = {p for p in storage.rglob("*") if p.is_file()}
    document = tmp_path / "plan.txt"
    document.write_text(SAMPLE.read_text(encoding="utf-8") + "\nRegjeringen vil utrede en ny testordning.\n",
                        encoding="utf-8")
    first = process_corpus(paths=[str(document)], out_dir=str(tmp_path / "out1"), nlp="blank")
    second = process_corpus(paths=[str(document)], out_dir=str(tmp_path / "out2"), nlp="blank")
    assert [d["status"] for d in first["documents"]] == ["processed"]
    assert [d["status"] for d in second["documents"]] == ["cached"]  # read back by the JSON-only reader
    # A failed flow run writes its exception to the storage whatever the settings: as JSON too.
    failed = process_corpus(paths=[str(document)], out_dir=str(tmp_path / "out3"), nlp="blank",
                            overrides={"taxonomy": str(tmp_path / "missing.yaml")}, return_state=True)
    assert failed.is_failed()
    records = {p for p in storage.rglob("*") if p.is_file()} - before
    assert len(records) >= 2
    for path in records:
        record = json.loads(path.read_bytes())  # a pickle (base64) is not JSON
        if "metadata" in record:  # a result record (the analyses): JSON inside too
            assert record["metadata"]["serializer"]["type"] == "json", path
            json.loads(record["result"])
        else:  # the failed run's exception, as Prefect's JSON serializer writes it
            assert record["__exc_type__"] == "pipeline.errors.TiltakError" and "missing.yaml" in record["message"]
