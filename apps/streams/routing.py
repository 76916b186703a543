"""The stream API's paths, as the clients send them: under /v1/, with or without the trailing slash."""

from django.urls import re_path

from . import consumers

UUID = r"(?P<uuid>[^/]+)"

websocket_urlpatterns = [
    re_path(rf"^v1/container/{UUID}/logs/?$", consumers.ContainerLogsConsumer.as_asgi()),
    re_path(rf"^v1/container/{UUID}/exec/?$", consumers.ExecConsumer.as_asgi()),
    re_path(rf"^v1/service/{UUID}/logs/?$", consumers.ServiceLogsConsumer.as_asgi()),
    re_path(rf"^v1/action/{UUID}/logs/?$", consumers.ActionLogsConsumer.as_asgi()),
    re_path(r"^v1/events/?$", consumers.EventsConsumer.as_asgi()),
    re_path(r"", consumers.NotFoundConsumer.as_asgi()),
]
