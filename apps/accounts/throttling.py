"""Failed authentication is refused with 429 where it comes from, never where the valid credentials are.

Usernames are public, so a counter per username would let anyone lock any user out. Instead:
- a valid API key is always served: the key is looked up first, and only a failed attempt reads a counter;
- a wrong API key counts against the client address (`TUTUM_AUTH_FAILURES_ALLOWED` per window);
- a wrong password (HTTP Basic that is not a key, `/auth/`, any later login form) counts against the pair
  (address, username) (`TUTUM_AUTH_FAILURES_ALLOWED`) and against the address
  (`TUTUM_AUTH_ADDRESS_FAILURES_ALLOWED`, higher). A pair or address over its limit is refused before the
  password is checked, so guessing stops there, while the right password from another address still works.

Counters live in Django's cache (Redis in production) so every API process shares them.
"""

from django.conf import settings
from django.core.cache import cache


class LoginThrottled(Exception):
    """Too many failures from this address (or for this username from it); `wait` seconds is the window."""

    def __init__(self, wait: int):
        super().__init__(f"Too many failed authentication attempts; try again in {wait} seconds.")
        self.wait = wait


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def _key_limits(address: str) -> dict[str, int]:
    return {f"authfail:key:{address}": settings.TUTUM_AUTH_FAILURES_ALLOWED}


def _password_limits(address: str, username: str) -> dict[str, int]:
    return {
        f"authfail:password:{address}:{username.lower()}": settings.TUTUM_AUTH_FAILURES_ALLOWED,
        f"authfail:password:{address}": settings.TUTUM_AUTH_ADDRESS_FAILURES_ALLOWED,
    }


def password_counter_keys(address: str, username: str) -> list[str]:
    """The counters `refuse_password_attempt` reads, for a caller that fetches them with other keys at once."""
    return list(_password_limits(address, username))


def _refuse_if_over(limits: dict[str, int], counts: dict[str, int]) -> None:
    if any(counts.get(key, 0) >= allowed for key, allowed in limits.items()):
        raise LoginThrottled(settings.TUTUM_AUTH_FAILURE_WINDOW_SECONDS)


def _record(keys) -> None:
    window = settings.TUTUM_AUTH_FAILURE_WINDOW_SECONDS
    for key in keys:
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def key_failed(address: str) -> None:
    """A wrong API key from `address`: raises LoginThrottled when the address is over its limit, else counts it.

    Called only after the key was looked up and not found, so a valid key never reaches it.
    """
    limits = _key_limits(address)
    _refuse_if_over(limits, cache.get_many(list(limits)))
    _record(limits)


def refuse_password_attempt(address: str, username: str, counts: dict[str, int] | None = None) -> None:
    """Raises LoginThrottled when the pair (address, username) or the address is over its password limit.

    `counts`: the counters already fetched (see `password_counter_keys`); read from the cache when None.
    """
    limits = _password_limits(address, username)
    _refuse_if_over(limits, cache.get_many(list(limits)) if counts is None else counts)


def password_failed(address: str, username: str) -> None:
    _record(_password_limits(address, username))
