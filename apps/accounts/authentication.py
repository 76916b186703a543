"""Every API endpoint accepts `Authorization: ApiKey user:key` and HTTP Basic `user:key` or `user:password`."""

import base64
import binascii

from rest_framework import authentication, exceptions

from . import throttling
from .models import ApiKey
from .passwords import authenticate_password

INVALID = "Invalid credentials."


def _split_credentials(value: str) -> tuple[str, str]:
    username, sep, secret = value.partition(":")
    # No username holds a NUL, and Postgres refuses one in a query (a 500 otherwise).
    if not sep or not username or not secret or "\x00" in username:
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


def _find_key(username: str, key: str) -> ApiKey | None:
    api_key = ApiKey.find_active(username, key)
    if api_key is not None:
        api_key.record_use()
        api_key.presented_key = key  # GET /api/v1/auth/ answers it back instead of minting another
    return api_key


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
    """`ApiKey user:key`: the 2014 clients, SDKs up to 0.20 and the TUTUM_AUTH of a role `global` container."""

    scheme = "ApiKey"

    def authenticate(self, request):
        value = self.credentials(request)
        if value is None:
            return None
        username, key = _split_credentials(value)
        api_key = _find_key(username, key)
        if api_key is None:
            # Only a miss reads the counters: a valid key is served whatever failed before it.
            try:
                throttling.key_failed(throttling.client_address(request))
            except throttling.LoginThrottled as error:
                raise _throttled(error) from None
            raise exceptions.AuthenticationFailed(INVALID)
        return api_key.user, api_key


class BasicAuthentication(_SchemeAuthentication):
    """HTTP Basic `user:apikey` (the SDK) or `user:password` (what `tutum login` stores and sends every time).

    The key is tried first (one indexed query), then the password, which is throttled as a login.
    `request.auth` is the key, or None for a password.
    """

    scheme = "Basic"

    def authenticate(self, request):
        value = self.credentials(request)
        if value is None:
            return None
        username, secret = _basic_credentials(value)
        api_key = _find_key(username, secret)
        if api_key is not None:
            return api_key.user, api_key
        try:
            user = authenticate_password(request, username, secret)
        except throttling.LoginThrottled as error:
            raise _throttled(error) from None
        if user is None:
            raise exceptions.AuthenticationFailed(INVALID)
        return user, None
