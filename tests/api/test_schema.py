"""The OpenAPI schema's generation: clean, valid, and with the error answers apps/core/schema.py derives. Whether
it matches what the server answers is tests/e2e/test_schema_conformance.py's question."""

import json

from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _schema() -> dict:
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


def test_the_schema_generates_without_a_warning_and_is_valid_openapi(tmp_path):
    # A warning is drf-spectacular guessing (a type, a name, a component shared by two serializers): the
    # schema would then say something the server does not.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_every_operation_lists_the_errors_of_what_it_is():
    paths = _schema()["paths"]

    create = paths["/api/v1/application/"]["post"]["responses"]
    assert sorted(create) == ["202", "400", "401", "415", "429"]
    assert create["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ValidationError"}
    assert create["401"]["content"] == JSON_ERROR
    assert sorted(paths["/api/v1/application/{uuid}/"]["get"]["responses"]) == ["200", "401", "404", "429"]
    assert sorted(paths["/api/v1/container/{uuid}/logs/"]["get"]["responses"]) == ["200", "401", "404", "429", "503"]
    assert paths["/api/v1/container/{uuid}/logs/"]["get"]["responses"]["503"]["content"] == JSON_ERROR


def test_an_operation_without_credentials_lists_no_401():
    schema = _schema()
    for operations in schema["paths"].values():
        for operation in operations.values():
            if not any(operation.get("security", [])):
                assert "401" not in operation["responses"], operation["operationId"]


def test_lists_have_the_meta_objects_envelope():
    schemas = _schema()["components"]["schemas"]

    envelope = schemas["PaginatedContainerList"]
    assert envelope["required"] == ["meta", "objects"]
    meta = envelope["properties"]["meta"]
    assert meta["required"] == ["limit", "next", "offset", "previous", "total_count"]
    assert meta["properties"]["next"]["nullable"] is True
    assert envelope["properties"]["objects"]["items"] == {"$ref": "#/components/schemas/Container"}
