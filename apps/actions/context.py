"""What an action records about the request that made it, held for the request's duration in a contextvar.

`ActionContextMiddleware` captures the call (method, path with its query, user agent, client address, the
body with its secrets masked) for every request that may change something, and answers with
`X-Tutum-Action-URI` when a use case recorded an action during the request. It sits in Django's middleware
rather than in one face's base view, so each face (2014, 2015, the triggers, a web dashboard) is recorded
the same way.
"""

import json
import re
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.http import QueryDict

from apps.core.uris import action_uri

ACTION_URI_HEADER = "X-Tutum-Action-URI"
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MASK = "********"
# Keys whose values are secrets, and variables whose names say they hold one (`DB_PASSWORD`).
SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api_?key|auth|credential|private_?key", re.IGNORECASE)


@dataclass
class RequestContext:
    method: str = ""
    path: str = ""
    user_agent: str = ""
    ip: str = ""
    body: str = ""
    # False for calls nobody authenticated, such as a trigger's URL.
    is_user_action: bool = True
    actions: list = field(default_factory=list)
    # Depth of recorded use cases under way: only the outermost one records (recording.py).
    depth: int = 0


_current: ContextVar[RequestContext | None] = ContextVar("action_request_context", default=None)


def current() -> RequestContext | None:
    return _current.get()


def _is_secret(key, value) -> bool:
    return isinstance(key, str) and bool(SECRET_KEY.search(key)) and value not in (None, "")


def mask_secrets(value):
    """A copy of parsed JSON with the values of secret-looking keys (and of `{"key": "DB_PASSWORD",
    "value": …}` pairs) replaced by `********`."""
    if isinstance(value, dict):
        masked = {key: MASK if _is_secret(key, item) else mask_secrets(item) for key, item in value.items()}
        name = value.get("key")
        if isinstance(name, str) and SECRET_KEY.search(name) and "value" in value:
            masked["value"] = MASK
        return masked
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def masked_body(raw: bytes, content_type: str) -> str:
    """The body as a JSON string with its secrets masked; "" when empty or not JSON nor a form."""
    if not raw:
        return ""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = QueryDict(raw)
            parsed = {key: values[0] if len(values) == 1 else values for key, values in form.lists()}
        else:
            parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return ""
    return json.dumps(mask_secrets(parsed))


def _context_of(request) -> RequestContext:
    try:
        raw = request.body  # read now: Django keeps it, so DRF still parses it afterwards
    except Exception:  # too large, or already read: the action is recorded without it
        raw = b""
    return RequestContext(
        method=request.method,
        path=request.get_full_path(),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip=request.META.get("REMOTE_ADDR", ""),
        body=masked_body(raw, request.META.get("CONTENT_TYPE", "")),
    )


class ActionContextMiddleware:
    """Holds the request's RequestContext while the view runs; adds the header of the action it recorded."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in CHANGING_METHODS:
            return self.get_response(request)
        context = _context_of(request)
        token = _current.set(context)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        if context.actions and response.status_code < 400:
            response[ACTION_URI_HEADER] = action_uri(context.actions[0].uuid)
        return response
