"""Who opens a stream: the REST API's credentials, in the `Authorization` header (every form the REST API
takes: `ApiKey user:key`, Basic `user:key` or `user:password`, a container's `TUTUM_AUTH`) or in the query
string, as older SDKs send them: `?user=<name>&token=<key>` or `?auth=<TUTUM_AUTH, urlencoded>`."""

from urllib.parse import parse_qs

from rest_framework import exceptions

from apps.accounts.authentication import ApiKeyAuthentication, BasicAuthentication


class _HandshakeRequest:
    """What the REST API's authentication reads of a request: the header and the client address."""

    def __init__(self, authorization: str, address: str):
        self.META = {"HTTP_AUTHORIZATION": authorization, "REMOTE_ADDR": address}


def query_params(scope) -> dict[str, str]:
    """The query string's parameters, the first value of each (`?&command=ls+-la` included)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return {name: values[0] for name, values in query.items()}


def authorization_of(scope) -> str:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"authorization" and value.strip():
            return value.decode("latin-1").strip()
    params = query_params(scope)
    if params.get("auth"):
        return params["auth"].strip()
    if params.get("user") and params.get("token"):
        return f"ApiKey {params['user']}:{params['token']}"
    return ""


def authenticate(scope):
    """The user the handshake's credentials name, or None when they are missing, wrong or throttled."""
    client = scope.get("client") or ("unknown", 0)
    request = _HandshakeRequest(authorization_of(scope), client[0])
    for backend in (ApiKeyAuthentication(), BasicAuthentication()):
        try:
            result = backend.authenticate(request)
        except exceptions.APIException:
            return None
        if result is not None:
            return result[0] if result[0].is_active else None
    return None
