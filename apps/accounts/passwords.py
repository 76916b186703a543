"""Password checks for every face: HTTP Basic on the API, `GET /api/v1/auth/`, and a later web login.

The final CLI sends `Basic user:password` on every request, and one PBKDF2 check costs ~0.3 s. A successful
check is remembered for `TUTUM_PASSWORD_CHECK_CACHE_SECONDS` in Django's cache under an HMAC (keyed with
SECRET_KEY) of the username, the password and the user's current password hash. The password itself is
never stored; a password change gives a new hash, so what was remembered for the old one is never found.
"""

import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from . import throttling


def _check_cache_key(username: str, password: str, password_hash: str) -> str:
    value = json.dumps([username, password, password_hash])
    return "passwordcheck:" + salted_hmac("apps.accounts.passwords", value, algorithm="sha256").hexdigest()


def _find_user(username: str):
    user_model = get_user_model()
    try:
        return user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist:
        return None


def authenticate_password(request, username: str, password: str):
    """The active user `username` if `password` is theirs; otherwise None, and the failure is counted.

    Raises `throttling.LoginThrottled`, before any check, when the client address of `request` or the pair
    (address, username) has failed too often in the window. One query and one cache round trip when the
    check is remembered.
    """
    address = throttling.client_address(request)
    user = _find_user(username)
    counter_keys = throttling.password_counter_keys(address, username)
    check_key = _check_cache_key(username, password, user.password) if user is not None else None
    found = cache.get_many(counter_keys + ([check_key] if check_key else []))
    throttling.refuse_password_attempt(address, username, found)
    if user is not None and user.is_active and found.get(check_key):
        return user

    if user is None:
        # As slow as a real check, so the time taken does not tell which usernames exist.
        get_user_model()().set_password(password)
        verified = False
    else:
        verified = user.check_password(password) and user.is_active
    if not verified:
        throttling.password_failed(address, username)
        return None
    timeout = settings.TUTUM_PASSWORD_CHECK_CACHE_SECONDS
    if timeout > 0:
        # check_password may have upgraded the stored hash: remember the check under the current one.
        cache.set(_check_cache_key(username, password, user.password), 1, timeout=timeout)
    return user
