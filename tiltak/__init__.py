"""tiltak's Python API: Norwegian policy documents in, measures, actors and commitments out.

    >>> import tiltak
    >>> result = tiltak.analyse_text("Regjeringen vil:\\n\\n- etablere et nytt senter for helsedata\\n")
    >>> [measure.text for measure in result.measures]
    ['etablere et nytt senter for helsedata']

Five names:

``analyse(path, **options)``
    One document (PDF, HTML, DOCX, text) → a :class:`DocumentResult`, the same model as the JSON files
    ``tiltak run`` writes (``pipeline/schemas/tiltak-document-<version>.schema.json``), with the file's
    ``NAME.meta.toml`` / ``metadata.csv`` corrections applied.
``analyse_text(text, *, title=None, language=None, **options)``
    A string → a :class:`DocumentResult` whose ``text`` is the string given and whose offsets point into it.
``read_outputs(folder, *, as_pandas=False)``
    The datasets of an output folder (``measures``, ``actors``, ``commitments`` …) as pyarrow tables, or pandas
    DataFrames with nullable dtypes (``pip install 'tiltak[pandas]'``).
``compare(a, b, *more)``
    Which measures continue, changed, are new or were dropped from one document to the next.
``__version__``
    The installed version.

``options`` are the settings of ``tiltak run --config`` (:class:`pipeline.config.PipelineConfig`): ``nlp`` ("best",
a spaCy package or folder, "blank"), ``taxonomy``, ``classifier``, ``pdf_backend``, ``ocr``, ``measure_detector`` …
The spaCy pipeline and the classifier are loaded on first use and kept for the life of the process, so analysing
many texts costs the loading once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import __version__
from pipeline.schema import DocumentResult

if TYPE_CHECKING:
    import pyarrow

    from pipeline.research.compare import ComparisonResult

__all__ = ["DocumentResult", "__version__", "analyse", "analyse_text", "compare", "read_outputs"]


def _config(options: dict[str, Any]):
    from pipeline.config import PipelineConfig

    return PipelineConfig(**options)


def analyse(path: str | Path, **options: Any) -> DocumentResult:
    """Analyse one document file and return its result.

    ``path``: a PDF, HTML, DOCX, text or Markdown file (the format is read from the content). ``options``: pipeline
    settings, e.g. ``nlp="blank"`` (fast, tokenizer only) or ``pdf_backend="pypdfium2"``. The result's
    ``document`` carries the corrections of a ``NAME.meta.toml`` beside the file or a ``metadata.csv`` in its folder.

    Raises :class:`pipeline.errors.DocumentError` (its message names the file, the stage and the reason) for a
    document that cannot be analysed, and ``pydantic.ValidationError`` for an unknown or bad option.
    """
    from pipeline.analysis.process import analyse_document
    from pipeline.reading.document_info import apply_overrides

    path = Path(path)
    result = analyse_document(path, _config(options))
    document = apply_overrides(result.document.model_dump(mode="json"), path)
    return result.model_copy(update={"document": type(result.document).model_validate(document)})


def analyse_text(text: str, *, title: str | None = None, language: str | None = None,
                 **options: Any) -> DocumentResult:
    """Analyse a string as a plain-text document and return its result.

    The result is the model ``analyse`` returns; its ``text`` is ``text`` itself and every ``start``/``end`` is an
    offset into it (``text[m.start:m.end] == m.text``). Blocks are separated by blank lines, list items start with
    "-", "•", "1." …, and a line ending in ":" introduces a list, as in a text file. ``title`` sets the document's
    title (default: its first heading or line); ``language`` ("nb", "nn") sets its written standard instead of
    detecting it. Nothing is written to disk.
    """
    import hashlib

    from pipeline.analysis.process import analyse_source
    from pipeline.reading.loaders import text as text_loader
    from pipeline.schema import Language

    if not isinstance(text, str):
        raise TypeError(f"analyse_text needs a str, not {type(text).__name__}")
    if language is not None and language not in {item.value for item in Language}:
        raise ValueError(f"language must be one of {', '.join(item.value for item in Language)}, not {language!r}")
    config = _config(options)
    data = text.encode("utf-8")
    name = Path("text.txt")  # never opened: it names the document in messages and in document.file_name
    source = text_loader.read(name, data)
    source.sha256, source.size_bytes = hashlib.sha256(data).hexdigest(), len(data)
    if title is not None:
        source.title = title
    result = analyse_source(source, config)
    document = result.document.model_copy(update={"source_path": "<text>", "id": "text"})
    if language is not None:
        document.language = language
    return _offsets_into(result.model_copy(update={"document": document}), text)


def _offsets_into(result: DocumentResult, original: str) -> DocumentResult:
    """``result`` (offsets into its normalised text) with ``text`` the original string and every span moved into
    it. When the two cannot be aligned item by item, the normalised text is kept, with a warning saying so."""
    from pipeline.reading.text_offsets import remap_result

    return remap_result(result, original)


def read_outputs(folder: str | Path, *, as_pandas: bool = False) -> dict[str, Any]:
    """The datasets of an output folder (written by ``tiltak run``), by table name.

    Tables: the ones ``tiltak export`` writes (``documents``, ``measures``, ``measure_actors``, ``actors``,
    ``commitments`` …; see the README's Datasets section). When the folder holds an export (``datasets/`` with
    Parquet files, or Parquet files in the folder itself) those files are read; otherwise the tables are built from
    the document JSONs in memory. pyarrow tables by default; with ``as_pandas=True`` pandas DataFrames whose
    integer and boolean columns are nullable (``Int64``, ``boolean``) and text columns ``string``.
    """
    import pyarrow.parquet as pq

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    exported = next((place for place in (folder / "datasets", folder) if any(place.glob("*.parquet"))), None)
    if exported is not None:
        tables = {path.stem: pq.read_table(path) for path in sorted(exported.glob("*.parquet"))}
    else:
        tables = _tables_in_memory(folder)
    if not as_pandas:
        return tables
    return {name: _to_pandas(table) for name, table in tables.items()}


def _tables_in_memory(folder: Path) -> dict[str, pyarrow.Table]:
    import tempfile

    import pyarrow.parquet as pq

    from pipeline.research.export import collect, write_exports

    collected = collect(folder)
    if not collected.rows["documents"]:
        raise FileNotFoundError(f"{folder}: no tiltak document JSON (write some with `tiltak run --out {folder}`)")
    # The export's own writer keeps the tables and their types exactly as `tiltak export` writes them.
    with tempfile.TemporaryDirectory(prefix="tiltak-read-outputs-") as scratch:
        write_exports(collected, Path(scratch))
        return {path.stem: pq.read_table(path).combine_chunks() for path in sorted(Path(scratch).glob("*.parquet"))}


def _to_pandas(table: pyarrow.Table):
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("as_pandas=True needs pandas: pip install 'tiltak[pandas]'") from exc
    import pyarrow as pa

    def dtype(arrow_type):
        if pa.types.is_integer(arrow_type):
            return pd.Int64Dtype()
        if pa.types.is_boolean(arrow_type):
            return pd.BooleanDtype()
        if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            return pd.StringDtype()
        if pa.types.is_floating(arrow_type):
            return pd.Float64Dtype()
        return None

    return table.to_pandas(types_mapper=dtype)


def compare(a: str | Path | DocumentResult, b: str | Path | DocumentResult,
            *more: str | Path | DocumentResult) -> ComparisonResult:
    """Compare documents in the order given, each with the next (a→b, b→c …).

    Each of ``a``, ``b`` … is a :class:`DocumentResult` (from ``analyse`` or ``analyse_text``) or the path of a
    document JSON written by ``tiltak run``. Returns :class:`pipeline.research.compare.ComparisonResult`: per pair, the
    measures ``continued``, ``modified`` (with what changed), ``new`` and ``dropped``, and the shifts in focus areas,
    strengths and actors (``tiltak compare`` writes the same as JSON).
    """
    from pipeline.research.compare import compare_documents, load_result

    results = [item if isinstance(item, DocumentResult) else load_result(Path(item)) for item in (a, b, *more)]
    return compare_documents(results)
