"""List pages served again from the cache while nothing they show has changed.

Clients poll lists (`tutum app list`, scripts waiting for Running). Building a list page costs ~8 ms of CPU
(bench/api.py); the same page from the cache costs the key check and one small query.

A page is filed under its owner's list versions (apps/core/listversions.py): tokens that database triggers
renew in the same transaction as any change to a row the page can show. The tokens are read before the
page, so the page filed under them is never older than they are; once a change commits, its new token
sends every reader to a fresh page. Time changes lists too (terminated rows leave them after the
retention period), so an entry also ends when the first listed terminated row would leave.

Nothing is cached from inside a transaction: it could contain the transaction's own uncommitted writes.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpResponse
from django.utils import timezone

from .models import ListVersion

KEY_PREFIX = "listpage"


def _versions(using: str, owner_id: int) -> str | None:
    """'<database token>.<owner token>', or None when the triggers are not installed (no database token)."""
    table = ListVersion._meta.db_table
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT owner_id, token FROM {table} WHERE owner_id IN (%s, %s)", [ListVersion.GLOBAL_OWNER, owner_id]
        )
        tokens = dict(cursor.fetchall())
    if ListVersion.GLOBAL_OWNER not in tokens:
        return None
    return f"{tokens[ListVersion.GLOBAL_OWNER]}.{tokens.get(owner_id, '-')}"


class ListPageCache:
    def __init__(self, key: str):
        self.key = key

    @classmethod
    def for_request(cls, request, using: str = "default") -> "ListPageCache | None":
        if not settings.TUTUM_LIST_CACHE_SECONDS or request.method != "GET":
            return None
        if connections[using].in_atomic_block:
            return None
        versions = _versions(using, request.user.pk)
        if versions is None:
            return None
        page = hashlib.sha256(f"{request.accepted_media_type} {request.get_full_path()}".encode()).hexdigest()
        return cls(f"{KEY_PREFIX}:{request.user.pk}:{versions}:{page}")

    def response(self) -> HttpResponse | None:
        entry = cache.get(self.key)
        if entry is None:
            return None
        expires, content_type, content = entry
        if expires is not None and timezone.now().timestamp() >= expires:
            return None
        return HttpResponse(content, content_type=content_type)

    def store_when_rendered(self, response, first_expiry) -> None:
        """Files the page once rendered, if it is a 200; `first_expiry()` gives when time alone changes it."""
        if response.status_code != 200:
            return
        expires = first_expiry()
        timeout = settings.TUTUM_LIST_CACHE_SECONDS
        if expires is not None:
            remaining = (expires - timezone.now()).total_seconds()
            if remaining <= 0:
                return
            timeout = min(timeout, int(remaining) + 1)

        def store(rendered):
            entry = (expires.timestamp() if expires else None, rendered["Content-Type"], rendered.content)
            cache.set(self.key, entry, timeout)

        response.add_post_render_callback(store)
