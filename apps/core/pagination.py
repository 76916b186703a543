"""The list envelope of the spec: `{"meta": {limit, next, offset, previous, total_count}, "objects": [...]}`."""

from urllib.parse import urlencode

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# Far beyond any list, and with a page's length added still within the databases' 64-bit OFFSET and LIMIT.
MAX_OFFSET = 2**62


def _non_negative_int(request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"must be a non-negative integer, got {raw!r}"]}) from None
    if value < 0:
        raise ValidationError({name: [f"must be a non-negative integer, got {raw!r}"]})
    if maximum is not None and value > maximum:
        raise ValidationError({name: [f"must be at most {maximum}, got {raw!r}"]})
    return value


class MetaObjectsPagination(BasePagination):
    """limit/offset paging. `limit` over 100 is capped; `limit=0` means "as many as allowed" (100), as Tastypie did."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        limit = _non_negative_int(request, "limit", DEFAULT_LIMIT)
        self.limit = MAX_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
        self.offset = _non_negative_int(request, "offset", 0, MAX_OFFSET)
        page = list(queryset[self.offset : self.offset + self.limit])
        # A page that is not full (or an empty first page) ends the list, so its total needs no COUNT query:
        # most accounts' lists fit in one page.
        if len(page) < self.limit and (page or self.offset == 0):
            self.total_count = self.offset + len(page)
        else:
            self.total_count = queryset.count()
        return page

    def _page_uri(self, offset: int) -> str:
        params = [(k, v) for k, v in self.request.query_params.lists() if k not in ("limit", "offset") for v in v]
        params += [("limit", self.limit), ("offset", offset)]
        return f"{self.request.path}?{urlencode(params)}"

    def get_paginated_response(self, data):
        next_offset = self.offset + self.limit
        meta = {
            "limit": self.limit,
            "next": self._page_uri(next_offset) if next_offset < self.total_count else None,
            "offset": self.offset,
            "previous": self._page_uri(max(self.offset - self.limit, 0)) if self.offset > 0 else None,
            "total_count": self.total_count,
        }
        return Response({"meta": meta, "objects": data})

    def get_paginated_response_schema(self, schema):
        page_uri = {"type": "string", "nullable": True, "description": "A relative URI keeping the filters, or null."}
        return {
            "type": "object",
            "properties": {
                "meta": {
                    "type": "object",
                    "properties": {
                        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                        "next": page_uri,
                        "offset": {"type": "integer", "minimum": 0},
                        "previous": page_uri,
                        "total_count": {"type": "integer", "minimum": 0},
                    },
                    "required": ["limit", "next", "offset", "previous", "total_count"],
                    "additionalProperties": False,
                },
                "objects": schema,
            },
            "required": ["meta", "objects"],
            "additionalProperties": False,
        }

    def get_schema_operation_parameters(self, view):
        limit = f"Page size, default {DEFAULT_LIMIT}; larger than {MAX_LIMIT} is capped, 0 means {MAX_LIMIT}."
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": limit,
                "schema": {"type": "integer", "minimum": 0, "default": DEFAULT_LIMIT},
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            },
        ]
