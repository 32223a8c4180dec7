import json

from pipeline.research.published_schemas import generated_schemas
from pipeline.store.validate import DOCUMENT_SCHEMA_FILE, SCHEMAS_DIR, document_errors, render_schema


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
