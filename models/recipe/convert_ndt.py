"""Convert NorNE / NDT to spaCy DocBins for the project's Norwegian Bokmål pipeline.

* train: the NDT files of the UD train range (selected by file name, see
  splits.py), converted NDT -> UD with ndt2ud (POS, FEATS, UD trees), with the
  NDT lemmas, the NorNE entities (IOB from ``name=`` in the last column) and
  sentence boundaries;
* dev:   the gold UD dev file (UD annotation + NorNE entities in MISC), used for
  dev scoring / model selection while training;
* dev-ndt: the NDT files of the dev range converted like train (for comparison);
* test:  the gold UD test file, used only for the final evaluation.

The corpus texts may not be redistributed: write the output outside the repo
(default /tmp/tiltak-train/corpus) or to a git-ignored ``models/**/corpus/``.

    python models/recipe/convert_ndt.py /work/shared/corpora/norne [--out DIR] [--n-sents 10]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ndt2ud
import splits

NO_SPACE_BEFORE = {",", ".", ":", ";", "!", "?", ")", "]", "}", "»", "%", "...", "…"}
NO_SPACE_AFTER = {"(", "[", "{", "«"}


def guess_spaces(words: list[str]) -> list[bool]:
    """NDT has no whitespace information: detokenize with simple rules."""
    spaces = [True] * len(words)
    quote_open = False
    for i, w in enumerate(words):
        if w in NO_SPACE_AFTER:
            spaces[i] = False
        if w == '"':
            if not quote_open:
                spaces[i] = False  # opening quote sticks to the next word
            elif i > 0:
                spaces[i - 1] = False  # closing quote sticks to the previous word
            quote_open = not quote_open
        if i > 0 and w in NO_SPACE_BEFORE:
            spaces[i - 1] = False
    if spaces:
        spaces[-1] = True  # sentence separator
    return spaces


def sent_from_ndt(sent: list[ndt2ud.Tok]) -> dict:
    conv = ndt2ud.convert_sentence(sent)
    words = [t.form for t in conv]
    return {
        "words": words,
        "spaces": guess_spaces(words),
        "lemmas": [t.lemma for t in conv],
        "pos": [t.upos for t in conv],
        "morphs": [ndt2ud.feats_str(t.feats).replace("_", "") for t in conv],
        "heads": [t.head for t in conv],  # 1-based, 0 = root
        "deps": [t.rel for t in conv],
        "ents": [fix_iob(t.ner) for t in conv],
    }


def fix_iob(tag: str) -> str:
    if tag in ("O", "_", ""):
        return "O"
    return tag


def conllu_rows(path: Path) -> list[list[list[str]]]:
    """The token rows of each sentence of a CoNLL-U file (comments, multiword ranges and empty nodes skipped)."""
    sentences, current = [], []
    for line in path.open(encoding="utf8"):
        line = line.rstrip("\n")
        if not line:
            if current:
                sentences.append(current)
                current = []
            continue
        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if "-" not in columns[0] and "." not in columns[0]:
            current.append(columns)
    if current:
        sentences.append(current)
    return sentences


def read_ud(path: Path) -> list[dict]:
    out = []
    for cur in conllu_rows(path):
        words = [c[1] for c in cur]
        misc = [dict(x.split("=", 1) for x in c[9].split("|") if "=" in x) for c in cur]
        spaces = [m.get("SpaceAfter") != "No" for m in misc]
        spaces[-1] = True
        out.append(
            {
                "words": words,
                "spaces": spaces,
                "lemmas": [c[2] for c in cur],
                "pos": [c[3] for c in cur],
                "morphs": ["" if c[5] == "_" else c[5] for c in cur],
                "heads": [int(c[6]) for c in cur],
                "deps": [c[7] for c in cur],
                "ents": [fix_iob(m.get("name", "O")) for m in misc],
            }
        )
    return out


def fix_iob_sequence(tags: list[str]) -> list[str]:
    """Repair I- tags that do not continue an entity of the same type."""
    out = []
    prev = "O"
    for t in tags:
        if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


def make_doc(vocab: Vocab, sents: list[dict]) -> Doc:
    words, spaces, lemmas, pos, morphs, heads, deps, ents, starts = [], [], [], [], [], [], [], [], []
    for s in sents:
        off = len(words)
        words += s["words"]
        spaces += s["spaces"]
        lemmas += s["lemmas"]
        pos += s["pos"]
        morphs += s["morphs"]
        for i, (h, d) in enumerate(zip(s["heads"], s["deps"], strict=True)):
            if h == 0:
                heads.append(off + i)
                deps.append("ROOT")
            else:
                heads.append(off + h - 1)
                deps.append(d)
        ents += fix_iob_sequence(s["ents"])
        starts += [True] + [False] * (len(s["words"]) - 1)
    return Doc(
        vocab,
        words=words,
        spaces=spaces,
        lemmas=lemmas,
        pos=pos,
        morphs=morphs,
        heads=heads,
        deps=deps,
        ents=ents,
        sent_starts=starts,
    )


def write(path: Path, groups: list[list[dict]]) -> tuple[int, int, int]:
    vocab = Vocab()
    db = DocBin(store_user_data=False)
    n_s = n_w = 0
    for g in groups:
        db.add(make_doc(vocab, g))
        n_s += len(g)
        n_w += sum(len(s["words"]) for s in g)
    path.parent.mkdir(parents=True, exist_ok=True)
    db.to_disk(path)
    return len(groups), n_s, n_w


def chunk(sents: list[dict], n: int) -> list[list[dict]]:
    return [sents[i : i + n] for i in range(0, len(sents), n)]


def ner_doc(vocab: Vocab, sents: list[list[ndt2ud.Tok]]) -> Doc:
    """Words, sentence starts and NorNE entities only: what the NER's own training reads."""
    words, ents, starts = [], [], []
    for s in sents:
        words += [t.form for t in s]
        ents += fix_iob_sequence([fix_iob(t.ner) for t in s])
        starts += [True] + [False] * (len(s) - 1)
    spaces = [sp for s in sents for sp in guess_spaces([t.form for t in s])]
    return Doc(vocab, words=words, spaces=spaces, ents=ents, sent_starts=starts)


def write_ner_train(norne: Path, path: Path, n_sents: int, max_files: int | None, nynorsk: bool) -> tuple:
    """The NER's training set: the Bokmål NDT train range and, with ``nynorsk``, the Nynorsk NDT files of the UD
    train range (names, places and organisations are largely the same in both written standards)."""
    files = [(f, set()) for f in splits.ndt_files(norne, "train")[:max_files]]
    if nynorsk:
        files += splits.nynorsk_train_files(norne, ndt2ud.read_conll, max_files)
    vocab = Vocab()
    db = DocBin(store_user_data=False)
    n_docs = n_s = n_w = 0
    for f, drop in files:
        sents = [s for i, s in enumerate(ndt2ud.read_conll(str(f))) if i not in drop]
        for group in chunk(sents, n_sents):
            db.add(ner_doc(vocab, group))
            n_docs += 1
            n_s += len(group)
            n_w += sum(len(s) for s in group)
    db.to_disk(path)
    return n_docs, n_s, n_w


def convert(norne: Path, out: Path, n_sents: int = 10, max_files: int | None = None, nynorsk: bool = True) -> dict:
    """Write the DocBins (``train-ner``: the NER's own training set, with the Nynorsk train range when
    ``nynorsk``); ``max_files`` keeps only that many NDT files per split (and 50 UD sentences per file)
    for a quick smoke run of the whole recipe."""
    stats = {}
    # NDT ranges: group sentences per file, n_sents per doc
    for split, name in (("train", "train"), ("dev", "dev-ndt")):
        groups = []
        labels = Counter()
        for f in splits.ndt_files(norne, split)[:max_files]:
            sents = [sent_from_ndt(s) for s in ndt2ud.read_conll(str(f))]
            for s in sents:
                labels.update(s["deps"])
            groups += chunk(sents, n_sents)
        stats[name] = write(out / f"{name}.spacy", groups)
    stats["train-ner"] = write_ner_train(norne, out / "train-ner.spacy", n_sents, max_files, nynorsk)
    for split in ("dev", "test"):
        sents = read_ud(norne / "ud" / "nob" / f"no_bokmaal-ud-{split}.conllu")
        if max_files is not None:
            sents = sents[: 50 * max_files]
        stats[split] = write(out / f"{split}.spacy", chunk(sents, n_sents))
    return stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("norne", type=Path)
    ap.add_argument("--out", type=Path, default=Path("/tmp/tiltak-train/corpus"))
    ap.add_argument("--n-sents", type=int, default=10)
    a = ap.parse_args()
    for name, (docs, sents, words) in convert(a.norne, a.out, a.n_sents).items():
        print(f"{name:8} {docs:6} docs {sents:6} sentences {words:7} words -> {a.out / (name + '.spacy')}")


if __name__ == "__main__":
    main()
