from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .authentication import BasicPasswordAuthentication
from .models import ApiKey


class AuthView(APIView):
    """`GET /api/v1/auth/` with HTTP Basic user:password issues a new API key (the SDK's login)."""

    authentication_classes = [BasicPasswordAuthentication]

    @extend_schema(
        responses=inline_serializer(
            "AuthKeys",
            {"objects": serializers.ListField(child=inline_serializer("AuthKey", {"key": serializers.CharField()}))},
        )
    )
    def get(self, request):
        _, key = ApiKey.issue(request.user, name="auth endpoint")
        return Response({"objects": [{"key": key}]})
