import socket
import time

from django.conf import settings

from orchestrator.driver.base import LABEL_INSTANCE


def remove_test_containers(client) -> None:
    for container in client.containers.list(all=True, filters={"label": f"{LABEL_INSTANCE}={settings.TUTUM_INSTANCE}"}):
        container.remove(force=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=60, interval=0.2, message="condition"):
    """Poll until `predicate()` returns something truthy; return it, or fail naming what never happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value: {last!r}")


def wait_for_state(api, uri, state, timeout=60):
    """Poll the API until the object at `uri` is in `state`; return its last representation."""

    def check():
        body = api.get(uri).json()
        return body if body.get("state") == state else None

    try:
        return wait_for(check, timeout=timeout, message=f"{uri} to be {state}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; now: {api.get(uri).json().get('state')}") from None
