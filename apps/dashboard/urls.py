"""The dashboard's pages at `/`. Objects are addressed by uuid, as in the API."""

from django.urls import path
from django.views.generic import RedirectView

from .views import accounts, actions, resources, services, stacks

app_name = "dashboard"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard:services"), name="home"),
    path("login/", accounts.login, name="login"),
    path("logout/", accounts.logout, name="logout"),
    path("keys/", accounts.api_keys, name="api_keys"),
    path("keys/<int:key_id>/revoke/", accounts.revoke_key, name="revoke_key"),
    path("services/", services.service_list, name="services"),
    path("services/new/", services.service_new, name="service_new"),
    path("services/<uuid:uuid>/", services.service_detail, name="service"),
    path("services/<uuid:uuid>/logs/", services.service_logs, name="service_logs"),
    path("services/<uuid:uuid>/edit/", services.service_edit, name="service_edit"),
    path("services/<uuid:uuid>/scale/", services.service_scale, name="service_scale"),
    path("services/<uuid:uuid>/terminate/", services.service_terminate, name="service_terminate"),
    path("services/<uuid:uuid>/<str:name>/", services.service_action, name="service_action"),
    path("containers/", resources.container_list, name="containers"),
    path("nodes/", resources.node_list, name="nodes"),
    path("actions/", actions.action_list, name="actions"),
    path("stacks/", stacks.stack_list, name="stacks"),
    path("stacks/<uuid:uuid>/<str:name>/", stacks.stack_action, name="stack_action"),
]
