"""The one primitive that moves an object between states: compare-and-set on the state column."""

from collections.abc import Iterable

from django.db import models


def compare_and_set(queryset: models.QuerySet, pk: int, expected: Iterable[str], new_state: str, **fields) -> bool:
    """Set `new_state` (and `fields`) only if the row is still in one of `expected`; True if it was."""
    return queryset.filter(pk=pk, state__in=list(expected)).update(state=new_state, **fields) == 1
