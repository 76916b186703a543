"""Services: the list grouped by stack with quick actions, a service's page with its containers and logs, the
new-service and edit forms. Every change goes through apps/services/services.py, every input through the
API's ServiceWriteSerializer."""

import logging

from django.contrib import messages
from django.db.models import F, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import APIException

from apps.containers.choices import ContainerState
from apps.containers.models import Container
from apps.core.logs import read_logs
from apps.core.uris import service_uri
from apps.services import services as use_cases
from apps.services.api.serializers import ServiceWriteSerializer
from apps.services.choices import ServiceState

from ..forms import ScaleForm, ServiceEditForm, ServiceForm, add_serializer_errors
from .common import is_poll, page, paginate_by_key, run

logger = logging.getLogger(__name__)


def service_list_queryset(user):
    """The API's list query (counts and ports in the page query), standalone services after the stacks'."""
    return (
        user.services.with_counts()
        .with_port_list()
        .select_related("stack")
        .visible_in_lists()
        .order_by(F("stack_id").asc(nulls_last=True), "id")
    )


def _nodes_of(services) -> dict[int, list[str]]:
    """The names of the nodes each service's live containers are on, in one query for the whole page."""
    pairs = (
        Container.objects.filter(service__in=[s.pk for s in services])
        .exclude(state=ContainerState.TERMINATED)
        .exclude(node=None)
        .values_list("service_id", "node__name")
        .distinct()
        .order_by("service_id", "node__name")
    )
    nodes: dict[int, list[str]] = {}
    for service_id, name in pairs:
        nodes.setdefault(service_id, []).append(name)
    return nodes


def _owned(request, uuid, queryset=None):
    return get_object_or_404(queryset if queryset is not None else request.user.services.all(), uuid=uuid)


@page
def service_list(request):
    services = paginate_by_key(request, service_list_queryset(request.user))
    nodes = _nodes_of(services)
    # Rows build their links from one prefix: a reverse() per link was a third of the page's time.
    prefix = reverse("dashboard:services")
    for service in services:
        service.node_names = nodes.get(service.pk, [])
        service.path = f"{prefix}{service.uuid}/"
    template = "services/_service_rows.html" if is_poll(request) else "services/list.html"
    context = {"services": services, "page_obj": services}
    return render(request, template, context)


def _detail_queryset(user):
    containers = (
        Container.objects.exclude(state=ContainerState.TERMINATED)
        .select_related("service__owner", "node")
        .with_port_list()
        .order_by("number")
    )
    return (
        user.services.with_counts()
        .with_port_list()
        .select_related("stack")
        .prefetch_related(
            "envvars", "links_out__to_service", "links_in__from_service", Prefetch("containers", queryset=containers)
        )
    )


FORM_FIELD = {"image": "image", "container_envvars": "env"}


def _edit_form(service, data=None):
    initial = {
        "image": service.image_name,
        "target_num_containers": service.target_num_containers,
        "env": "\n".join(f"{e.key}={e.value}" for e in service.envvars.all()),
    }
    return ServiceEditForm(data, initial=initial)


@page
def service_detail(request, uuid):
    service = _owned(request, uuid, _detail_queryset(request.user))
    if is_poll(request):
        return render(request, "services/_service_status.html", {"service": service})
    context = {"service": service, "edit_form": _edit_form(service), "scale_form": _scale_form(service)}
    return render(request, "services/detail.html", context)


def _scale_form(service):
    # Its own ids: the edit form on the same page has a target field too.
    return ScaleForm(initial={"target_num_containers": service.target_num_containers}, auto_id="scale_%s")


@page
def service_logs(request, uuid):
    """The last lines of each container's logs (polled by the page; a live stream may replace the poll)."""
    service = _owned(request, uuid, _detail_queryset(request.user))
    logs = []
    for container in service.containers.all():
        text, error = "", ""
        try:
            text = read_logs(container)
        except APIException as exc:  # the node is unreachable
            error = str(exc.detail)
        except Exception as exc:  # noqa: BLE001 - the engine refused: said in the page, which keeps polling
            logger.warning("logs of %s: %s", container.unique_name, exc)
            error = f"The engine did not give the logs: {exc}"
        logs.append({"container": container, "text": text[-20000:], "error": error})
    return render(request, "services/_logs.html", {"service": service, "logs": logs})


def _validated(request, body: dict, form, partial_update: bool) -> dict | None:
    serializer = ServiceWriteSerializer(data=body, context={"request": request}, partial_update=partial_update)
    if not serializer.is_valid():
        add_serializer_errors(form, serializer.errors)
        return None
    return serializer.service_data()


def _link_choices(user):
    services = user.services.exclude(state__in=[ServiceState.TERMINATING, ServiceState.TERMINATED]).select_related(
        "stack"
    )
    return [(service_uri(s.uuid), f"{s.unique_name}{f' ({s.stack.name})' if s.stack_id else ''}") for s in services]


@page
@require_http_methods(["GET", "POST"])
def service_new(request):
    """Create and start: the 2015 create (the API's validation) followed by a start, as `tutum service run`."""
    form = ServiceForm(request.POST or None, link_choices=_link_choices(request.user))
    if request.method == "POST" and form.is_valid():
        body = form.api_data()
        # The API's checks run even when some text could not be read, so every message shows at once.
        data = _validated(request, body, form, partial_update=False)
        data = data if form.is_valid() else None
        service = run(request, use_cases.create_service, request.user, data, start=False) if data else None
        if service is not None:
            messages.success(request, f"Service {service.unique_name} created.")
            if service.target_num_containers:
                run(request, use_cases.start_service, service)
            return redirect("dashboard:service", uuid=service.uuid)
    return render(request, "services/new.html", {"form": form})


@page
@require_POST
def service_edit(request, uuid):
    service = _owned(request, uuid, _detail_queryset(request.user))
    form = _edit_form(service, request.POST)
    if form.is_valid():
        # Only what was changed: a PATCH of the same environment would still ask for a redeploy.
        body = {key: value for key, value in form.api_data().items() if FORM_FIELD[key] in form.changed_data}
        if "target_num_containers" in form.changed_data:
            body["target_num_containers"] = form.cleaned_data["target_num_containers"]
        data = _validated(request, body, form, partial_update=True)
        data = data if form.is_valid() else None
        if data == {} and not form.cleaned_data["redeploy"]:
            messages.info(request, "Nothing changed.")
            return redirect("dashboard:service", uuid=service.uuid)
        if data == {} or run(request, use_cases.update_service, service, data, scale=True, done="Saved."):
            if form.cleaned_data["redeploy"]:
                run(request, use_cases.redeploy_service, service, done="Redeploying.")
            return redirect("dashboard:service", uuid=service.uuid)
    context = {"service": service, "edit_form": form, "scale_form": _scale_form(service)}
    return render(request, "services/detail.html", context)


def _back(request, service):
    """Where a quick action returns: the page it was asked from (the list or the service), never elsewhere."""
    if request.POST.get("from") == "list":
        number = request.POST.get("page", "")
        return redirect(reverse("dashboard:services") + (f"?page={number}" if number.isdigit() else ""))
    return redirect("dashboard:service", uuid=service.uuid)


QUICK_ACTIONS = {
    "start": (use_cases.start_service, "Starting {name}."),
    "stop": (use_cases.stop_service, "Stopping {name}."),
    "redeploy": (use_cases.redeploy_service, "Redeploying {name}."),
}


@page
@require_POST
def service_action(request, uuid, name):
    if name not in QUICK_ACTIONS:
        raise Http404
    service = _owned(request, uuid)
    use_case, done = QUICK_ACTIONS[name]
    run(request, use_case, service, done=done.format(name=service.unique_name))
    return _back(request, service)


@page
@require_POST
def service_scale(request, uuid):
    """A new target, checked as the API checks it (its limit), applied at once."""
    service = _owned(request, uuid)
    form = ScaleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Scale {service.unique_name}: give a number of containers, 0 or more.")
        return _back(request, service)
    body = {"target_num_containers": form.cleaned_data["target_num_containers"]}
    serializer = ServiceWriteSerializer(data=body, context={"request": request}, partial_update=True)
    if not serializer.is_valid():
        messages.error(request, f"Scale {service.unique_name}: {' '.join(serializer.errors['target_num_containers'])}")
        return _back(request, service)
    target = serializer.validated_data["target_num_containers"]
    run(request, use_cases.update_service, service, {"target_num_containers": target}, scale=True,
        done=f"Scaling {service.unique_name} to {target}.")  # fmt: skip
    return _back(request, service)


@page
@require_http_methods(["GET", "POST"])
def service_terminate(request, uuid):
    """GET asks for a confirmation (terminating destroys the containers and their data); POST does it."""
    service = _owned(request, uuid)
    if request.method == "GET":
        return render(request, "services/terminate.html", {"service": service})
    if run(request, use_cases.terminate_service, service, done=f"Terminating {service.unique_name}."):
        return redirect("dashboard:services")
    return redirect("dashboard:service", uuid=service.uuid)
