"""The account's action log (the audit log the API serves at /api/v1/action/)."""

import uuid
from urllib.parse import urlencode

from django.db.models import Q
from django.shortcuts import render

from apps.actions.choices import ActionState
from apps.actions.models import Action

from .common import is_poll, page, paginate


@page
def action_list(request):
    """The account's audit log, newest first; `state` and `object` (a resource URI or a uuid) filter it."""
    queryset = Action.objects.owned_by(request.user)
    state, target = request.GET.get("state", ""), request.GET.get("object", "").strip()
    if state in ActionState.values:
        queryset = queryset.filter(state=state)
    if target:
        by_object = Q(object=target)
        queryset = queryset.filter(by_object | Q(target_uuid=target) if _is_uuid(target) else by_object)
    actions = paginate(request, queryset)
    filters = {"state": state, "object": target}
    query = urlencode({key: value for key, value in filters.items() if value})
    context = {"actions": actions, "page_obj": actions, "states": ActionState.values, "filters": filters}
    context["query"] = query
    return render(request, "actions/_action_rows.html" if is_poll(request) else "actions/list.html", context)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
