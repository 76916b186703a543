"""The event record is written by the database in the transaction of each change: committed with it, gone
with a rollback, in the order of the changes."""

import pytest
from django.db import transaction

from apps.containers.models import Container
from apps.services.models import Service
from apps.streams.events import prune_events, read_events
from apps.streams.models import Event
from tests.api.app_support import make_application

pytestmark = pytest.mark.django_db(transaction=True)


def _events(owner):
    return [(e.type, e.action, e.state) for e in Event.objects.filter(owner_id=owner.pk).order_by("id")]


def test_a_transaction_records_its_changes_in_order_and_a_rollback_records_none(user, other_user):
    service = make_application(user, "web", state="Starting", containers=1)
    container = service.containers.get()
    Event.objects.all().delete()

    with transaction.atomic():
        Container.objects.filter(pk=container.pk).update(state="Stopping")
        Service.objects.filter(pk=service.pk).update(state="Stopping")
        Container.objects.filter(pk=container.pk).update(state="Stopped")
    with pytest.raises(RuntimeError), transaction.atomic():
        Service.objects.filter(pk=service.pk).update(state="Terminating")
        raise RuntimeError("rolled back")

    assert _events(user) == [
        ("container", "update", "Stopping"),
        ("service", "update", "Stopping"),
        ("container", "update", "Stopped"),
    ]
    assert _events(other_user) == []
    messages = read_events(user.pk, 0, set())
    assert [m["resource_uri"] for m in messages] == [
        f"/api/v1/container/{container.uuid}/",
        f"/api/v1/service/{service.uuid}/",
        f"/api/v1/container/{container.uuid}/",
    ]
    assert messages[0]["parents"] == [f"/api/v1/service/{service.uuid}/"]


def test_deleting_a_service_with_its_containers_commits_and_is_recorded(user):
    service = make_application(user, "web", containers=2)
    Event.objects.all().delete()
    service.delete()  # the containers' rows go first, in the same transaction
    assert ("service", "delete", "Running") in _events(user)
    assert not Service.objects.exists()


def test_old_events_are_pruned(user, settings):
    make_application(user, "web", containers=1)
    assert Event.objects.count() == 2
    settings.TUTUM_EVENT_RETENTION_SECONDS = 0
    assert prune_events() == 2
    assert not Event.objects.exists()


def _action(owner, service, state="In progress"):
    from apps.actions.models import Action

    return Action.objects.create(
        owner=owner,
        object=f"/api/v1/service/{service.uuid}/",
        target_kind="service",
        target_uuid=service.uuid,
        action="Service Scale",
        state=state,
    )


def test_every_change_of_an_action_is_an_event_whose_parent_is_its_object(user, other_user):
    from apps.actions.models import Action, ActionLog
    from apps.core.models import ListVersion

    service = make_application(user, "web", containers=0)
    token = ListVersion.objects.get(owner_id=user.pk).token
    Event.objects.all().delete()
    action = _action(user, service)
    Action.objects.filter(pk=action.pk).update(state="Success")
    ActionLog.objects.create(action=action, line="done")  # a log line is no event of its own

    assert _events(user) == [("action", "create", "In progress"), ("action", "update", "Success")]
    assert _events(other_user) == []
    messages = read_events(user.pk, 0, set())
    assert [(m["resource_uri"], m["parents"]) for m in messages] == [
        (f"/api/v1/action/{action.uuid}/", [f"/api/v1/service/{service.uuid}/"])
    ] * 2
    # No list shows actions: their changes leave the owner's list token as it was.
    assert ListVersion.objects.get(owner_id=user.pk).token == token


def test_the_sweep_prunes_old_events(user, settings, monkeypatch):
    from orchestrator import tasks

    make_application(user, "web", containers=1)
    settings.TUTUM_EVENT_RETENTION_SECONDS = 0
    monkeypatch.setattr(tasks.reconcile_node, "delay", lambda node_id: None)  # no broker here
    monkeypatch.setattr(tasks, "ensure_default_node", lambda: None)
    tasks.sweep()
    assert not Event.objects.exists()
