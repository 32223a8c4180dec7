"""The shipped Norwegian pipeline (models/nb_tiltak_core): it loads, scores on held-out UD test data, handles
policy text, and its recipe trains end to end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from pipeline.analysis.nlp import SHIPPED_MODEL_NAME, load_nlp, parse

MODEL = REPO / "models" / SHIPPED_MODEL_NAME
NORNE = REPO.parent / "shared" / "corpora" / "norne"
RECIPE = REPO / "models" / "recipe"
pytestmark = pytest.mark.skipif(not (MODEL / "meta.json").is_file(), reason="the shipped model is not built")


@pytest.fixture(scope="module")
def shipped():
    return load_nlp(str(MODEL))


def test_shipped_model_is_complete_and_says_what_it_is(shipped):
    meta = json.loads((MODEL / "meta.json").read_text(encoding="utf-8"))
    assert shipped.info.name == "nb_tiltak_core" and shipped.info.kind == "shipped"
    assert shipped.info.version == meta["version"]
    components = shipped.info.components
    for component in ("tok2vec", "morphologizer", "parser", "lemmatizer", "ner"):
        assert component in components
    assert components.index("tiltak_block_boundaries") < components.index("parser")
    assert set(meta["evaluation_ud_test"]) >= {"pos_acc", "lemma_acc", "dep_las", "sents_f", "ents_f"}
    assert "| POS (UPOS) accuracy |" in (MODEL / "README.md").read_text(encoding="utf-8")
    size_mb = sum(f.stat().st_size for f in MODEL.rglob("*") if f.is_file()) / 1e6
    assert size_mb == pytest.approx(meta["evaluation_ud_test"]["size_mb"], abs=1.0)


def test_best_prefers_the_shipped_model_when_no_upstream_one_is_installed():
    from pipeline.analysis.nlp import UPSTREAM_PREFERENCE, _is_installed

    if any(_is_installed(p) for p in UPSTREAM_PREFERENCE):
        pytest.skip("an upstream nb_core_news pipeline is installed")
    assert load_nlp("best").info.name == "nb_tiltak_core"


def test_loads_in_a_fresh_process_with_plain_spacy(tmp_path: Path):
    """Entry points register the project's components, so `spacy.load` works outside tiltak too."""
    code = (f"import spacy; nlp = spacy.load({str(MODEL)!r}); "
            "print([t.pos_ for t in nlp('Regjeringen vil styrke forskningen.')])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    # "Regjeringen" opening a sentence is tagged NOUN or PROPN (UD says NOUN; capitalised, the model may not).
    tags = done.stdout.strip().strip("[]").replace("'", "").split(", ")
    assert tags[0] in {"NOUN", "PROPN"} and tags[1:] == ["AUX", "VERB", "NOUN", "PUNCT"]


def test_policy_text_sentences_tokens_and_entities(shipped):
    text = ("Kultur og ledelse\n\nRegjeringen vil styrke samarbeidet med Nærings- og fiskeridepartementet innen 2027. "
            "Det skal skje raskt.\n\n• etablere et nasjonalt senter for helsedata\n\n• utrede en ny ordning")
    doc = parse(shipped, text)
    sentences = [s.text.strip() for s in doc.sents if s.text.strip()]
    assert sentences == ["Kultur og ledelse",
                         "Regjeringen vil styrke samarbeidet med Nærings- og fiskeridepartementet innen 2027.",
                         "Det skal skje raskt.", "• etablere et nasjonalt senter for helsedata",
                         "• utrede en ny ordning"]
    assert "Nærings-" in [t.text for t in doc]
    verbs = {t.text: t.lemma_ for t in doc if t.pos_ == "VERB"}
    assert verbs.get("styrke") == "styrke" and verbs.get("etablere") == "etablere"


def _read_ud_slice(path: Path, sentences: int) -> list[dict]:
    sys.path.insert(0, str(RECIPE))
    import convert_ndt

    return convert_ndt.read_ud(path)[:sentences]


@pytest.mark.skipif(not NORNE.is_dir(), reason="../shared/corpora/norne is not present")
def test_scores_on_a_fixed_slice_of_ud_test_stay_near_the_card(shipped):
    """A regression check: the first 500 test sentences, floors a few points under the card's full-test figures."""
    from spacy.training import Example

    sys.path.insert(0, str(RECIPE))
    import convert_ndt

    nlp = shipped.nlp
    card = json.loads((MODEL / "meta.json").read_text(encoding="utf-8"))["evaluation_ud_test"]
    gold = _read_ud_slice(NORNE / "ud" / "nob" / "no_bokmaal-ud-test.conllu", 500)
    examples = []
    for group in convert_ndt.chunk(gold, 10):
        reference = convert_ndt.make_doc(nlp.vocab, group)
        examples.append(Example(nlp.make_doc(reference.text), reference))
    scores = nlp.evaluate(examples)
    assert scores["pos_acc"] >= card["pos_acc"] - 0.03
    assert scores["lemma_acc"] >= card["lemma_acc"] - 0.03
    assert scores["dep_las"] >= card["dep_las"] - 0.05
    assert scores["ents_f"] >= card["ents_f"] - 0.10


@pytest.mark.skipif(not NORNE.is_dir(), reason="../shared/corpora/norne is not present")
def test_the_recipe_trains_evaluates_and_installs_end_to_end(tmp_path: Path):
    """A smoke run of `tiltak train-nlp` on two NDT files and 20 steps: every stage runs, the card is written."""
    tiltak = Path(sys.executable).parent / "tiltak"
    dest = tmp_path / "modell"
    done = subprocess.run([str(tiltak), "train-nlp", "--work", str(tmp_path / "work"), "--max-files", "2",
                           "--max-steps", "20", "--dest", str(dest)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    meta = json.loads((dest / "meta.json").read_text(encoding="utf-8"))
    assert meta["name"] == "tiltak_core" and "evaluation_ud_test" in meta
    card = (dest / "README.md").read_text(encoding="utf-8")
    assert "| LAS |" in card and "nb_core_news_sm 3.8.0" in card and "Missed:" in card
    assert not list((REPO / "models").rglob("*.spacy")), "converted corpus data must never land in the repo"


def test_an_altered_model_is_refused(tmp_path: Path):
    import shutil

    from pipeline.errors import TiltakError

    copy = tmp_path / "nb_tiltak_core"
    shutil.copytree(MODEL, copy)
    weights = copy / "parser" / "model"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(TiltakError, match=r"do not match its checksums.json \(parser/model\)"):
        load_nlp(str(copy))


@pytest.mark.skipif(not NORNE.is_dir(), reason="../shared/corpora/norne is not present")
def test_pretraining_text_leaves_out_held_out_sites_and_ud_dev_test(tmp_path: Path):
    """The NER's pretraining text (recipe stage "pretrain") takes policy pages of the development sites only, by
    the measure recipe's own rule, and no sentence of the UD dev or test files."""
    from models.measures.train import held_out_site

    sys.path.insert(0, str(RECIPE))
    import raw_text

    pages = NORNE.parent / "policy-pages"
    rows = [json.loads(line) for name in ("index-a.jsonl", "index-b.jsonl")
            for line in (pages / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = set(raw_text.policy_page_ids(pages))
    assert kept == {r["id"] for r in rows if not held_out_site(r["site"])}
    assert 0 < len(kept) < len(rows)
    out = tmp_path / "raw.jsonl"
    stats = raw_text.build(NORNE, out, max_files=2)
    assert stats["ndt-train"] > 0 and stats["policy-pages"] > 0 and stats["real-docs"] > 0
    texts = [json.loads(line)["text"] for line in out.read_text(encoding="utf-8").splitlines()]
    held = [h for h in raw_text.ud_held_out_texts(NORNE) if len(h) >= 25]
    assert not any(h in t for t in texts for h in held)
