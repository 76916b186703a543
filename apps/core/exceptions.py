"""Every error leaves the API as `{"error": "<message>"}`, with `fields` naming what failed validation."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class UnsuitableState(exceptions.APIException):
    """The object is not in a state that allows the operation (400, naming the current state)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "unsuitable_state"


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [msg for value in detail.values() for msg in _flatten(value)]
    if isinstance(detail, list):
        return [msg for value in detail for msg in _flatten(value)]
    return [str(detail)]


def _field_messages(detail) -> dict:
    return {field: _flatten(value) for field, value in detail.items()}


def json_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        fields = _field_messages(exc.detail)
        message = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in fields.items())
        body = {"error": message, "fields": fields}
    else:
        body = {"error": " ".join(_flatten(exc.detail))}
    return Response(body, status=response.status_code, headers=_kept_headers(response))


def _kept_headers(response) -> dict:
    return {name: response[name] for name in ("WWW-Authenticate", "Retry-After", "Allow") if name in response}
