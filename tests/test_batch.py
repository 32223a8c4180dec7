from pathlib import Path

import pytest

from pipeline.reading.batch import InputError, discover_inputs, file_sha256, plan_outputs


def test_discover_recurses_takes_supported_and_skips_hidden_and_output(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "plan.txt").write_text("tekst", encoding="utf-8")
    (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("x", encoding="utf-8")
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "old.txt").write_text("x", encoding="utf-8")
    (tmp_path / "README.md").write_text("# Om mappen", encoding="utf-8")
    (tmp_path / "SOURCES.md").write_text("# Kilder", encoding="utf-8")  # a folder's list of sources is a note too
    found = discover_inputs([tmp_path], exclude=tmp_path / "outputs")
    assert sorted(p.name for p in found) == ["b.pdf", "plan.txt"]
    # A note named on the command line is read like any document.
    assert [p.name for p in discover_inputs([tmp_path / "README.md"])] == ["README.md"]


def test_discover_missing_path_names_it(tmp_path: Path):
    with pytest.raises(InputError, match=r"finnes-ikke\.pdf: no such file"):
        discover_inputs([tmp_path / "finnes-ikke.pdf"])


def test_same_content_twice_is_planned_once_and_clashing_names_are_made_unique(tmp_path: Path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    one = tmp_path / "x" / "strategi.txt"
    two = tmp_path / "y" / "strategi.txt"
    copy = tmp_path / "kopi av strategi.txt"
    one.write_text("første", encoding="utf-8")
    two.write_text("andre", encoding="utf-8")
    copy.write_text("første", encoding="utf-8")
    plan = plan_outputs({p: file_sha256(p) for p in (one, two, copy)})
    by_path = {p.path: p for p in plan}
    assert by_path[copy].duplicate_of == one
    assert by_path[one].duplicate_of is None and by_path[two].duplicate_of is None
    assert by_path[one].stem != by_path[two].stem
    assert by_path[one].stem.startswith("strategi-") and by_path[copy].stem == by_path[one].stem
