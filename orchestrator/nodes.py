"""A node's facts (Docker version, drivers, CPUs, memory, disk), as its engine reports them.

Read at registration (`manage.py addnode`, the default node) and by every sweep of the node, so an engine
upgraded in place shows its new version within one sweep.
"""

import logging

from apps.nodes.models import Node
from apps.nodes.services import EngineRefused

from .driver import Driver, DriverError, TlsMaterial, driver_for

logger = logging.getLogger(__name__)


def _facts(info) -> dict:
    return {
        "docker_version": info.docker_version,
        "docker_graphdriver": info.graph_driver,
        "docker_execdriver": info.exec_driver,
        "cpu": info.cpus,
        "memory": info.memory_mb,
        "disk": info.disk_gb,
    }


def probe_engine(docker_host: str, ca: str = "", cert: str = "", key: str = "") -> dict:
    """Ask an engine being registered for its facts, on a fresh connection (TLS when the PEMs are given);
    EngineRefused says why it did not answer. The node's fact fields."""
    from .driver.docker import probe

    tls = TlsMaterial(ca, cert, key) if cert else None
    try:
        return _facts(probe(docker_host, tls))
    except DriverError as exc:
        raise EngineRefused(f"does not answer: {exc}") from None


def refresh_facts(node: Node, driver: Driver | None = None) -> bool:
    """Record what the node's engine says about itself; False (and nothing written) when it does not answer.

    Writes only the fact columns, and only when one of them changed: a node's row is not rewritten by every
    sweep, and its state and last_seen stay the business of `converge.mark_node`.
    """
    try:
        info = (driver or driver_for(node)).info()
    except DriverError as exc:
        logger.warning("node %s: no engine facts: %s", node.name, exc)
        return False
    facts = _facts(info)
    changed = {name: value for name, value in facts.items() if getattr(node, name) != value}
    if changed:
        Node.objects.filter(pk=node.pk).update(**changed)
        for name, value in changed.items():
            setattr(node, name, value)
        logger.info("node %s: engine facts %s", node.name, changed)
    return True
