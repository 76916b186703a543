"""Password checks for every face: `GET /api/v1/auth/` and a later web login."""

from django.contrib.auth import get_user_model

from . import throttling


def _find_user(username: str):
    user_model = get_user_model()
    try:
        return user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist:
        return None


def authenticate_password(request, username: str, password: str):
    """The active user `username` if `password` is theirs; otherwise None, and the failure is counted.

    Raises `throttling.LoginThrottled`, before any check, when the client address of `request` or the pair
    (address, username) has failed too often in the window.
    """
    address = throttling.client_address(request)
    throttling.refuse_password_attempt(address, username)
    user = _find_user(username)
    if user is None:
        # As slow as a real check, so the time taken does not tell which usernames exist.
        get_user_model()().set_password(password)
        verified = False
    else:
        verified = user.check_password(password) and user.is_active
    if not verified:
        throttling.password_failed(address, username)
        return None
    return user
