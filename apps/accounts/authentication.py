"""`Authorization: ApiKey user:key` and HTTP Basic `user:key` for the API; Basic `user:password` for /auth/."""

import base64
import binascii

from rest_framework import authentication, exceptions

from . import throttling
from .models import ApiKey
from .passwords import authenticate_password

INVALID = "Invalid credentials."


def _split_credentials(value: str) -> tuple[str, str]:
    username, sep, secret = value.partition(":")
    if not sep or not username or not secret:
        raise exceptions.AuthenticationFailed("Malformed credentials: expected username:key.")
    return username, secret


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise exceptions.AuthenticationFailed("Malformed HTTP Basic credentials.") from None
    return _split_credentials(decoded)


def _throttled(error: throttling.LoginThrottled) -> exceptions.Throttled:
    return exceptions.Throttled(wait=error.wait, detail="Too many failed authentication attempts; try again later.")


def _authenticate_key(request, username: str, key: str):
    """A valid key is served whatever failed before it: the throttle is read only after a miss."""
    api_key = ApiKey.find_active(username, key)
    if api_key is None:
        try:
            throttling.key_failed(throttling.client_address(request))
        except throttling.LoginThrottled as error:
            raise _throttled(error) from None
        raise exceptions.AuthenticationFailed(INVALID)
    api_key.record_use()
    return api_key.user, api_key


class _SchemeAuthentication(authentication.BaseAuthentication):
    scheme = ""

    def credentials(self, request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != self.scheme.lower():
            return None
        return rest.strip()

    def authenticate_header(self, request):
        return f'{self.scheme} realm="api"'


class ApiKeyAuthentication(_SchemeAuthentication):
    scheme = "ApiKey"

    def authenticate(self, request):
        value = self.credentials(request)
        if value is None:
            return None
        username, key = _split_credentials(value)
        return _authenticate_key(request, username, key)


class BasicApiKeyAuthentication(_SchemeAuthentication):
    scheme = "Basic"

    def authenticate(self, request):
        value = self.credentials(request)
        if value is None:
            return None
        username, key = _basic_credentials(value)
        return _authenticate_key(request, username, key)


class BasicPasswordAuthentication(_SchemeAuthentication):
    """Only for `GET /api/v1/auth/`, which trades a password for a new key."""

    scheme = "Basic"

    def authenticate(self, request):
        value = self.credentials(request)
        if value is None:
            return None
        username, password = _basic_credentials(value)
        try:
            user = authenticate_password(request, username, password)
        except throttling.LoginThrottled as error:
            raise _throttled(error) from None
        if user is None:
            raise exceptions.AuthenticationFailed(INVALID)
        return user, None
