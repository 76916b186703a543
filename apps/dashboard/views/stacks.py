"""Stacks: the list, and a new stack from a pasted stack file (through the stacks' own use case)."""

import yaml
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.services.choices import ServiceState
from apps.services.models import Service
from apps.stacks import services as stack_cases
from apps.stacks.models import Stack
from apps.stacks.services import create_stack, derive_state
from apps.stacks.stackfile import StackFileError

from ..forms import StackForm
from .common import is_poll, page, paginate, run


def _stacks(user):
    live = Service.objects.exclude(state=ServiceState.TERMINATED).order_by("id")
    stacks = list(
        Stack.objects.owned_by(user)
        .visible_in_lists()
        .prefetch_related(Prefetch("services", queryset=live, to_attr="live_services"))
        .order_by("-id")
    )
    for stack in stacks:
        stack.shown_state = derive_state(stack, stack.live_services)
    return stacks


@page
@require_http_methods(["GET", "POST"])
def stack_list(request):
    """The stacks, and a new one from a pasted stack file (its services are created, not started)."""
    form = StackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            parsed = yaml.safe_load(form.cleaned_data["stack_file"])
        except yaml.YAMLError as exc:
            form.add_error("stack_file", f"Not YAML: {exc}")
        else:
            try:
                stack = create_stack(request.user, form.cleaned_data["name"], parsed)
            except StackFileError as exc:
                for error in exc.errors:
                    form.add_error("name" if error.startswith("name:") else "stack_file", error)
            else:
                messages.success(request, f"Stack {stack.name} created; start its services from the services page.")
                return redirect("dashboard:stacks")
    stacks = paginate(request, _stacks(request.user))
    template = "stacks/_stack_rows.html" if is_poll(request) else "stacks/list.html"
    context = {"stacks": stacks, "page_obj": stacks, "form": form, "stack_verbs": STACK_VERBS}
    return render(request, template, context)


STACK_VERBS = [("start", "Start"), ("stop", "Stop"), ("redeploy", "Redeploy")]
STACK_ACTIONS = {
    "start": (stack_cases.start_stack, "Starting stack {name}."),
    "stop": (stack_cases.stop_stack, "Stopping stack {name}."),
    "redeploy": (stack_cases.redeploy_stack, "Redeploying stack {name}."),
}


@page
@require_POST
def stack_action(request, uuid, name):
    if name not in STACK_ACTIONS:
        raise Http404
    stack = get_object_or_404(Stack.objects.owned_by(request.user), uuid=uuid)
    use_case, done = STACK_ACTIONS[name]
    run(request, use_case, stack, done=done.format(name=stack.name))
    return redirect("dashboard:stacks")
