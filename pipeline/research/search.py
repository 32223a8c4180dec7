"""Full-text search with Norwegian stemming over the exported measures (``tiltak.sqlite``).

SQLite's FTS5 has no Norwegian stemmer, and Python cannot add a tokenizer to it, so the stemming happens here:
the export writes, beside each measure's text, section heading and list intro, a ``stems`` column holding the
same words reduced by the Snowball Norwegian stemmer (``snowballstemmer``, pure Python), and a query is reduced
the same way before it is matched against that column. ``helsedataene``, ``helsedata`` and ``helsedatae`` all
become ``helsedat``; ``kommunane`` (nynorsk) and ``kommunen`` become ``kommun``.

Snowball strips one suffix per word; when that leaves a final vowel it would itself strip from a word ending in it
(``helsedataene`` → ``helsedata``, while ``helsedata`` → ``helsedat``), the stem is taken once more, so a definite
plural meets its indefinite form. Stemming can join words that differ in meaning; to find a word exactly,
search the unstemmed columns (``text``, ``section``, ``intro``) with plain FTS5 syntax.

From Python::

    from pipeline.research.search import search_measures
    rows = search_measures("outputs/datasets/tiltak.sqlite", "helsedataene")

From SQL, after ``register_functions(connection)`` (``tiltak browse`` registers them in Datasette)::

    SELECT m.* FROM measures_fts JOIN measures AS m ON m.rowid = measures_fts.rowid
    WHERE measures_fts MATCH tiltak_match('helsedataene eksport') ORDER BY rank

``tiltak_match`` turns the words of a query into an FTS5 expression on the ``stems`` column: every word must
occur (AND); a word ending in ``*`` is a prefix (``helse*``). ``tiltak_stem(text)`` gives the stems of a text.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

FTS_TABLE = "measures_fts"
STEMS_COLUMN = "stems"
# Words as FTS5's unicode61 tokenizer sees them: runs of letters and digits (an underscore separates).
_WORD = re.compile(r"[^\W_]+")
_QUERY_WORD = re.compile(r"([^\W_]+)(\*?)")
_VOWELS = frozenset("aeiouyæøå")

_lock = threading.Lock()  # a Snowball stemmer object keeps state between calls
_stemmer = None


def _snowball():
    global _stemmer
    if _stemmer is None:
        import snowballstemmer

        _stemmer = snowballstemmer.stemmer("norwegian")
    return _stemmer


@lru_cache(maxsize=65536)
def stem_word(word: str) -> str:
    """The Norwegian stem of one word (lower-cased)."""
    word = word.casefold()
    with _lock:
        stemmer = _snowball()
        stem = stemmer.stemWord(word)
        if stem != word and stem[-1:] in _VOWELS:
            stem = stemmer.stemWord(stem)
    return stem


def stem_text(text: str | None) -> str:
    """Every word of ``text`` stemmed, separated by spaces (empty for no text)."""
    return " ".join(stem_word(word) for word in _WORD.findall(text or ""))


def match_expression(query: str) -> str:
    """An FTS5 MATCH expression for ``query`` on the stems column: all its words, stemmed; ``word*`` a prefix.

    Raises ValueError for a query without a word."""
    terms = []
    for word, star in _QUERY_WORD.findall(query or ""):
        stem = stem_word(word)
        terms.append(f'"{stem}"*' if star else f'"{stem}"')
    if not terms:
        raise ValueError(f"no word to search for in {query!r}")
    return f"{STEMS_COLUMN} : ({' AND '.join(terms)})"


def _sql_match(query: Any) -> str:
    try:
        return match_expression(str(query or ""))
    except ValueError:
        return f'{STEMS_COLUMN} : ""'  # matches nothing, without an FTS5 syntax error


def register_functions(connection: sqlite3.Connection) -> None:
    """Add ``tiltak_stem(text)`` and ``tiltak_match(query)`` to a SQLite connection."""
    connection.create_function("tiltak_stem", 1, stem_text, deterministic=True)
    connection.create_function("tiltak_match", 1, _sql_match, deterministic=True)


SEARCH_SQL = f"""
SELECT m.*, bm25({FTS_TABLE}) AS score
FROM {FTS_TABLE} JOIN measures AS m ON m.rowid = {FTS_TABLE}.rowid
WHERE {FTS_TABLE} MATCH tiltak_match(:q)
ORDER BY score, m.document_id, m.rowid
"""


def search_measures(database: Path | str | sqlite3.Connection, query: str, *, limit: int | None = None
                    ) -> list[dict[str, Any]]:
    """The measures matching ``query`` (stemmed, every word), best first, as dicts of the measures columns plus
    ``score`` (FTS5's bm25: lower is better). Searches measure text, section heading and list intro."""
    match_expression(query)  # a query without a word is the caller's error, not an empty result
    own = not isinstance(database, sqlite3.Connection)
    connection = sqlite3.connect(f"file:{Path(database)}?mode=ro", uri=True) if own else database
    try:
        register_functions(connection)
        sql = SEARCH_SQL + (f" LIMIT {int(limit)}" if limit is not None else "")
        cursor = connection.execute(sql, {"q": query})
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]
    finally:
        if own:
            connection.close()
