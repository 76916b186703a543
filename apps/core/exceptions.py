"""Every error leaves the API as `{"error": "<message>"}`, with `fields` naming what failed validation."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
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


def _paths(detail, path: str):
    """(path, message) for every message of a field's error detail; a nested message's path names the item
    and the key it failed on, e.g. `container_ports[0].inner_port`."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):
                yield from _paths(value, f"{path}[{key}]")
            elif key == api_settings.NON_FIELD_ERRORS_KEY:
                yield from _paths(value, path)
            else:
                yield from _paths(value, f"{path}.{key}")
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            # A list of messages, or (ListSerializer) one error dict per item, empty for a valid one.
            yield from _paths(value, path if isinstance(value, str) else f"{path}[{index}]")
    else:
        yield path, str(detail)


def _field_errors(detail: dict) -> tuple[dict, str]:
    """`fields` (each top-level field's messages, a nested one prefixed by its path) and the `error` line."""
    fields, parts = {}, []
    for field, value in detail.items():
        grouped: dict[str, list[str]] = {}
        for path, message in _paths(value, field):
            grouped.setdefault(path, []).append(message)
        fields[field] = [m if path == field else f"{path}: {m}" for path, msgs in grouped.items() for m in msgs]
        parts.extend(f"{path}: {' '.join(msgs)}" for path, msgs in grouped.items())
    return fields, "; ".join(parts)


def json_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        fields, message = _field_errors(exc.detail)
        body = {"error": message, "fields": fields}
    else:
        body = {"error": " ".join(_flatten(exc.detail))}
    return Response(body, status=response.status_code, headers=_kept_headers(response))


def _kept_headers(response) -> dict:
    return {name: response[name] for name in ("WWW-Authenticate", "Retry-After", "Allow") if name in response}
