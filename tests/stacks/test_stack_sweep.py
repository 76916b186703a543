"""A stack created and not started stays Not Running: the periodic sweep, which converges services short of
their containers, leaves alone the services nobody has started yet (their containers come with the start)."""

import pytest

from apps.services.choices import ServiceState as SS
from apps.services.models import Service
from orchestrator import reconciler

pytestmark = pytest.mark.django_db


def test_the_sweep_does_not_start_a_stack_nobody_started(api):
    body = {"name": "shop", "services": [{"name": "db", "image": "mysql"}, {"name": "web", "image": "nginx"}]}
    assert api.post("/api/v1/stack/", body, format="json").status_code == 201
    _, service_uuids = reconciler.stuck_work()
    assert service_uuids == []
    assert set(Service.objects.values_list("state", flat=True)) == {SS.NOT_RUNNING}
    assert not Service.objects.filter(containers__isnull=False).exists()


def test_the_sweep_still_converges_a_started_service_short_of_containers(api):
    body = {"name": "shop", "services": [{"name": "db", "image": "mysql"}]}
    uuid = api.post("/api/v1/stack/", body, format="json").json()["uuid"]
    assert api.post(f"/api/v1/stack/{uuid}/start/").status_code == 202
    db = Service.objects.get(name="db")
    db.containers.all().delete()  # as if lost
    Service.objects.filter(pk=db.pk).update(state=SS.RUNNING)
    _, service_uuids = reconciler.stuck_work()
    assert service_uuids == [str(db.uuid)]
