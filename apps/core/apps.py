from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_list_versions(sender, using, **kwargs):
    from . import listversions

    listversions.install(using)


class CoreConfig(AppConfig):
    name = "apps.core"

    def ready(self):
        from . import schema  # noqa: F401  (registers the authentication schemes of the OpenAPI schema)

        # Sent after `migrate` (every app's migrations done) and after `flush` (tables emptied).
        post_migrate.connect(_install_list_versions, sender=self, dispatch_uid="apps.core.list_versions")
