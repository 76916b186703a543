"""Repeated failed authentication is refused with 429, per client address and per username.

Counters live in Django's cache (Redis in production) so every API process shares them.
"""

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled


def _keys(client_address: str, username: str | None) -> list[str]:
    keys = [f"authfail:addr:{client_address}"]
    if username:
        keys.append(f"authfail:user:{username.lower()}")
    return keys


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def refuse_if_throttled(request, username: str | None) -> None:
    allowed = settings.TUTUM_AUTH_FAILURES_ALLOWED
    counts = cache.get_many(_keys(client_address(request), username))
    if any(count >= allowed for count in counts.values()):
        raise Throttled(
            wait=settings.TUTUM_AUTH_FAILURE_WINDOW_SECONDS,
            detail="Too many failed authentication attempts; try again later.",
        )


def record_failure(request, username: str | None) -> None:
    window = settings.TUTUM_AUTH_FAILURE_WINDOW_SECONDS
    for key in _keys(client_address(request), username):
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
