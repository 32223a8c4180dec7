"""Train the project's Norwegian Bokmål spaCy pipeline from NorNE / NDT.

    python models/recipe/train.py /work/shared/corpora/norne \
        [--work /tmp/tiltak-train] [--config models/recipe/config.cfg] \
        [--stages convert,train,finalize,evaluate] [spaCy overrides, e.g. --training.max_steps 500]

Stages:
  convert   NDT train range -> UD (ndt2ud) -> <work>/corpus/{train,dev,dev-ndt,test}.spacy
  train     spacy train (one process, CPU) -> <work>/output/{model-best,model-last}
  pretrain  raw Norwegian text (models/recipe/raw_text.py: NDT train range, development-site policy pages,
            Norwegian real documents) -> <work>/corpus/raw-text.jsonl; spacy pretrain (characters objective) of
            the NER's tok2vec on it -> <work>/pretrain/ner-tok2vec.bin, which train-ner starts from (a stage of
            its own, within --pretrain-minutes)
  train-ner a NER with its own wider tok2vec (config_ner.cfg) on <work>/corpus/train-ner.spacy (the Bokmål
            and, unless --no-nynorsk, the Nynorsk NDT train range) -> <work>/output-ner/model-best
  finalize  model-best -> model-final (tokenizer suffixes for "2025.", senter
            disabled by default, meta); with --base-model DIR (e.g. the shipped
            models/nb_tiltak_core) the non-NER components come from DIR instead of
            <work>/output/model-best, so only the NER needs retraining
  evaluate  spacy evaluate model-final on the UD *test* file, speed (words/s, one
            process) and size on disk -> <work>/output/test-metrics.json
  install   model-final -> --dest (default models/nb_tiltak_core), with the test figures in
            meta.json and a model card README.md beside nb_core_news_sm's figures

The corpus is read-only and its texts must not enter the repository: all data
and models are written under --work (default /tmp/tiltak-train).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# one process, one thread: the machine is shared
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")


def run(cmd: list[str], max_minutes: float | None = None) -> None:
    """Run a command; with max_minutes, stop it (SIGTERM) after that wall-clock time.
    spaCy writes model-best at every evaluation that improves the score, so a
    stopped training run still leaves the best model so far."""
    print("+", " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd)
    try:
        proc.wait(timeout=None if max_minutes is None else max_minutes * 60)
    except subprocess.TimeoutExpired:
        print(f"time budget of {max_minutes} min reached: stopping training", flush=True)
        proc.terminate()
        proc.wait()
        return
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)


def dir_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def measure_speed(model: Path, data: Path, repeats: int = 3) -> dict:
    """Words/s of the full pipeline, single process, on the UD test texts."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.load(model)
    texts = [d.text for d in DocBin().from_disk(data).get_docs(nlp.vocab)]
    n_words = sum(len(nlp.make_doc(t)) for t in texts)
    list(nlp.pipe(texts[:20]))  # warm-up
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _doc in nlp.pipe(texts, batch_size=64):
            pass
        best = max(best, n_words / (time.perf_counter() - t0))
    return {"words_per_sec": round(best), "n_words": n_words, "pipeline": nlp.pipe_names}


META = {
    "name": "tiltak_core",
    "version": "0.2.0",
    "description": (
        "Norwegian Bokmål pipeline of the tiltak project: tok2vec (small CNN, no vectors), "
        "tiltak_block_boundaries (a blank line between blocks starts a sentence), morphologizer (UPOS + UD "
        "features), parser (UD relations), senter (disabled by default; the parser sets sentence boundaries), "
        "trainable lemmatizer, NER (NorNE labels, its own tok2vec). "
        "Trained by models/recipe/train.py on the NDT/NorNE UD train range converted from NDT "
        "to UD by the project's own mapping (models/recipe/ndt2ud.py)."
    ),
    "license": "CC0 annotations (NorNE / NDT); model weights trained on them",
    "sources": [
        {"name": "NorNE", "url": "https://github.com/ltgoslo/norne", "license": "CC0 (annotations)"},
        {"name": "Norwegian Dependency Treebank", "license": "CC0 (annotations)"},
    ],
}


def pretrain_config(ner_config: Path, out: Path) -> Path:
    """config_ner.cfg for ``spacy pretrain``: a standalone tok2vec component with exactly the NER's tok2vec
    architecture. (The NER's own ref "tok2vec" already ends in a list2array and a projection, which the pretraining
    objective cannot sit on, so the inner Tok2Vec is pretrained and put into the NER by ner_init_weights.)"""
    from spacy.util import load_config

    cfg = load_config(ner_config, interpolate=False)
    cfg["nlp"]["pipeline"] = ["tok2vec"]
    cfg["components"] = {"tok2vec": {"factory": "tok2vec", "model": cfg["components"]["ner"]["model"]["tok2vec"]}}
    cfg["pretraining"]["component"] = "tok2vec"
    cfg["pretraining"]["layer"] = ""
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg.to_disk(out)
    return out


def latest_pretrained(folder: Path) -> Path | None:
    """The weights of the last finished pretraining epoch (model<N>.bin, or model-last.bin when it ran out)."""
    last = folder / "model-last.bin"
    if last.is_file():
        return last
    epochs = sorted(folder.glob("model[0-9]*.bin"), key=lambda p: int(p.stem[5:].split("_")[0]))
    return epochs[-1] if epochs else None


def ner_init_weights(ner_config: Path, pretrained: Path, out: Path) -> Path:
    """The pretrained Tok2Vec inside the NER's ref "tok2vec" (Tok2Vec >> list2array >> Linear; the projection keeps
    its fresh initialisation), as the bytes ``initialize.init_tok2vec`` loads with [pretraining] component "ner",
    layer "tok2vec"."""
    from spacy.util import load_config, load_model_from_config

    nlp = load_model_from_config(load_config(ner_config), auto_fill=True, validate=True)
    ref = nlp.get_pipe("ner").model.get_ref("tok2vec")
    ref.initialize(X=[nlp.make_doc("Stortinget vedtok budsjettet i Oslo .")])
    ref.layers[0].from_bytes(pretrained.read_bytes())
    out.write_bytes(ref.to_bytes())
    return out


def finalize(model: Path, final: Path, ner_model: Path | None = None) -> None:
    """model-best -> model-final: tokenizer suffixes, block boundaries before the parser, senter disabled, the
    separately trained NER (when given) in place of the shared-tok2vec one, meta."""
    import spacy

    from pipeline.analysis import nlp_components  # registers tiltak_block_boundaries

    nlp = nlp_components.with_sentence_final_numbers(spacy.load(model))
    base_strings = set(nlp.vocab.strings)
    if ner_model is not None:
        ner_nlp = spacy.load(ner_model)
        position = nlp.pipe_names.index("ner")
        nlp.remove_pipe("ner")
        nlp.add_pipe("ner", source=ner_nlp, before=nlp.pipe_names[position] if position < len(nlp.pipe_names)
                     else None)
    if "tiltak_block_boundaries" not in nlp.pipe_names:
        nlp.add_pipe("tiltak_block_boundaries", before="parser" if "parser" in nlp.pipe_names else None)
    if "senter" in nlp.pipe_names and "parser" in nlp.pipe_names:
        nlp.disable_pipe("senter")
    for k, v in META.items():
        nlp.meta[k] = v
    final.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(final)
    if ner_model is not None:
        # Sourcing copies every string of the NER's training vocabulary (the word forms of its corpus, 0.4 MB with
        # Nynorsk). The NER reads hashed features and needs only its labels as strings, so they are left out.
        import srsly

        needed = base_strings | set(nlp.get_pipe("ner").labels)
        strings_path = final / "vocab" / "strings.json"
        srsly.write_json(strings_path, [s for s in srsly.read_json(strings_path) if s in needed])
    print(f"wrote {final}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("norne", type=Path, help="path to the NorNE corpus (read-only)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tiltak-train"))
    ap.add_argument("--config", type=Path, default=HERE / "config.cfg")
    ap.add_argument("--stages", default="convert,train,pretrain,train-ner,finalize,evaluate,install")
    ap.add_argument("--ner-config", type=Path, default=HERE / "config_ner.cfg")
    ap.add_argument("--n-sents", type=int, default=10, help="sentences per training/eval doc")
    ap.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget for training")
    ap.add_argument("--pretrain-minutes", type=float, default=30, help="wall-clock budget for pretraining")
    ap.add_argument("--max-files", type=int, default=None, help="NDT files per split (smoke runs only)")
    ap.add_argument("--dest", type=Path, default=HERE.parent / "nb_tiltak_core", help="where install puts it")
    ap.add_argument("--no-nynorsk", action="store_true", help="train the NER on the Bokmål train range only")
    ap.add_argument("--base-model", type=Path, default=None,
                    help="finalize: take the non-NER components from this pipeline, not <work>/output/model-best")
    a, overrides = ap.parse_known_args()
    stages = set(a.stages.split(","))
    corpus = a.work / "corpus"
    out = a.work / "output"
    py = sys.executable

    if "convert" in stages:
        import convert_ndt

        for name, (docs, sents, words) in convert_ndt.convert(a.norne, corpus, a.n_sents, a.max_files,
                                                                        nynorsk=not a.no_nynorsk).items():
            print(f"{name:8} {docs:6} docs {sents:6} sentences {words:7} words", flush=True)

    if "train" in stages:
        t0 = time.time()
        run(
            [py, "-m", "spacy", "train", str(a.config), "--output", str(out),
             "--paths.train", str(corpus / "train.spacy"), "--paths.dev", str(corpus / "dev.spacy"),
             *overrides],
            max_minutes=a.max_minutes,
        )
        print(f"training took {(time.time() - t0) / 60:.1f} min", flush=True)

    pretrained = a.work / "pretrain" / "ner-tok2vec.bin"
    if "pretrain" in stages:
        import raw_text

        raw = corpus / "raw-text.jsonl"
        print(raw_text.build(a.norne, raw, max_files=a.max_files), flush=True)
        folder = a.work / "pretrain" / "epochs"
        shutil.rmtree(folder, ignore_errors=True)
        smoke = ["--pretraining.max_epochs", "1"] if a.max_files is not None else []
        t0 = time.time()
        run([py, "-m", "spacy", "pretrain", str(pretrain_config(a.ner_config, a.work / "pretrain" / "config.cfg")),
             str(folder), "--paths.raw_text", str(raw), *smoke], max_minutes=a.pretrain_minutes)
        print(f"pretraining took {(time.time() - t0) / 60:.1f} min", flush=True)
        ner_init_weights(a.ner_config, latest_pretrained(folder), pretrained)

    if "train-ner" in stages:
        init = ["--paths.init_tok2vec", str(pretrained)] if pretrained.is_file() else []
        run(
            [py, "-m", "spacy", "train", str(a.ner_config), "--output", str(a.work / "output-ner"),
             "--paths.train", str(corpus / "train-ner.spacy"), "--paths.dev", str(corpus / "dev.spacy"),
             *init, *overrides],
            max_minutes=a.max_minutes,
        )

    if "finalize" in stages:
        ner = a.work / "output-ner" / "model-best"
        finalize(a.base_model or out / "model-best", out / "model-final", ner if ner.is_dir() else None)

    if "evaluate" in stages:
        model = out / "model-final"
        metrics_path = out / "test-metrics.json"
        run([py, "-m", "spacy", "evaluate", str(model), str(corpus / "test.spacy"),
             "--output", str(metrics_path)])
        metrics = json.loads(metrics_path.read_text())
        metrics["speed"] = measure_speed(model, corpus / "test.spacy")
        metrics["size_mb"] = round(dir_size_mb(model), 1)
        metrics_path.write_text(json.dumps(metrics, indent=2))
        keys = ["pos_acc", "morph_acc", "lemma_acc", "dep_uas", "dep_las", "sents_f", "ents_f"]
        print({k: round(metrics[k], 4) for k in keys if k in metrics})
        print("words/s", metrics["speed"]["words_per_sec"], "size MB", metrics["size_mb"])

    if "install" in stages:
        install(out / "model-final", out / "test-metrics.json", a.dest)


def install(model: Path, metrics_path: Path, dest: Path) -> None:
    """Copy the final model into the repository with its evaluation in meta.json and a model card."""
    import card

    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    staging = dest.with_name(dest.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(model, staging)
    meta_path = staging / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    keys = ["pos_acc", "morph_acc", "lemma_acc", "dep_uas", "dep_las", "sents_f", "ents_f"]
    meta["evaluation_ud_test"] = {**{k: round(metrics[k], 4) for k in keys if k in metrics},
                                  "words_per_sec": metrics["speed"]["words_per_sec"], "size_mb": metrics["size_mb"]}
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    card.write_card(staging, metrics_path, NOTES, MISSED_TARGET_REASONS)
    from pipeline.analysis.nlp import CHECKSUMS_FILE, model_checksums

    (staging / CHECKSUMS_FILE).write_text(json.dumps(model_checksums(staging), indent=2) + "\n", encoding="utf-8")
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    print(f"installed {dest}", flush=True)


# Why a target is missed, stated in the card next to the gap (from what the evaluation showed).
MISSED_TARGET_REASONS: dict[str, str] = {
    "ents_f": "the same NorNE entities as nb_core_news_sm (Bokmål and Nynorsk train ranges) and a tok2vec pretrained "
              "on only about 0.7M words of raw Norwegian text, but no word vectors and no hyperparameter search, on a "
              "single-core budget of about an hour (25 min pretraining, 40 min NER); the UD test split is harder than "
              "dev for our NER (dev F 0.773, test 0.717). ORG, GPE_ORG, PROD and EVT are the weak labels, which is why "
              "the actor extraction leans on the gazetteer for public bodies.",
    "size_mb": "the NER's own tok2vec (about 8 MB) is what buys its entity accuracy; without it the pipeline is about "
               "16 MB.",
    "words_per_sec": "the machine, not the model: on 2026-12-07 the same idle 2-core machine measured release 0.1.0 "
                     "(9,096 words/s on its card, measured when it was trained) at 3,960-4,248 words/s and this NER "
                     "at 3,973-4,237, back to back with the recipe's measure_speed. The NER's architecture (width, "
                     "depth, hidden layer) is unchanged, only its rows moved, so the speed is the same.",
}

NOTES = [
    "UD train annotation is not in the corpus snapshot, so UPOS, features and UD trees for training come from "
    "converting the NDT train-range files with the project's mapping (checked against the UD dev file by "
    "`models/recipe/check_mapping.py`); nb_core_news_sm was trained on the gold UD train file, so part of any "
    "POS/morph/LAS gap is conversion noise.",
    "The NER has a tok2vec of its own (width 96, NORM/PREFIX/SUFFIX/SHAPE hash embeddings with 11,000/1,000/4,000/"
    "1,000 rows; config_ner.cfg), trained separately and sourced into the pipeline: it costs some speed and buys "
    "entity accuracy, which the actor extraction rests on.",
    "Release 0.2.0 retrained only the NER (the other components are release 0.1.0's, unchanged: `--base-model`). "
    "Its tok2vec is first pretrained (stage `pretrain`: `spacy pretrain`, characters objective, 25 minutes on one "
    "core, 6 epochs) on raw Norwegian text built by `models/recipe/raw_text.py`: the NDT train range, Bokmål and "
    "Nynorsk (439k words), the policy pages of the development sites (151 pages, 35k words) and the Norwegian real "
    "documents (227k words); no UD dev or test sentence, no held-out site. The NER then trains on the NorNE entities "
    "of the Bokmål NDT train range and the Nynorsk NDT files of the UD train range (15,696 + 14,148 sentences, 491k "
    "words; the Nynorsk split is found by sentence text against the UD Nynorsk dev/test files) from those weights; "
    "best dev checkpoint at step 4,500 (dev F 0.773; early stop at 8,500, 37 minutes). Test F 0.687 → 0.717: the "
    "same NER without pretraining (fifth session) reached dev 0.786 / test 0.715, so pretraining on this little text "
    "buys at most a fraction of a point on test. Per label against 0.1.0: PER 0.790 → 0.844, GPE_LOC 0.765 → 0.820, "
    "LOC 0.400 → 0.463, GPE_ORG 0.473 → 0.547; ORG 0.629 → 0.595, EVT 0.200 → 0 (5 test mentions).",
    "No static word vectors (none may be downloaded here): the tok2vec is a small CNN on hashed features, like "
    "nb_core_news_sm.",
    "Training ran on one CPU core within a fixed wall-clock budget; the best dev checkpoint is shipped.",
    "Policy text (`benchmarks/policy_text_check.py` on corpus/ and the seed texts): with the "
    "tiltak_block_boundaries component no sentence runs across a heading or list item (60 did without it); "
    "the NER tags about half of the gazetteer-known public-body mentions as organisations (long names such as "
    "'Nærings- og fiskeridepartementet', lower-case 'regjeringen'), which is why actors come from the gazetteer "
    "first and from NER for what it does not know.",
]


if __name__ == "__main__":
    main()
