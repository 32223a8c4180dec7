import pytest

from pipeline.analysis.nlp import UPSTREAM_PREFERENCE, _is_installed, _shipped_model_path, load_nlp, parse
from pipeline.errors import TiltakError


def test_pipeline_is_loaded_once_per_process():
    assert load_nlp("blank") is load_nlp("blank")


def test_blank_pipeline_says_what_it_is():
    loaded = load_nlp("blank")
    assert loaded.info.kind == "blank"
    assert loaded.info.components == ["sentencizer", "tiltak_block_boundaries"]
    doc = parse(loaded, "Regjeringen vil styrke helse- og omsorgstjenesten. Det er viktig.")
    assert [t.text for t in doc[:4]] == ["Regjeringen", "vil", "styrke", "helse-"]
    assert len(list(doc.sents)) == 2


def test_best_takes_upstream_then_shipped_then_blank():
    loaded = load_nlp("best")
    if any(_is_installed(p) for p in UPSTREAM_PREFERENCE):
        assert loaded.info.kind == "upstream"
    elif _shipped_model_path():
        assert loaded.info.kind == "shipped"
    else:
        assert loaded.info.kind == "blank"


def test_missing_package_says_how_to_install_it():
    with pytest.raises(TiltakError, match=r"'nb_core_news_xl' is not installed.*spacy download nb_core_news_xl"):
        load_nlp("nb_core_news_xl")


def test_long_text_is_parsed_whole():
    loaded = load_nlp("blank")
    text = "Regjeringen vil styrke samarbeidet. " * 30_000
    assert len(parse(loaded, text)) > 100_000
