"""One ASGI application for the REST API (Django) and the stream API (WebSockets under /v1/).

Serve it with `uvicorn tutumserver.asgi:application`.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutumserver.settings")
# Under ASGI, Django runs sync code in threads it does not reuse as a WSGI server does, and each kept
# connection stays with its thread: Django advises against persistent connections here, and a loaded
# server ran Postgres out of connection slots with them. One connection per request (unless set).
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
# Django is set up before the consumers' modules import models.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.streams.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({"http": django_application, "websocket": URLRouter(websocket_urlpatterns)})
