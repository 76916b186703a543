"""The stream API against Docker's own CLI, on the same container in the same run.

    .venv/bin/python bench/streams.py [--smoke] [--lines N] [--rounds N] [--changes C] [--subscribers S]

- logs, tail: a container's whole log of N lines through `/v1/container/<uuid>/logs/?follow=false`, against
  `docker logs` of the same container;
- logs, follow: both attached before the container writes N lines (`seq`, 5 s after it starts), the time from
  the first line to the last for each (the stream and `docker logs -f` follow the same writes at once);
- exec round trip: `/v1/container/<uuid>/exec/?command=echo+hi` (connect, authenticate, exec, exit code,
  close) against `docker exec <container> echo hi`, medians of R rounds;
- exec in a session: one interactive `sh`, a line written and its output read back, median of R;
- event latency: with 1 and with S (200) subscribers of `/v1/events` open, C changes of a service row, one at
  a time: from just before each transaction's COMMIT to each subscriber's receipt of its event, p50 and p99
  over every (change, subscriber) pair (the subscribers run in this process, on one event loop).

The server is uvicorn as in production (`tutumserver.asgi`, `--ws websockets`), with a worker that starts
the container; bench/harness.py gives each its own database and Redis.
"""

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import DOCKER_HOST, PYTHON, Stack, free_port, log, request, table, wait_for  # noqa: E402


def start_asgi(stack: Stack) -> str:
    port = free_port()
    stack._spawn(
        "uvicorn",
        [
            PYTHON,
            "-m",
            "uvicorn",
            "tutumserver.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets",
            "--lifespan",
            "off",
            "--no-access-log",
        ],
    )

    def ready():
        try:
            return request("GET", f"http://127.0.0.1:{port}/api/v1/auth/")[0] == 401
        except OSError:
            return False

    wait_for(ready, 30, interval=0.1, what="uvicorn")
    return f"127.0.0.1:{port}"


def docker_cli(*args: str) -> list[str]:
    return ["docker", "-H", DOCKER_HOST, *args]


def start_container(address: str, headers: dict, name: str, command: str) -> tuple[str, str]:
    """A running container of a new service; (its uuid, its Docker id)."""
    from apps.containers.models import Container

    body = {"image": "local/busybox", "name": name, "run_command": command}
    status, service = request("POST", f"http://{address}/api/v1/application/", headers, body)
    assert status == 202, service

    def running():
        row = Container.objects.filter(service__uuid=service["uuid"], state="Running").first()
        return row if row and row.docker_id else None

    container = wait_for(running, 60, interval=0.2, what=f"{name} running")
    return str(container.uuid), container.docker_id


def ws(address: str, path: str, headers: dict):
    from websockets.sync.client import connect

    return connect(f"ws://{address}{path}", additional_headers=headers, max_size=None)


def stream_lines(address: str, path: str, headers: dict, count: int, on_first=None) -> float:
    """Seconds from the first log message to the `count`-th."""
    first = None
    seen = 0
    with ws(address, path, headers) as socket:
        while seen < count:
            message = json.loads(socket.recv(timeout=120))
            if message.get("type") != "log":
                raise RuntimeError(f"unexpected message {message}")
            seen += 1
            if first is None:
                first = time.perf_counter()
                if on_first:
                    on_first()
    return time.perf_counter() - first


def docker_lines(args: list[str], count: int) -> float:
    """Seconds from the first line `docker …` prints to the `count`-th."""
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = None
    try:
        for seen, _ in enumerate(process.stdout, 1):
            if first is None:
                first = time.perf_counter()
            if seen >= count:
                break
    finally:
        process.kill()
        process.wait()
    return time.perf_counter() - first


def event_latencies(address: str, headers: dict, service_pk: int, subscribers: int, changes: int) -> list[float]:
    """Seconds from just before each change's COMMIT to its event's arrival, for every subscriber."""
    import asyncio

    from django.db import close_old_connections, transaction
    from django.utils import timezone
    from websockets.asyncio.client import connect

    from apps.services.models import Service

    uuid = str(Service.objects.get(pk=service_pk).uuid)

    def change() -> float:
        try:
            with transaction.atomic():
                Service.objects.filter(pk=service_pk).update(modified=timezone.now())
                started = time.perf_counter()
            return started
        finally:
            close_old_connections()

    async def arrival(socket) -> float:
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 60))
            if message.get("uuid") == uuid:
                return time.perf_counter()

    async def run() -> list[float]:
        gate = asyncio.Semaphore(50)

        async def subscribe():
            async with gate:
                socket = await connect(f"ws://{address}/v1/events", additional_headers=headers, open_timeout=60)
                assert json.loads(await asyncio.wait_for(socket.recv(), 60)) == {"type": "auth"}
                return socket

        sockets = await asyncio.gather(*(subscribe() for _ in range(subscribers)))
        latencies = []
        try:
            for _ in range(changes):
                arrivals = [asyncio.create_task(arrival(socket)) for socket in sockets]
                started = await asyncio.to_thread(change)
                latencies += [arrived - started for arrived in await asyncio.gather(*arrivals)]
        finally:
            await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
        return latencies

    return asyncio.run(run())


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    parser.add_argument("--lines", type=int, help="log lines (default 100,000; smoke 2,000)")
    parser.add_argument("--rounds", type=int, help="exec rounds (default 20; smoke 3)")
    parser.add_argument("--changes", type=int, help="changes timed for the event latency (default 50; smoke 5)")
    parser.add_argument("--subscribers", type=int, default=200, help="event subscribers of the second latency run")
    args = parser.parse_args()
    changes = args.changes or (5 if args.smoke else 50)
    lines = args.lines or (2_000 if args.smoke else 100_000)
    rounds = args.rounds or (3 if args.smoke else 20)

    with Stack("streams", smoke=args.smoke) as stack:
        stack.start_worker()
        username, key = stack.user_with_key()
        headers = {"Authorization": f"ApiKey {username}:{key}"}
        address = start_asgi(stack)
        log(f"uvicorn at {address}; {lines} lines, {rounds} exec rounds")
        rows = []

        # Tail: a log written in full before either reads it.
        uuid, docker_id = start_container(address, headers, "tail", f"sh -c 'seq 1 {lines}; sleep 3600'")
        wait_for(
            lambda: (
                subprocess.run(
                    docker_cli("logs", "--tail", "1", docker_id), capture_output=True, text=True
                ).stdout.strip()
                == str(lines)
            ),
            60,
            what="the whole log written",
        )
        server = docker = None
        for _ in range(3):  # the best of three: the machine is shared
            s = stream_lines(address, f"/v1/container/{uuid}/logs/?follow=false", headers, lines)
            d = docker_lines(docker_cli("logs", docker_id), lines)
            server, docker = min(server or s, s), min(docker or d, d)
        rows.append(["logs, tail (lines/s)", rate(lines, server), rate(lines, docker), f"{docker / server:.2f}"])

        # Follow: both attached, then the container writes (it waits a few seconds first).
        uuid, docker_id = start_container(address, headers, "follow", f"sh -c 'sleep 5; seq 1 {lines}; sleep 3600'")
        results = {}
        docker_thread = threading.Thread(
            target=lambda: results.__setitem__("docker", docker_lines(docker_cli("logs", "-f", docker_id), lines))
        )
        docker_thread.start()
        results["server"] = stream_lines(address, f"/v1/container/{uuid}/logs/?follow=true", headers, lines)
        docker_thread.join(120)
        rows.append(
            [
                "logs, follow (lines/s)",
                rate(lines, results["server"]),
                rate(lines, results["docker"]),
                f"{results['docker'] / results['server']:.2f}",
            ]
        )

        # Exec: a whole session per command, then line round trips in one session.
        def server_exec():
            started = time.perf_counter()
            with ws(address, f"/v1/container/{uuid}/exec/?command=echo+hi", headers) as socket:
                messages = [json.loads(socket.recv(timeout=30)) for _ in range(2)]
            assert messages[-1] == {"type": "exit", "exit_code": 0}, messages
            return time.perf_counter() - started

        def docker_exec():
            started = time.perf_counter()
            subprocess.run(docker_cli("exec", docker_id, "echo", "hi"), check=True, capture_output=True)
            return time.perf_counter() - started

        server_times = [server_exec() for _ in range(rounds)]
        docker_times = [docker_exec() for _ in range(rounds)]
        s, d = statistics.median(server_times) * 1000, statistics.median(docker_times) * 1000
        rows.append(["exec echo hi (ms, median)", f"{s:.1f}", f"{d:.1f}", f"{d / s:.2f}"])

        with ws(address, f"/v1/container/{uuid}/exec/?command=sh", headers) as socket:
            trips = []
            for n in range(rounds):
                started = time.perf_counter()
                socket.send(f"echo {n}\n")
                assert json.loads(socket.recv(timeout=30))["output"] == f"{n}\n"
                trips.append(time.perf_counter() - started)
        rows.append(["exec line in a session (ms, median)", f"{statistics.median(trips) * 1000:.2f}", "-", "-"])

        # Event latency: a service row no worker acts on (stopped, no containers), changed one time after another.
        from django.contrib.auth import get_user_model

        from apps.services.models import Service

        owner = get_user_model().objects.get(username=username)
        evented = Service.objects.create(
            owner=owner,
            name="evented",
            unique_name="evented",
            image_repository="local/busybox",
            state="Stopped",
            target_num_containers=0,
        )
        for count in (1, args.subscribers):
            latencies = event_latencies(address, headers, evented.pk, count, changes)
            p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
            label = f"event latency, {count} subscriber{'s' if count > 1 else ''} (ms, p50 / p99)"
            rows.append([label, f"{p50:.1f} / {p99:.1f}", "-", "-"])

        print(table(rows, ["what", "stream API", "docker CLI", "docker / stream"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
