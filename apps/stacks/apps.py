from django.apps import AppConfig


class StacksConfig(AppConfig):
    name = "apps.stacks"

    def ready(self):
        from . import signals  # noqa: F401 (connects the receivers)
