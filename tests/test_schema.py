import json

import pytest

from pipeline.research.published_schemas import generated_schemas
from pipeline.store.validate import (
    DOCUMENT_SCHEMA_FILE,
    FAST_CHECKED_KEYWORDS,
    SCHEMAS_DIR,
    document_errors,
    render_schema,
    schema_errors,
)


def test_committed_schemas_are_generated_from_the_models():
    for name, schema in generated_schemas().items():
        committed = (SCHEMAS_DIR / name).read_text(encoding="utf-8")
        assert committed == render_schema(schema), f"{name} is stale: run `tiltak schema --write`"


def test_schema_names_the_output_contract():
    schema = json.loads(render_schema(generated_schemas()[DOCUMENT_SCHEMA_FILE]))
    assert {"document", "measures", "actors", "provenance"} <= set(schema["required"])
    measure = schema["$defs"]["Measure"]["properties"]
    assert {"text", "start", "end", "page", "strength", "focus_area", "focus_area_score", "actors", "method",
            "confidence"} <= set(measure)
    assert set(schema["$defs"]["Actor"]["properties"]) >= {"name", "type"}


def test_validation_reports_schema_errors_with_their_path():
    errors = document_errors({"schema_version": "1.1.0", "measures": "no"})
    assert any(e.startswith("(root): 'document' is a required property") for e in errors)


def _keywords(node: object, found: set[str]) -> set[str]:
    """The schema keywords used anywhere in ``node`` (the names under properties and $defs are not keywords)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for child in value.values():
                    _keywords(child, found)
            else:
                found.add(key)
                _keywords(value, found)
    elif isinstance(node, list):
        for child in node:
            _keywords(child, found)
    return found


def test_committed_schemas_use_only_keywords_the_fast_check_reads():
    # The compiled check speaks draft 7: a 2020-12-only keyword (pydantic writes prefixItems for a tuple) would be
    # passed over without a check, and a document breaking it would be written.
    for name in generated_schemas():
        schema = json.loads((SCHEMAS_DIR / name).read_text(encoding="utf-8"))
        assert _keywords(schema, set()) <= FAST_CHECKED_KEYWORDS, name


@pytest.fixture(scope="module")
def analysed_document() -> dict:
    import tiltak

    text = ("Handlingsplan for helsedata\n\nRegjeringen vil:\n\n- etablere en nasjonal helsedataservice innen 2026\n"
            "- bevilge 50 millioner kroner til Helsedirektoratet\n- vurdere en ny lov om kliniske studier\n")
    return tiltak.analyse_text(text, title="Handlingsplan for helsedata").model_dump(mode="json")


def _broken(document: dict) -> list[tuple[str, dict]]:
    """Copies of a real document, each broken in one way a bug could break it."""
    cases = []

    def case(name, change):
        copy = json.loads(json.dumps(document))
        change(copy)
        cases.append((name, copy))

    case("unknown strength", lambda d: d["measures"][0].update(strength="very"))
    case("missing measure text", lambda d: d["measures"][0].pop("text"))
    case("offset as text", lambda d: d["measures"][0].update(start="12"))
    case("unknown field", lambda d: d["measures"][0].update(sdg_goal=3))
    case("actor without name", lambda d: d["actors"][0].pop("name") if d["actors"] else d.update(actors=[{}]))
    case("measures not a list", lambda d: d.update(measures={"0": d["measures"][0]}))
    case("missing provenance", lambda d: d.pop("provenance"))
    case("score above 1", lambda d: d["measures"][0].update(focus_area_score=1.5))
    case("sha256 not hex", lambda d: d["document"].update(sha256="not a hash"))
    case("page 0", lambda d: d["measures"][0].update(page=0))
    case("another tool", lambda d: d["provenance"].update(tool="other"))
    case("text not a string", lambda d: d.update(text=5))
    return cases


def test_fast_check_agrees_with_jsonschema_on_real_and_broken_documents(analysed_document):
    from jsonschema import Draft202012Validator

    reference = Draft202012Validator(json.loads((SCHEMAS_DIR / DOCUMENT_SCHEMA_FILE).read_text(encoding="utf-8")))
    assert analysed_document["measures"], "the test needs a document with measures"
    assert not list(reference.iter_errors(analysed_document))
    assert schema_errors(DOCUMENT_SCHEMA_FILE, analysed_document) == []
    for name, broken in _broken(analysed_document):
        expected = sorted(f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                          for e in reference.iter_errors(broken))
        assert expected, f"{name}: the reference validator should object"
        assert sorted(schema_errors(DOCUMENT_SCHEMA_FILE, broken)) == expected, name


def test_fast_check_leaves_the_data_as_it_was(analysed_document):
    # fastjsonschema fills in defaults unless told not to: the check must never change what is written.
    data = json.loads(json.dumps(analysed_document))
    for measure in data["measures"]:
        measure.pop("confidence", None)
    before = json.dumps(data, sort_keys=True)
    document_errors(data)
    assert json.dumps(data, sort_keys=True) == before
