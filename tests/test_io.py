import json
from pathlib import Path

import pytest

from pipeline.errors import TiltakError
from pipeline.io import atomic_write_text, safe_stem
from pipeline.store.outputs import render_document


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path: Path):
    target = tmp_path / "out" / "doc.json"
    atomic_write_text(target, '{"a": 1}')
    atomic_write_text(target, '{"a": "æøå"}')
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": "æøå"}
    assert [p.name for p in target.parent.iterdir()] == ["doc.json"]


def test_invalid_document_is_refused_before_anything_is_written(tmp_path: Path):
    target = tmp_path / "doc.json"
    target.write_text("previous good content", encoding="utf-8")
    bad = {"document": {"source_path": "x.txt"}, "measures": []}
    with pytest.raises(TiltakError, match=r"x\.txt: output fails its schema"):
        atomic_write_text(target, render_document(bad))
    assert target.read_text(encoding="utf-8") == "previous good content"


@pytest.mark.parametrize(
    ("name", "stem"),
    [("Meld. St. 18 (2018–2019).pdf", "Meld._St._18_2018_2019"), ("../../etc/passwd", "passwd"),
     ("Helse- og omsorgsdepartementet – plan.docx", "Helse-_og_omsorgsdepartementet_plan"), ("«–».txt", "document")],
)
def test_safe_stem_keeps_norwegian_letters_and_drops_path_tricks(name: str, stem: str):
    assert safe_stem(Path(name)) == stem


def test_atomic_write_gives_ordinary_file_permissions(tmp_path):
    import os
    import stat

    from pipeline.io import atomic_write_text

    umask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "ut.json", "{}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_parse_yaml_reads_every_data_file_of_the_repository_as_safe_load_does():
    import yaml

    from pipeline.io import parse_yaml

    root = Path(__file__).resolve().parents[1]
    files = [p for p in root.rglob("*.yaml") if not any(part.startswith(".") or part == "outputs" for part in
                                                         p.relative_to(root).parts)]
    assert len(files) >= 8  # the gazetteer, taxonomies, rule files …
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert parse_yaml(text) == yaml.safe_load(text), path


def test_parse_yaml_refuses_python_tags():
    import yaml

    from pipeline.io import parse_yaml

    with pytest.raises(yaml.YAMLError):
        parse_yaml("!!python/object/apply:os.system ['echo unsafe']")
