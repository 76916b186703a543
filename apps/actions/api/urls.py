"""A service's triggers, nested under the service's own routes (every route with or without its slash)."""

from django.urls import re_path

from apps.core.views import UUID_REGEX

from .views import TriggerCallCountView, TriggerCallView, TriggerViewSet

TRIGGERS = rf"^service/(?P<service_uuid>{UUID_REGEX})/trigger"
TRIGGER = rf"{TRIGGERS}/(?P<uuid>{UUID_REGEX})"

urlpatterns = [
    re_path(rf"{TRIGGERS}/?$", TriggerViewSet.as_view({"get": "list", "post": "create"}), name="trigger-list"),
    re_path(rf"{TRIGGER}/?$", TriggerViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="trigger-detail"),
    re_path(rf"{TRIGGER}/call/?$", TriggerCallView.as_view(), name="trigger-call"),
    re_path(rf"{TRIGGER}/call/(?P<count>[0-9]{{1,6}})/?$", TriggerCallCountView.as_view(), name="trigger-call-count"),
]
