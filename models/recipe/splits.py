"""The UD_Norwegian-Bokmaal train/dev/test split, by NDT file name.

From the UD_Norwegian-Bokmaal README (see the corpus SOURCE.md).  One
correction found by aligning the NDT files with the UD dev file: the SOURCE
lists ``kk006_0000`` at the start of the dev range, but its 98 sentences are
not in the UD dev file; with it the train range has exactly the 15,696
sentences of UD train (15,598 + 98), so it belongs to train.
"""

from __future__ import annotations

import re
from pathlib import Path

# (prefix, first, last) with (number, letter suffix, part)
TRAIN_RANGES = [
    ("ap", (1, "", 0), (12, "", 2)),
    ("bt", (1, "", 0), (5, "", 1)),
    ("db", (1, "a", 0), (13, "", 4)),
    ("kk", (1, "", 0), (6, "", 0)),  # incl. kk006_0000, see module doc
    ("sp-bm", (1, "", 0), (1, "", 8)),
    ("vg", (1, "", 0), (2, "", 3)),
    ("blogg-bm", (1, "", 0), (3, "", 0)),
    ("nou", (1, "", 0), (4, "", 0)),
    ("st", (1, "", 0), (5, "", 0)),
]
DEV_RANGES = [
    ("ap", (12, "", 3), (14, "", 2)),
    ("bt", (5, "", 2), (5, "", 5)),
    ("db", (13, "", 5), (14, "", 2)),
    ("kk", (6, "", 1), (7, "", 0)),
    ("sp-bm", (2, "", 0), (2, "", 1)),
    ("vg", (2, "", 4), (2, "", 4)),
    ("blogg-bm", (3, "", 1), (3, "", 2)),
    ("nou", (4, "", 1), (4, "", 1)),
    ("st", (5, "", 1), (5, "", 2)),
]

_NAME = re.compile(r"^(?P<p>[a-z-]+?)(?P<n>\d+)(?P<s>[a-z]?)_(?P<part>\d+)$")


def _key(stem: str):
    m = _NAME.match(stem)
    if not m:
        return None
    return m["p"], (int(m["n"]), m["s"], int(m["part"]))


def _in(ranges, stem: str) -> bool:
    k = _key(stem)
    if k is None:
        return False
    p, v = k
    return any(p == rp and lo <= v <= hi for rp, lo, hi in ranges)


def split_of(stem: str) -> str:
    if _in(TRAIN_RANGES, stem):
        return "train"
    if _in(DEV_RANGES, stem):
        return "dev"
    return "test"


def ndt_files(norne: str | Path, split: str) -> list[Path]:
    files = sorted(Path(norne, "ndt", "nob").glob("*.conll"))
    return [f for f in files if split_of(f.stem) == split]


# A Nynorsk NDT file with more held-out sentences than this belongs to UD dev/test as a whole; below it, the few
# matches are short sentences that recur across texts ("Takk."), dropped one by one.
HELD_OUT_SENTENCES_PER_FILE = 5


def nynorsk_held_out_sentences(norne: str | Path) -> set[str]:
    """The space-joined word forms of every sentence of the UD Nynorsk dev and test files."""
    import convert_ndt

    held = set()
    for split in ("dev", "test"):
        for rows in convert_ndt.conllu_rows(Path(norne, "ud", "nno", f"no_nynorsk-ud-{split}.conllu")):
            held.add(" ".join(r[1] for r in rows))
    return held


def nynorsk_train_files(norne: str | Path, read_conll, limit: int | None = None) -> list[tuple[Path, set[int]]]:
    """The Nynorsk NDT files of the UD train range, each with the indexes of its sentences to drop.

    The UD_Norwegian-Nynorsk split is by file too, but its ranges are not in the corpus snapshot: it is found by
    sentence text against the UD Nynorsk dev/test files, so no dev/test sentence is ever trained on."""
    held = nynorsk_held_out_sentences(norne)
    out = []
    for f in sorted(Path(norne, "ndt", "nno").glob("*.conll")):
        texts = [" ".join(t.form for t in s) for s in read_conll(str(f))]
        drop = {i for i, t in enumerate(texts) if t in held}
        if len(drop) <= HELD_OUT_SENTENCES_PER_FILE:
            out.append((f, drop))
            if limit is not None and len(out) >= limit:
                break
    return out
