from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The web dashboard at `/`: a third face of the same models, calling the same use cases as the API."""

    name = "apps.dashboard"
