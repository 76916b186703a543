"""Many streams at once on one server process: 200 event subscribers and 50 log followers (of real containers)
are all served, each gets the change made after it connected, and each answers a client's ping within the
final SDK's 5 s (`run_forever(ping_interval=5, ping_timeout=5)`) while they are all open. Idle connections are
pinged by the server (uvicorn's `--ws-ping-interval`, 20 s unless set)."""

import asyncio
import json
import threading
import time

import pytest
import websocket  # websocket-client, the library of the final SDK
from websockets.asyncio.client import connect

from apps.accounts.models import ApiKey
from apps.services.models import Service
from tests.api.app_support import make_application
from tests.streams import support

from .helpers import wait_for_state
from .lifecycle_helpers import api_containers, create_service

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

asgi_server = support.asgi_server
SUBSCRIBERS = 200
FOLLOWERS = 50
TICKER = "sh -c 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 1; done'"


async def _open(url: str, headers: dict, first):
    """A connection and its first message (the events' `{"type": "auth"}`, a follower's first line)."""
    ws = await connect(url, additional_headers=headers, open_timeout=60, ping_interval=None, max_queue=None)
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 60)) if first else None


async def _ping(ws) -> float:
    started = time.monotonic()
    await asyncio.wait_for(await ws.ping(), 5)
    return time.monotonic() - started


async def _load(address: str, headers: dict, follow_paths: list[str], change) -> dict:
    gate = asyncio.Semaphore(50)  # connections opened 50 at a time, all kept open

    async def opened(url, first):
        async with gate:
            return await _open(url, headers, first)

    subscribers = await asyncio.gather(*(opened(f"ws://{address}/v1/events", True) for _ in range(SUBSCRIBERS)))
    assert all(hello == {"type": "auth"} for _, hello in subscribers)
    followers = await asyncio.gather(*(opened(f"ws://{address}{path}", False) for path in follow_paths))
    try:
        started = time.monotonic()
        # Each follower: a line written after it connected (tail=0: nothing older).
        lines = await asyncio.gather(*(asyncio.wait_for(ws.recv(), 30) for ws, _ in followers))
        followed = time.monotonic() - started
        await asyncio.to_thread(change)
        changed = time.monotonic()
        events = await asyncio.gather(*(asyncio.wait_for(ws.recv(), 60) for ws, _ in subscribers))
        delivered = time.monotonic() - changed
        pings = await asyncio.gather(*(_ping(ws) for ws, _ in subscribers + followers))
        return {
            "lines": [json.loads(line) for line in lines],
            "events": [json.loads(event) for event in events],
            "followed": followed,
            "delivered": delivered,
            "pings": pings,
        }
    finally:
        await asyncio.gather(*(ws.close() for ws, _ in subscribers + followers), return_exceptions=True)


def test_200_event_subscribers_and_50_log_followers_each_get_a_change_and_answer_pings(worker, api, asgi_server, user):
    address = asgi_server()
    _, key = ApiKey.issue(user)
    headers = {"Authorization": f"ApiKey alice:{key}"}
    service = create_service(api, image="local/busybox", name="ticker", run_command=TICKER, target_num_containers=5)
    wait_for_state(api, service["resource_uri"], "Running", timeout=120)
    containers = api_containers(api, service)
    assert len(containers) == 5
    paths = [f"/v1/container/{containers[n % 5]['uuid']}/logs/?follow=true&tail=0" for n in range(FOLLOWERS - 5)] + [
        f"/v1/service/{service['uuid']}/logs/?follow=true&tail=0"
    ] * 5
    changed = make_application(user, "changed", containers=0)

    result = asyncio.run(
        _load(address, headers, paths, lambda: Service.objects.filter(pk=changed.pk).update(state="Stopped"))
    )

    assert len(result["lines"]) == FOLLOWERS
    assert all(m["type"] == "log" and m["log"].startswith("tick-") for m in result["lines"]), result["lines"][:3]
    assert [m.get("source") is not None for m in result["lines"]].count(True) == 5, "the service followers' lines"
    assert len(result["events"]) == SUBSCRIBERS
    expected = ("service", "update", f"/api/v1/service/{changed.uuid}/", "Stopped")
    assert {(m["type"], m["action"], m["resource_uri"], m["state"]) for m in result["events"]} == {expected}
    worst = max(result["pings"])
    served = (
        f"a line to every follower in {result['followed']:.1f} s, the event to every subscriber in"
        f" {result['delivered']:.1f} s, the worst ping answered in {worst:.2f} s"
    )
    print(f"{SUBSCRIBERS} subscribers and {FOLLOWERS} followers: {served}")
    assert worst < 5, "a ping answered later than the final SDK waits"


def test_the_server_pings_an_idle_connection_and_answers_the_sdk_library(asgi_server, user):
    address = asgi_server({"UVICORN_WS_PING_INTERVAL": "1", "UVICORN_WS_PING_TIMEOUT": "5"})
    _, key = ApiKey.issue(user)
    pinged, ponged, opened = threading.Event(), threading.Event(), []
    app = websocket.WebSocketApp(
        f"ws://{address}/v1/events",
        header=[f"Authorization: ApiKey alice:{key}"],
        on_message=lambda ws, message: opened.append(json.loads(message)),
        on_ping=lambda ws, data: pinged.set(),
        on_pong=lambda ws, data: ponged.set(),
    )
    # As the final SDK runs it (its own ping every 5 s, closing when a pong is 5 s late), at a faster pace.
    thread = threading.Thread(target=app.run_forever, kwargs={"ping_interval": 2, "ping_timeout": 1}, daemon=True)
    thread.start()
    try:
        assert pinged.wait(10), "the server pings an idle connection"
        assert ponged.wait(10), "the server answers the client's ping"
        time.sleep(3)
        assert thread.is_alive() and opened == [{"type": "auth"}], "the connection stays open"
    finally:
        app.close()
        thread.join(5)
