"""Docker events of every node, turned into observe tasks within about a second.

One thread per node streams its engine's events (our containers only, by label). Every container event
only triggers a look: observe_container reads the truth from Docker, so a missed or repeated event is
harmless, and the periodic reconciler catches whatever happened while the stream was down.

Events that cannot tell the database anything new send no task (worth_observing): most of them are the
echo of our own steps, and a scale-up of 20 containers would otherwise queue 20 looks behind its work.
"""

import logging
import threading

from django.core.exceptions import ValidationError
from django.db import DatabaseError, close_old_connections

from apps.containers.choices import ContainerState
from apps.containers.models import Container
from apps.nodes.models import Node

from .converge import instance_labels, mark_node
from .driver import NodeUnreachable, driver_for
from .driver.base import LABEL_CONTAINER

logger = logging.getLogger(__name__)

WATCHED_ACTIONS = frozenset({"die", "stop", "start", "oom", "destroy", "kill"})
NODE_REFRESH_SECONDS = 5
C = ContainerState


def worth_observing(action: str, uuid: str, container_id: str) -> bool:
    """Whether observe_container could learn something from this event.

    observe_container acts on Running and Stopped rows only. So no look for a container whose row is gone
    or Terminating/Terminated (it never becomes Running or Stopped again), nor for a `start` the database
    already knows: the row is Starting (the converge step that started it records the result) or Running
    on this very Docker container. A `start` of a Stopped container (someone started it behind our back)
    and every die, kill, stop, oom and destroy of a live row are looked at: a container that dies right after
    starting, while its row still says Starting, must not be missed. If the database cannot answer, look.
    """
    try:
        row = Container.objects.filter(uuid=uuid).values_list("state", "docker_id").first()
    except (DatabaseError, ValidationError):
        close_old_connections()  # a broken connection is replaced at the next event
        return True
    if row is None:
        return False
    state, docker_id = row
    if state in (C.TERMINATING, C.TERMINATED):
        return False
    if action == "start" and (state == C.STARTING or (state == C.RUNNING and docker_id == container_id)):
        return False
    return True


def watch_node(node_id: int, stop: threading.Event) -> None:
    """Stream one node's events until `stop` is set, reconnecting with backoff when the engine goes away."""
    from .tasks import observe_container, reconcile_node

    backoff = 1.0
    while not stop.is_set():
        close_old_connections()
        node = Node.objects.filter(pk=node_id).first()
        if node is None:
            return
        try:
            driver = driver_for(node)
            driver.ping()
            mark_node(node, reachable=True)
            # Whatever happened while we were not listening: let the reconciler look now.
            reconcile_node.delay(node.pk)
            backoff = 1.0
            for event in driver.events(instance_labels()):
                if stop.is_set():
                    return
                uuid = event.labels.get(LABEL_CONTAINER)
                if uuid and event.action in WATCHED_ACTIONS:
                    if worth_observing(event.action, uuid, event.container_id):
                        logger.debug("event %s on %s", event.action, uuid)
                        observe_container.delay(uuid)
        except NodeUnreachable as exc:
            mark_node(node, reachable=False, error=str(exc))
            logger.warning("node %s: %s; retrying in %.0fs", node.name, exc, backoff)
        except Exception:
            logger.exception("event stream of node %s failed; retrying in %.0fs", node.name, backoff)
        stop.wait(backoff)
        backoff = min(backoff * 2, 15)


def watch_all(stop: threading.Event) -> None:
    """Start a watcher thread for every node, including nodes registered later."""
    from .scheduler import ensure_default_node

    ensure_default_node()
    threads: dict[int, threading.Thread] = {}
    while not stop.is_set():
        close_old_connections()
        try:
            node_ids = list(Node.objects.values_list("pk", flat=True))
        except DatabaseError:
            # The database restarting: the watchers already running go on; new nodes are found next time.
            logger.warning("events: cannot read the nodes; trying again in %s s", NODE_REFRESH_SECONDS)
            node_ids = []
        for node_id in node_ids:
            if node_id not in threads or not threads[node_id].is_alive():
                thread = threading.Thread(
                    target=watch_node, args=(node_id, stop), daemon=True, name=f"events-{node_id}"
                )
                thread.start()
                threads[node_id] = thread
        stop.wait(NODE_REFRESH_SECONDS)
