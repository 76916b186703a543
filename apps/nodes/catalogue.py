"""The cloud-provider catalogue the 2015 clients read (`provider`, `region`, `nodetype`, `az`), and the node
tags in use (`tag`). This server makes no machines: the catalogue is one "byo" entry each (bring your own
node), as the real service listed for nodes registered by their owners."""

from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.uris import API_PREFIX

from .services import tags_in_use

PROVIDER = f"{API_PREFIX}/provider/byo/"
REGION = f"{API_PREFIX}/region/byo/byo/"
NODETYPE = f"{API_PREFIX}/nodetype/byo/byo/"
AZ = f"{API_PREFIX}/az/byo/byo/byo/"

ENTRIES = {
    "provider": {
        "name": "byo", "label": "Bring your own node", "regions": [REGION], "available": True, "resource_uri": PROVIDER,
    },
    "region": {
        "name": "byo", "label": "Bring your own node", "node_types": [NODETYPE], "availability_zones": [AZ],
        "provider": PROVIDER, "available": True, "resource_uri": REGION,
    },
    "nodetype": {
        "name": "byo", "label": "Bring your own node", "regions": [REGION], "availability_zones": [AZ],
        "provider": PROVIDER, "available": True, "resource_uri": NODETYPE,
    },
    "az": {"name": "byo", "region": REGION, "available": True, "resource_uri": AZ},
}  # fmt: skip


def envelope(objects: list[dict]) -> dict:
    meta = {"limit": 25, "next": None, "offset": 0, "previous": None, "total_count": len(objects)}
    return {"meta": meta, "objects": objects}


def _catalogue(kind: str, names: list[str]):
    """`GET /<kind>/` lists the single entry; `GET /<kind>/byo/…/` is it; any other name is a 404."""
    entry = ENTRIES[kind]
    path = [OpenApiParameter(name, str, OpenApiParameter.PATH) for name in names]

    class ListView(APIView):
        @extend_schema(operation_id=f"{kind}_list", responses={200: OpenApiTypes.OBJECT})
        def get(self, request):
            return Response(envelope([entry]))

    class DetailView(APIView):
        @extend_schema(operation_id=f"{kind}_retrieve", parameters=path, responses={200: OpenApiTypes.OBJECT})
        def get(self, request, **kwargs):
            if any(value != "byo" for value in kwargs.values()):
                raise exceptions.NotFound()
            return Response(entry)

    detail = "/".join(f"(?P<{name}>[^/]+)" for name in names)
    return [
        re_path(rf"^{kind}/?$", ListView.as_view(), name=kind),
        re_path(rf"^{kind}/{detail}/?$", DetailView.as_view(), name=f"{kind}-detail"),
    ]


class TagView(APIView):
    """Node tags in use (their own and their clusters'); filters `name` and `origin` (all are `user`)."""

    @extend_schema(
        operation_id="tag_list",
        parameters=[OpenApiParameter("name", str), OpenApiParameter("origin", str, enum=["user", "tutum"])],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        tags = [{"name": name, "origin": "user"} for name in tags_in_use()]
        if "name" in request.query_params:
            tags = [tag for tag in tags if tag["name"] == request.query_params["name"]]
        if request.query_params.get("origin", "user") != "user":
            tags = []
        return Response(envelope(tags))


urlpatterns = [
    *_catalogue("provider", ["name"]),
    *_catalogue("region", ["provider", "name"]),
    *_catalogue("nodetype", ["provider", "name"]),
    *_catalogue("az", ["provider", "region", "name"]),
    re_path(r"^tag/?$", TagView.as_view(), name="tag"),
]
