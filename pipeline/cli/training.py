"""Training and evaluating the models: ``tiltak train-nlp``, ``evaluate``, ``train-classifier``,
``train-measures`` and ``train-policy-area``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.console import console, fail
from pipeline.cli.group import app, use_prefect_api
from pipeline.errors import TiltakError

DEFAULT_NORNE = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "norne"


@app.command("train-nlp")
def train_nlp(
    corpus: Annotated[Path, typer.Option(help="The NorNE / NDT corpus folder (read-only).")] = DEFAULT_NORNE,
    work: Annotated[Path, typer.Option(help="Where converted data and checkpoints go (never the repo).")] = (
        Path("/tmp/tiltak-train")),
    stages: Annotated[str, typer.Option(
        help="Comma-separated: convert,train,pretrain,train-ner,finalize,evaluate,install.")] = (
        "convert,train,pretrain,train-ner,finalize,evaluate,install"),
    max_minutes: Annotated[float | None, typer.Option(help="Wall-clock budget for the training stage.")] = None,
    dest: Annotated[Path | None, typer.Option(help="Install the model here (default models/nb_tiltak_core).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Override the config's training.max_steps.")] = None,
    max_files: Annotated[int | None, typer.Option(help="Use only this many NDT files per split (smoke runs).")] = None,
) -> None:
    """Train, evaluate and install the project's Norwegian spaCy pipeline from NorNE (recipe: models/recipe/)."""
    import subprocess

    if not (corpus / "SOURCE.md").is_file():
        raise fail(f"{corpus}: not the NorNE corpus folder (no SOURCE.md); pass --corpus")
    recipe = Path(__file__).resolve().parents[2] / "models" / "recipe" / "train.py"
    command = [sys.executable, str(recipe), str(corpus), "--work", str(work), "--stages", stages]
    if max_minutes is not None:
        command += ["--max-minutes", str(max_minutes)]
    if dest is not None:
        command += ["--dest", str(dest)]
    if max_files is not None:
        command += ["--max-files", str(max_files)]
    if max_steps is not None:
        command += ["--training.max_steps", str(max_steps),
                    "--training.eval_frequency", str(max(1, min(500, max_steps // 2)))]
    raise typer.Exit(subprocess.run(command, check=False).returncode)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


@app.command()
def evaluate(
    gold_dir: Annotated[Path, typer.Argument(help="Folder with NAME.txt and NAME.gold.json pairs.")],
    nlp: Annotated[str, typer.Option(help="spaCy pipeline (see `tiltak run --help`).")] = "best",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    details: Annotated[bool, typer.Option(help="List missed and spurious measures and actors.")] = False,
) -> None:
    """Score the pipeline against gold annotations: measures, strength, focus area, actors."""
    from pipeline.analysis.evaluation import evaluate as run_evaluation
    from pipeline.analysis.evaluation import gold_pairs
    from pipeline.analysis.process import analyse_document
    from pipeline.config import PipelineConfig

    if not gold_dir.is_dir():
        raise fail(f"{gold_dir}: no such folder")
    if not gold_pairs(gold_dir):
        raise fail(f"{gold_dir}: no NAME.txt with a NAME.gold.json beside it")
    config = PipelineConfig(nlp=nlp)
    try:
        evaluation = run_evaluation(gold_dir, lambda path: analyse_document(path, config))
        classifier = _classifier_figures(config)
    except TiltakError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print(json.dumps({**evaluation.to_json(), "classifier": classifier}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Evaluation on {gold_dir}")
    for column in ("document", "measure P", "R", "F1", "strength acc", "focus acc", "top-2", "actor P", "R", "F1"):
        table.add_column(column, justify="left" if column == "document" else "right")
    for score in [*evaluation.documents, evaluation.overall()]:
        m, a = score.measures, score.actors
        table.add_row(score.name, _percent(m.precision), _percent(m.recall), _percent(m.f1),
                      _percent(score.strength.value), _percent(score.focus_area.value),
                      _percent(score.focus_area_top2.value), _percent(a.precision), _percent(a.recall),
                      _percent(a.f1), style="bold" if score.name == "overall" else None)
    console.print(table)
    held_out = classifier["held_out_test"]
    console.print(f"Focus-area classifier {classifier['name']} {classifier['version']}: cross-validated macro-F1 "
                  f"{classifier['cv_macro_f1']:.3f}, top-2 {classifier['cv_top2_accuracy']:.3f}"
                  + (f"; held-out real-document test ({held_out['examples']} measures): top-1 "
                     f"{held_out['top1_accuracy']:.3f}, top-2 {held_out['top2_accuracy']:.3f}" if held_out else ""),
                  highlight=False)
    if details:
        for score in evaluation.documents:
            for label, items in (("missed", score.missed), ("spurious", score.spurious),
                                 ("missed actor", score.missed_actors), ("spurious actor", score.spurious_actors)):
                for item in items:
                    console.print(f"{score.name}: {label}: {item}", markup=False, highlight=False)


def _classifier_figures(config) -> dict:
    """Card metrics of the classifier in use, and its scores on the shipped held-out test set when it classifies
    into the shipped taxonomy."""
    from models.focus_area.train import DEFAULT_TEST
    from pipeline.analysis.classify import load_classifier
    from pipeline.analysis.evaluation import classifier_figures
    from pipeline.analysis.taxonomy import DEFAULT_TAXONOMY

    classifier = load_classifier(config.classifier, config.taxonomy)
    shipped_taxonomy = Path(config.taxonomy or DEFAULT_TAXONOMY).resolve() == DEFAULT_TAXONOMY.resolve()
    return classifier_figures(config.classifier, classifier, DEFAULT_TEST if shipped_taxonomy else None)


@app.command("train-classifier")
def train_classifier(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option(help="Labelled measures (JSONL: text, label).")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy YAML (default: the shipped one).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default models/focus_area).")] = None,
    version: Annotated[str, typer.Option(help="Version written into the card.")] = "1.0.0",
    test: Annotated[Path | None, typer.Option(
        help="Held-out labelled measures to score the model on (default: the shipped real-document test set, "
             "with the shipped taxonomy).")] = None,
) -> None:
    """Train the focus-area classifier (a Prefect flow): cross-validated metrics, held-out test, threshold, skops
    artifact, card."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from models.focus_area.train import DEFAULT_DATA, DEFAULT_OUT, DEFAULT_TEST

    data = data or DEFAULT_DATA
    if test is None and taxonomy is None and DEFAULT_TEST.is_file():
        test = DEFAULT_TEST
    for path in (data, taxonomy, test):
        if path is not None and not path.is_file():
            raise fail(f"{path}: no such file")
    use_prefect_api(ctx)
    from flows import train_classifier as train_flow

    try:
        card = train_flow(data=str(data), out=str(out or DEFAULT_OUT), taxonomy=str(taxonomy) if taxonomy else None,
                          version=version, test=str(test) if test else None)
    except (TiltakError, ValueError) as exc:
        raise fail(str(exc)) from exc
    metrics = card["metrics"]
    held_out = metrics.get("held_out_test")
    tested = (f", held-out test top-1 {held_out['top1_accuracy']:.3f}, top-2 {held_out['top2_accuracy']:.3f}"
              if held_out else "")
    console.print(f"{card['name']} {card['version']}: {card['training_data']['examples']} examples, "
                  f"cross-validated macro-F1 {metrics['cv_macro_f1']:.3f}, top-2 {metrics['cv_top2_accuracy']:.3f}"
                  f"{tested}, threshold {card['threshold']} → {out or DEFAULT_OUT}", highlight=False)
    from pipeline.analysis.classify import trust_list_path

    console.print(f"trusted on this machine (sha256 {card['artifact_sha256'][:12]}… recorded in {trust_list_path()}); "
                  "elsewhere it loads only with --trust-classifier", highlight=False)


@app.command("train-measures")
def train_measures(
    annotations: Annotated[Path | None, typer.Option(
        help="Folder of page annotations (default corpus/annotations/policy-pages: adjudicated/ where a page has "
        "one, else first/; texts from ../shared).",
    )] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default models/measures).")] = None,
    folds: Annotated[int, typer.Option(help="Grouped cross-validation folds (by site).", min=3)] = 5,
) -> None:
    """Train the measure detector (a Prefect flow): grouped cross-validated figures beside the rules', seeds,
    threshold, skops artifact, card."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows import train_measures as train_flow
    from models.measures.train import DEFAULT_ANNOTATIONS, HERE

    annotations = annotations or DEFAULT_ANNOTATIONS
    if not annotations.is_dir():
        raise fail(f"{annotations}: no such folder")
    try:
        card = train_flow(annotations=str(annotations), out=str(out or HERE), folds=folds)
    except (TiltakError, ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    model, rules = card["evaluation"]["model"]["overall"], card["evaluation"]["rules"]["overall"]
    console.print(f"{card['name']} {card['version']}: {card['training_data']['pages']} pages, grouped cross-validated "
                  f"F1 {model['f1']:.3f} (precision {model['precision']:.3f}, recall {model['recall']:.3f}; rules "
                  f"{rules['f1']:.3f}), threshold {card['threshold']} → {out or HERE}", highlight=False)


@app.command("train-policy-area")
def train_policy_area(
    annotations: Annotated[Path | None, typer.Option(
        help="Folder of page annotations (default corpus/annotations/policy-pages: adjudicated, else first).")] = None,
    texts: Annotated[Path | None, typer.Option(
        help="Folder of the annotated pages' texts (default ../shared/corpora/policy-pages/texts).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default models/policy_area).")] = None,
    folds: Annotated[int, typer.Option(help="Grouped cross-validation folds (by site).", min=2)] = 5,
) -> None:
    """Train the policy-area (CAP major topic) classifier (a Prefect flow): grouped cross-validated top-1/top-2,
    skops artifact, card."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows import train_policy_area as train_flow
    from models.policy_area.train import DEFAULT_ANNOTATIONS, DEFAULT_TEXTS, HERE

    annotations, texts = annotations or DEFAULT_ANNOTATIONS, texts or DEFAULT_TEXTS
    for folder in (annotations, texts):
        if not folder.is_dir():
            raise fail(f"{folder}: no such folder")
    try:
        card = train_flow(annotations=str(annotations), texts=str(texts), out=str(out or HERE), folds=folds)
    except (TiltakError, ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    overall = card["evaluation"]["cross_validation"]["overall"]
    console.print(f"{card['name']} {card['version']}: {overall['measures']} real measures, grouped cross-validated "
                  f"top-1 {overall['top1_accuracy']:.3f}, top-2 {overall['top2_accuracy']:.3f} → {out or HERE}",
                  highlight=False)
