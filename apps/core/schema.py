"""What /api/v1/schema/ adds to drf-spectacular's view-by-view schema so that it describes every answer.

The errors every operation can give follow from what the operation is, so they are derived here once, from
the generated document, rather than declared view by view: an operation that authenticates can answer 401
and 429 (failed authentication is throttled); one with path parameters 404 (another user's object is a
404 too); one with a body 400 (validation) and 415 (not JSON); one with query parameters or that changes
something 400 (a bad filter or page parameter, an unsuitable state). Answers only some views give (503 from
a node or registry check) stay declared on those views. Error bodies are `Error`, or `ValidationError` with
`fields` (docs/decisions.md). tests/e2e/test_schema_conformance.py fuzzes the result against a live server.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

ERROR = {
    "type": "object",
    "description": "Every error answer: a message for people.",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
    "additionalProperties": False,
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "A 400: the message, and for a validation error `fields`, each offending field's messages.",
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["error"],
    "additionalProperties": False,
}

DESCRIPTIONS = {
    400: "Validation failed (`fields` names each offending field or parameter), or the object's state does not "
    "allow the operation (the message names the state).",
    401: "Missing, malformed or wrong credentials.",
    404: "No such object, or it belongs to another user.",
    415: "The body is not JSON (`Content-Type: application/json`).",
    429: "Too many failed authentication attempts; `Retry-After` says when to try again.",
}


def _error_statuses(method: str, operation: dict) -> list[int]:
    located = {parameter["in"] for parameter in operation.get("parameters", [])}
    has_body = "requestBody" in operation
    authenticated = any(requirement for requirement in operation.get("security", []))
    statuses = []
    if has_body or "query" in located or method != "get":
        statuses.append(400)
    if authenticated:
        statuses.append(401)
    if "path" in located:
        statuses.append(404)
    if has_body:
        statuses.append(415)
    if authenticated:
        statuses.append(429)
    return statuses


def add_error_responses(result, generator, request, public):
    """POSTPROCESSING_HOOKS: the error answers of every operation, and the components of their bodies."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas["ValidationError"] = VALIDATION_ERROR
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation):
                responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
            for status, response in responses.items():
                if int(status) >= 400 and "content" not in response:
                    component = "ValidationError" if status == "400" else "Error"
                    body = {"$ref": f"#/components/schemas/{component}"}
                    response["content"] = {"application/json": {"schema": body}}
            operation["responses"] = dict(sorted(responses.items()))
    return result


def error_response(description: str) -> OpenApiResponse:
    """For `extend_schema(responses={503: error_response("…")})`: an error only some views give, with the
    `Error` body the hook above gives every error response declared without one."""
    return OpenApiResponse(description=description)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`ApiKey <username>:<key>` (the official clients' form).",
        }


class BasicScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.BasicAuthentication"
    name = "BasicAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic with `<username>:<key>` or `<username>:<password>` (the 2015 clients).",
        }
