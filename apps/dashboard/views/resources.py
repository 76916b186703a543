"""Containers and nodes: what the user owns, and the nodes (everyone's, as in the API)."""

from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import reverse

from apps.containers.choices import ContainerState
from apps.containers.models import Container
from apps.nodes.models import Node

from .common import is_poll, page, paginate, paginate_by_key


@page
def container_list(request):
    queryset = (
        Container.objects.owned_by(request.user)
        .select_related("service__owner", "node")
        .with_port_list()
        .visible_in_lists()
        .order_by("service_id", "number")
    )
    containers = paginate_by_key(request, queryset)
    template = "containers/_container_rows.html" if is_poll(request) else "containers/list.html"
    context = {"containers": containers, "page_obj": containers, "services_path": reverse("dashboard:services")}
    return render(request, template, context)


@page
def node_list(request):
    """Every node, with the user's own live containers counted; staff also see how each is reached."""
    live = Q(containers__service__owner=request.user) & ~Q(containers__state=ContainerState.TERMINATED)
    nodes = paginate(
        request, Node.objects.annotate(current_num_containers=Count("containers", filter=live)).order_by("name")
    )
    template = "nodes/_node_rows.html" if is_poll(request) else "nodes/list.html"
    return render(request, template, {"nodes": nodes, "page_obj": nodes, "staff": request.user.is_staff})
