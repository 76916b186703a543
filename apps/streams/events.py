"""The event stream reads the `Event` rows that the database triggers write with each change
(apps/core/listversions.py), in id order, the subscriber's own and those every user sees (owner 0).

On Postgres one thread per process LISTENs for the triggers' NOTIFY (sent at commit) and wakes every
subscriber; without it (SQLite), and as a safety net, subscribers look every few seconds.

One owner's events get their ids in commit order (the owner's list-version row is locked from the trigger to
the commit). Events of different owners may commit out of id order by a moment, so a subscriber looks back
over what it saw in the last TUTUM_EVENT_LOOKBACK_SECONDS and sends what it had not seen yet.
"""

import logging
import select
import threading
import time

from django.conf import settings
from django.db import connections
from django.utils import timezone

from apps.actions.models import Action
from apps.containers.models import Container
from apps.core import uris
from apps.core.listversions import NOTIFY_CHANNEL
from apps.services.models import Service

from .models import Event

logger = logging.getLogger(__name__)

URI = {
    "service": uris.service_uri,
    "container": uris.container_uri,
    "node": uris.node_uri,
    "stack": uris.stack_uri,
    "action": uris.action_uri,
}


class Wakeup:
    """Wakes the subscribers of this process when the database says events were committed (Postgres)."""

    def __init__(self):
        self.subscribers: set = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def subscribe(self, loop, event) -> None:
        with self.lock:
            self.subscribers.add((loop, event))
            if self.thread is None and connections["default"].vendor == "postgresql":
                self.thread = threading.Thread(target=self._listen, name="events-listen", daemon=True)
                self.thread.start()

    def unsubscribe(self, loop, event) -> None:
        with self.lock:
            self.subscribers.discard((loop, event))

    def wake_all(self) -> None:
        with self.lock:
            subscribers = list(self.subscribers)
        for loop, event in subscribers:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop has stopped
                self.unsubscribe(loop, event)

    def _listen(self) -> None:
        while True:
            wrapper = connections.create_connection("default")
            try:
                wrapper.ensure_connection()
                raw = wrapper.connection
                raw.autocommit = True
                with raw.cursor() as cursor:
                    cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self.wake_all()  # what was committed while it was not listening
                while True:
                    if select.select([raw], [], [], 30)[0]:
                        raw.poll()
                        if raw.notifies:
                            raw.notifies.clear()
                            self.wake_all()
            except Exception as exc:  # the database went away: listen again
                logger.warning("events: lost the database's notifications (%s); listening again in 2 s", exc)
                time.sleep(2)
            finally:
                try:
                    wrapper.close()
                except Exception:
                    pass


wakeup = Wakeup()


def latest_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _parents(events: list[Event]) -> dict:
    """Each event's parents, from the objects as they are now: a service's stack; a container's service, stack
    and node; an action's object. An object deleted since has none."""
    parents: dict = {}
    services = [e.resource_uuid for e in events if e.type == "service"]
    for uuid, stack in Service.objects.filter(uuid__in=services).values_list("uuid", "stack__uuid"):
        parents[("service", uuid)] = [uris.stack_uri(stack)] if stack else []
    containers = [e.resource_uuid for e in events if e.type == "container"]
    rows = Container.objects.filter(uuid__in=containers).values_list(
        "uuid", "service__uuid", "service__stack__uuid", "node__uuid"
    )
    for uuid, service, stack, node in rows:
        parents[("container", uuid)] = [
            uri
            for uri in (
                uris.service_uri(service) if service else None,
                uris.stack_uri(stack) if stack else None,
                uris.node_uri(node) if node else None,
            )
            if uri
        ]
    actions = [e.resource_uuid for e in events if e.type == "action"]
    for uuid, uri in Action.objects.filter(uuid__in=actions).values_list("uuid", "object"):
        parents[("action", uuid)] = [uri] if uri else []
    return parents


def message(event: Event, parents: dict) -> dict:
    """The event as Tutum sent it, with its `id` and `uuid` (beyond Tutum: `?since=<id>` resumes after it)."""
    return {
        "type": event.type,
        "action": event.action,
        "resource_uri": URI[event.type](event.resource_uuid),
        "state": event.state,
        "parents": parents.get((event.type, event.resource_uuid), []),
        "uuid": str(event.resource_uuid),
        "id": event.id,
    }


def read_events(owner_id: int, after: int, seen: set[int], limit: int = 500) -> list[dict]:
    """The owner's events (and everyone's) with an id above `after` that are not in `seen`, in id order."""
    rows = list(
        Event.objects.filter(owner_id__in=(owner_id, 0), id__gt=after).exclude(id__in=seen).order_by("id")[:limit]
    )
    parents = _parents(rows)
    return [message(row, parents) for row in rows]


_pruned = [0.0]


def prune_events() -> int:
    """Removes events older than TUTUM_EVENT_RETENTION_SECONDS (a reconnect can resume within that time)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.TUTUM_EVENT_RETENTION_SECONDS)
    deleted, _ = Event.objects.filter(created__lt=cutoff).delete()
    return deleted


def prune_now_and_then() -> None:
    """At most once a minute per process."""
    if time.monotonic() - _pruned[0] > 60:
        _pruned[0] = time.monotonic()
        prune_events()
