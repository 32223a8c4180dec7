"""The model card (models/<name>/README.md) of the shipped Norwegian pipeline, from its test metrics.

The table sets the pipeline's figures on the UD Norwegian Bokmål *test* split beside upstream
nb_core_news_sm 3.8.0 (from ../shared/corpora/norne/SOURCE.md) and the project's targets; a missed target
is stated with its gap.
"""

from __future__ import annotations

import json
from pathlib import Path

UPSTREAM_SM = {"pos_acc": 0.967, "morph_acc": 0.953, "lemma_acc": 0.968, "dep_uas": 0.881, "dep_las": 0.848,
               "sents_f": 0.926, "ents_f": 0.748, "words_per_sec": 10827, "size_mb": 11}
TARGETS = {"pos_acc": 0.96, "lemma_acc": 0.96, "dep_las": 0.80, "sents_f": 0.92, "ents_f": 0.75,
           "words_per_sec": 8000, "size_mb": 25}
ROWS = [("POS (UPOS) accuracy", "pos_acc"), ("Morphology (UD features) accuracy", "morph_acc"),
        ("Lemma accuracy", "lemma_acc"), ("UAS", "dep_uas"), ("LAS", "dep_las"), ("Sentence F", "sents_f"),
        ("NER F (overall)", "ents_f"), ("Speed (words/s, one process, this machine)", "words_per_sec"),
        ("Size on disk (MB)", "size_mb")]
LOWER_IS_BETTER = {"size_mb"}


def _figures(metrics: dict) -> dict:
    return {**{key: metrics.get(key) for _, key in ROWS},
            "words_per_sec": metrics.get("speed", {}).get("words_per_sec"), "size_mb": metrics.get("size_mb")}


def _fmt(key: str, value) -> str:
    if value is None:
        return "–"
    if key == "words_per_sec":
        return f"{value:,.0f}"
    if key == "size_mb":
        return f"{value:.1f}"
    return f"{value:.3f}"


def missed_targets(metrics: dict) -> dict[str, tuple[float, float]]:
    figures = _figures(metrics)
    missed = {}
    for key, target in TARGETS.items():
        value = figures.get(key)
        if value is None:
            continue
        if (value > target) if key in LOWER_IS_BETTER else (value < target):
            missed[key] = (value, target)
    return missed


def render_card(meta: dict, metrics: dict, notes: list[str], reasons: dict[str, str] | None = None) -> str:
    reasons = reasons or {}
    figures = _figures(metrics)
    lines = [
        f"# {meta['lang']}_{meta['name']} {meta['version']}",
        "",
        meta.get("description", ""),
        "",
        f"License: {meta.get('license', '')}. Sources: "
        + ", ".join(source["name"] for source in meta.get("sources", [])) + ".",
        "",
        "Built by `tiltak train-nlp` (recipe: `models/recipe/`). Trained on the NDT files of the UD train range "
        "(converted NDT → UD by `models/recipe/ndt2ud.py`, with NDT lemmas and NorNE entities; the NER also on the "
        "Nynorsk NDT files of the UD train range); model selection on the UD Bokmål dev file; evaluated once on the "
        "UD test file, which it never saw in training.",
        "",
        "## Evaluation on UD Norwegian Bokmål test (`ud/nob/no_bokmaal-ud-test.conllu`)",
        "",
        "| metric | this pipeline | nb_core_news_sm 3.8.0 | target |",
        "|---|---|---|---|",
    ]
    for label, key in ROWS:
        target = TARGETS.get(key)
        target_text = "–" if target is None else (f"≤ {target}" if key in LOWER_IS_BETTER else
                                                   f"≥ {_fmt(key, target)}")
        lines.append(f"| {label} | {_fmt(key, figures.get(key))} | {_fmt(key, UPSTREAM_SM.get(key))} | "
                     f"{target_text} |")
    per_type = metrics.get("ents_per_type") or {}
    if per_type:
        lines += ["", "### NER per label (F / P / R)", "", "| label | F | P | R |", "|---|---|---|---|"]
        for label, scores in sorted(per_type.items()):
            lines.append(f"| {label} | {scores['f']:.3f} | {scores['p']:.3f} | {scores['r']:.3f} |")
    missed = missed_targets(metrics)
    lines += ["", "## Targets", ""]
    if not missed:
        lines.append("All targets met.")
    labels = {key: label for label, key in ROWS}
    for key, (value, target) in missed.items():
        reason = reasons.get(key, "see the notes below")
        lines.append(f"- **Missed: {labels[key]}** {_fmt(key, value)} against {_fmt(key, target)} "
                     f"(gap {_fmt(key, abs(target - value))}). Why: {reason}")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    lines += ["", f"Speed measured on {metrics.get('speed', {}).get('n_words', '?')} words of the test texts with "
                  "`nlp.pipe` in one process; `benchmarks/nlp_speed.py` measures it on policy-style text.", ""]
    return "\n".join(lines)


def write_card(model_dir: Path, metrics_path: Path, notes: list[str], reasons: dict[str, str] | None = None) -> Path:
    meta = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    card = model_dir / "README.md"
    card.write_text(render_card(meta, metrics, notes, reasons), encoding="utf-8")
    (model_dir / "evaluation.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    return card
