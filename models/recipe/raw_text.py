"""Raw Norwegian text for pretraining the NER's tok2vec (``spacy pretrain``, characters objective).

    python models/recipe/raw_text.py /work/shared/corpora/norne /tmp/tiltak-train/corpus/raw-text.jsonl

Three sources, all read from ../shared (their texts never enter the repository; only the weights pretrained on
them do):

* the sentences of the NDT *train* range, Bokmål and Nynorsk (the same files the NER trains on; never a UD dev or
  test sentence),
* the policy pages (corpora/policy-pages) of the development sites only: a page whose site is held out by the
  measure recipe (``models/measures/train.py``: ``sha256(site)[:8] % 3 == 0``) is left out,
* the Norwegian real documents (corpora/real-docs: PDFs and the DOCX read by tiltak's own loader; the English AI
  strategy and the scanned chapter without a text layer give nothing Norwegian and are skipped).

Any paragraph that contains a sentence of the UD Bokmål/Nynorsk dev or test files (by its space-joined word forms
or its text) is dropped as well, so nothing the NER is selected or evaluated on is pretrained on.
Writes JSONL, one ``{"text": ...}`` per paragraph (NDT: ``n_sents`` sentences per line).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REPO = HERE.parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Real documents that are not Norwegian text: the government's English edition, a scan without a text layer.
REAL_DOCS_SKIPPED = ("kmd-national-strategy-ai-2020-en.pdf", "scanned-book-chapter-planlovutvalget.pdf")
MIN_CHARS = 40  # shorter blocks are page furniture (headers, page numbers, menu lines)


def held_out_site(site: str) -> bool:
    """The measure recipe's held-out sites (models/measures/train.py), repeated here so this file stays
    importable without scikit-learn."""
    return int(hashlib.sha256(site.encode()).hexdigest()[:8], 16) % 3 == 0


def ud_held_out_texts(norne: Path) -> set[str]:
    """The UD dev and test sentences (Bokmål and Nynorsk) as space-joined word forms and as their text."""
    import convert_ndt

    held = set()
    for lang, prefix in (("nob", "no_bokmaal"), ("nno", "no_nynorsk")):
        for split in ("dev", "test"):
            path = norne / "ud" / lang / f"{prefix}-ud-{split}.conllu"
            for rows in convert_ndt.conllu_rows(path):
                held.add(" ".join(r[1] for r in rows))
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("# text = "):
                    held.add(line[len("# text = "):].strip())
    return held


def ndt_train_texts(norne: Path, n_sents: int = 10, max_files: int | None = None) -> list[str]:
    """The NDT train range (Bokmål, and the Nynorsk files of the UD train range) as detokenised paragraphs."""
    import convert_ndt
    import ndt2ud
    import splits

    files = [(f, set()) for f in splits.ndt_files(norne, "train")[:max_files]]
    files += splits.nynorsk_train_files(norne, ndt2ud.read_conll, max_files)
    out = []
    for f, drop in files:
        sents = [s for i, s in enumerate(ndt2ud.read_conll(str(f))) if i not in drop]
        for group in convert_ndt.chunk(sents, n_sents):
            parts = []
            for s in group:
                words = [t.form for t in s]
                spaces = convert_ndt.guess_spaces(words)
                parts.append("".join(w + (" " if sp else "") for w, sp in zip(words, spaces, strict=True)))
            out.append(" ".join(p.strip() for p in parts))
    return out


def policy_page_ids(pages: Path) -> list[str]:
    """The ids of the policy pages on development sites (index-a and index-b, held-out sites left out)."""
    ids = []
    for name in ("index-a.jsonl", "index-b.jsonl"):
        for line in (pages / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if not held_out_site(row["site"]):
                    ids.append(row["id"])
    return ids


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, each joined into one line."""
    blocks, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))
    return blocks


def policy_page_texts(pages: Path, max_files: int | None = None) -> list[str]:
    out = []
    for page_id in policy_page_ids(pages)[:max_files]:
        out += paragraphs((pages / "texts" / f"{page_id}.txt").read_text(encoding="utf-8"))
    return out


def real_doc_files(real_docs: Path) -> list[Path]:
    return sorted(p for p in real_docs.iterdir()
                  if p.suffix.lower() in (".pdf", ".docx") and p.name not in REAL_DOCS_SKIPPED)


def real_doc_texts(real_docs: Path, max_chars: int = 1200, max_files: int | None = None) -> list[str]:
    """The Norwegian real documents read by tiltak's loader: lines joined into blocks at paragraph gaps, page
    breaks, headings and list items, a block cut at about ``max_chars``."""
    from pipeline.reading.loaders import load_document

    out = []
    for path in real_doc_files(real_docs)[:max_files]:
        doc = load_document(path, progress=lambda *_: None)
        current: list[str] = []
        page = None
        for line in doc.lines:
            text = line.text.strip()
            breaks = line.blank_before or line.page != page or line.kind is not None
            page = line.page
            if current and (breaks or sum(len(t) for t in current) > max_chars):
                out.append(_join(current))
                current = []
            if text:
                current.append(text)
        if current:
            out.append(_join(current))
    return out


def _join(lines: list[str]) -> str:
    """Join printed lines, undoing end-of-line hyphenation of a lower-case word ("for-" + "slag")."""
    text = lines[0]
    for nxt in lines[1:]:
        if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and nxt[:1].islower():
            text = text[:-1] + nxt
        else:
            text += " " + nxt
    return text


def build(norne: Path, out: Path, pages: Path | None = None, real_docs: Path | None = None,
          max_files: int | None = None) -> dict[str, int]:
    """Write the pretraining JSONL; the policy pages and real documents default to norne's sibling corpora;
    ``max_files`` keeps only that many files of each source (smoke runs)."""
    pages = pages or norne.parent / "policy-pages"
    real_docs = real_docs or norne.parent / "real-docs"
    held = ud_held_out_texts(norne)
    sources = {"ndt-train": ndt_train_texts(norne, max_files=max_files),
               "policy-pages": policy_page_texts(pages, max_files),
               "real-docs": real_doc_texts(real_docs, max_files=max_files)}
    stats = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for name, texts in sources.items():
            kept = [t for t in texts if len(t) >= MIN_CHARS and not any(h in t for h in _candidates(t, held))]
            for t in kept:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
            stats[name] = len(kept)
            stats[name + "-words"] = sum(len(t.split()) for t in kept)
            stats[name + "-dropped"] = len(texts) - len(kept)
    return stats


def _candidates(text: str, held: set[str]) -> list[str]:
    """The held-out sentences that could be inside ``text``: a substring test against all of them would be slow,
    so only those whose first five characters occur in it (a cheap prefilter over a prefix index)."""
    index = _prefix_index(held)
    found = []
    for i in range(len(text) - 4):
        found += index.get(text[i:i + 5], ())
    return found


_PREFIX_CACHE: dict[int, dict[str, list[str]]] = {}


def _prefix_index(held: set[str]) -> dict[str, list[str]]:
    key = id(held)
    if key not in _PREFIX_CACHE:
        index: dict[str, list[str]] = {}
        for h in held:
            if len(h) >= 25:  # short sentences ("Takk.") recur everywhere and say nothing about the held-out files
                index.setdefault(h[:5], []).append(h)
        _PREFIX_CACHE[key] = index
    return _PREFIX_CACHE[key]


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("norne", type=Path)
    ap.add_argument("out", type=Path)
    a = ap.parse_args()
    print(build(a.norne, a.out))


if __name__ == "__main__":
    main()
