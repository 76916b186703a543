from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import ApiKey


class AuthView(APIView):
    """`GET /api/v1/auth/`: the SDK's login, and the CLI's check before every command (any 2xx is OK).

    With a password (HTTP Basic user:password) it issues a new key, which the 2014 SDK reads from
    `objects[0].key`. With a key (either form, or a container's TUTUM_AUTH) it answers that same key: the
    caller holds it already, and a key minted per CLI command would pile up keys nobody uses.
    """

    @extend_schema(
        responses=inline_serializer(
            "AuthKeys",
            {"objects": serializers.ListField(child=inline_serializer("AuthKey", {"key": serializers.CharField()}))},
        )
    )
    def get(self, request):
        if isinstance(request.auth, ApiKey):
            key = request.auth.presented_key
        else:
            _, key = ApiKey.issue(request.user, name="auth endpoint")
        return Response({"objects": [{"key": key}]})
