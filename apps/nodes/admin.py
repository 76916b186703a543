from django.contrib import admin

from .models import Node

admin.site.register(Node, list_display=("name", "docker_host", "publish_address", "state", "last_seen"))
