"""Recovery from a fault of the parts around the server, with the production processes and default settings:

- the worker SIGKILLed 0.4 s into a scale from 2 to 16, and a new worker started at once;
- Postgres restarted (a fast shutdown and a start, as `pg_ctlcluster 15 main restart`) 0.3 s into a scale
  from 4 to 12;
- Redis restarted (no persistence) with work queued: while a scale from 2 to 16 has messages waiting.

Each is timed from the end of the fault (the new worker answers `celery inspect ping`; Postgres accepts
connections; Redis answers PING; the other two answering as well) to the declared state (the service
`Running` in the database and every container running in Docker), and the Docker containers of the service
are counted a second later: exactly the target, never one twice. A first row times the same scale from 2 to
16 without a fault, from the PATCH: the work itself, on this machine at this moment.

"today" is the behaviour before the recovery work, switched back on in the same run: the worker, beat and
events watcher run with TUTUM_RESUME_ON_CONNECT=0 and TUTUM_OUTAGE_RETRY_SECONDS=0 (orchestrator/tasks.py),
and the lost work waits for the sweep (TUTUM_SWEEP_INTERVAL_SECONDS=15, TUTUM_STUCK_AFTER_SECONDS=30).
"now" runs with the defaults. The two alternate, round by round.

    .venv/bin/python bench/faults.py [--smoke] [--rounds N]

Everything runs on a Postgres server of the benchmark's own (harness.PrivatePostgres), which the Postgres
fault restarts; nothing else on the machine sees it. --smoke: scales of 1 to 3, one round, and "today" with
a 2 s sweep that counts work stuck after 3 s, so that it ends in seconds (its numbers then mean nothing).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (  # noqa: E402
    PrivatePostgres,
    Stack,
    api_headers,
    log,
    machine_facts,
    median,
    request,
    table,
    wait_for,
)

IMAGE = "local/busybox:latest"
RECOVERY_TARGET = 5.0
TODAY = {"TUTUM_RESUME_ON_CONNECT": "0", "TUTUM_OUTAGE_RETRY_SECONDS": "0"}
NOW: dict[str, str] = {}
SETTLE_TIMEOUT = 150
NAN = float("nan")


class Bench:
    def __init__(self, stack: Stack, postgres: PrivatePostgres, headers: dict, smoke: bool):
        self.stack = stack
        self.postgres = postgres
        self.headers = headers
        self.smoke = smoke
        self.count = 0
        import docker
        import redis

        self.docker = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
        self.redis = redis.Redis(port=stack.redis_port, socket_timeout=1)

    # ------------------------------------------------------------ the service

    def create(self, target: int) -> tuple[str, str]:
        self.count += 1
        body = {"image": IMAGE, "name": f"f{self.count}", "target_num_containers": target, "run_command": "sleep 3600"}
        status, app = request("POST", f"{self.stack.url}/api/v1/application/", self.headers, body)
        if status != 202:
            raise RuntimeError(f"POST answered {status}: {app}")
        self.settled(app["uuid"], target, SETTLE_TIMEOUT)
        return app["uuid"], f"{self.stack.url}{app['resource_uri']}"

    def scale(self, uri: str, target: int) -> None:
        status, body = request("PATCH", uri, self.headers, {"target_num_containers": target})
        if status != 202:
            raise RuntimeError(f"PATCH answered {status}: {body}")

    def terminate(self, uuid: str, uri: str) -> None:
        request("DELETE", uri, self.headers)
        wait_for(lambda: not self.docker_containers(uuid), SETTLE_TIMEOUT, interval=0.2, what="the service gone")

    def docker_containers(self, uuid: str, running_only: bool = False) -> list[dict]:
        return self.docker.api.containers(all=not running_only, filters={"label": f"tutum.service={uuid}"})

    def database_says_running(self, uuid: str, target: int) -> bool:
        from django.db import DatabaseError, close_old_connections

        from apps.services.models import Service

        try:
            service = Service.objects.filter(uuid=uuid).first()
            running = service.containers.filter(state="Running").count() if service else -1
        except DatabaseError:  # our own connection did not outlive the restart either
            close_old_connections()
            from django.db import connection

            connection.close()
            return False
        return service is not None and service.state == "Running" and running == target

    def settled(self, uuid: str, target: int, timeout: float) -> float:
        """Seconds until the service is Running with `target` containers running in Docker."""
        started = time.monotonic()

        def done():
            return len(self.docker_containers(uuid, running_only=True)) == target and self.database_says_running(
                uuid, target
            )

        wait_for(done, timeout, interval=0.05, what=f"{target} containers running and the service Running")
        return time.monotonic() - started

    def count_after_settling(self, uuid: str) -> int:
        """The service's Docker containers a second after it settled, each owner counted once."""
        time.sleep(1)
        found = self.docker_containers(uuid)
        owners = {c["Labels"].get("tutum.container") for c in found}
        return len(found) if len(owners) == len(found) else -len(found)

    # ------------------------------------------------------------ what "the fault ended" means

    def worker_answers(self) -> bool:
        from tutumserver.celery import app

        try:
            return bool(app.control.ping(destination=[self.stack.worker_name], timeout=0.5))
        except Exception:  # noqa: BLE001 - the broker may not answer yet
            return False

    def redis_answers(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:  # noqa: BLE001
            return False

    def all_back(self) -> float:
        wait_for(self.postgres.accepting, 60, interval=0.05, what="Postgres to accept connections")
        wait_for(self.redis_answers, 60, interval=0.05, what="Redis to answer PING")
        wait_for(self.worker_answers, 60, interval=0.05, what="the worker to answer a ping")
        return time.monotonic()

    # ------------------------------------------------------------ the faults

    def undisturbed(self, env: dict, start: int, target: int) -> tuple[float, int, str]:
        """The reference: how long the work itself takes here and now, from the PATCH, with no fault."""
        uuid, uri = self.create(start)
        began = time.monotonic()
        self.scale(uri, target)
        self.settled(uuid, target, SETTLE_TIMEOUT)
        took = time.monotonic() - began
        count = self.count_after_settling(uuid)
        self.terminate(uuid, uri)
        return took, count, "no fault"

    def worker_killed(self, env: dict, start: int, target: int) -> tuple[float, int, str]:
        uuid, uri = self.create(start)
        self.scale(uri, target)
        time.sleep(0.4)
        self.stack.kill("worker")
        running = len(self.docker_containers(uuid, running_only=True))
        self.stack.spawn_worker(env)
        back = self.all_back()
        self.settled(uuid, target, SETTLE_TIMEOUT)
        recovered = time.monotonic() - back
        count = self.count_after_settling(uuid)
        self.terminate(uuid, uri)
        return recovered, count, f"{running}/{target} running at the kill"

    def postgres_restarted(self, env: dict, start: int, target: int) -> tuple[float, int, str]:
        uuid, uri = self.create(start)
        self.scale(uri, target)
        time.sleep(0.3)
        running = len(self.docker_containers(uuid, running_only=True))
        restart_began = time.monotonic()
        self.postgres.restart()
        back = self.all_back()
        self.settled(uuid, target, SETTLE_TIMEOUT)
        recovered = time.monotonic() - back
        count = self.count_after_settling(uuid)
        self.terminate(uuid, uri)
        return recovered, count, f"{running}/{target} running at the restart, which took {back - restart_began:.2f}s"

    def redis_restarted(self, env: dict, start: int, target: int) -> tuple[float, int, str]:
        uuid, uri = self.create(start)
        self.scale(uri, target)
        try:  # 8 worker threads take 8 messages; the rest of the scale's wait in the queue
            queued = wait_for(lambda: self.redis.llen("celery"), 5, interval=0.01, what="messages queued")
        except TimeoutError:
            queued = 0  # all taken already (a small scale): the restart still cuts the tasks from the broker
        self.stack.restart_redis()
        back = self.all_back()
        self.settled(uuid, target, SETTLE_TIMEOUT)
        recovered = time.monotonic() - back
        count = self.count_after_settling(uuid)
        self.terminate(uuid, uri)
        return recovered, count, f"{queued} message(s) queued at the restart"


# (label, method, scale, scale with --smoke)
FAULTS = (
    ("no fault: the scale {}->{} alone, from the PATCH", "undisturbed", (2, 16), (1, 3)),
    ("worker SIGKILL 0.4 s into a scale {}->{}", "worker_killed", (2, 16), (1, 3)),
    ("Postgres restart 0.3 s into a scale {}->{}", "postgres_restarted", (4, 12), (1, 3)),
    ("Redis restart with work queued, scale {}->{}", "redis_restarted", (2, 16), (1, 3)),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="scales of 1 to 3, one round, a short sweep for today")
    parser.add_argument("--rounds", type=int, help="rounds of every fault in both modes; medians (default 2)")
    parser.add_argument("--fault", choices=["worker", "postgres", "redis"], action="append", help="only these")
    parser.add_argument("--mode", choices=["today", "now"], action="append", help="only these (default both)")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.smoke else 2)
    modes = {"today": dict(TODAY), "now": dict(NOW)}
    if args.smoke:
        modes["today"].update(TUTUM_SWEEP_INTERVAL_SECONDS="2", TUTUM_STUCK_AFTER_SECONDS="3")
    modes = {mode: env for mode, env in modes.items() if not args.mode or mode in args.mode}

    results: dict[tuple[str, str], list[tuple[float, int, str]]] = {}
    targets: dict[str, int] = {}
    postgres = PrivatePostgres().start()
    try:
        with Stack("faults", smoke=args.smoke, pg_url=postgres.server_url) as stack:
            username, key = stack.user_with_key()
            bench = Bench(stack, postgres, api_headers(username, key), args.smoke)
            stack.start_api(workers=2)
            for round_ in range(rounds):
                for mode, env in modes.items():  # the modes alternate round by round
                    stack.start_worker(env)
                    for label, method, sizes, smoke_sizes in FAULTS:
                        if args.fault and not any(method.startswith(name) for name in args.fault):
                            continue
                        scale = smoke_sizes if args.smoke else sizes
                        label = label.format(*scale)
                        targets[label] = scale[1]
                        result = getattr(bench, method)(env, *scale)
                        results.setdefault((label, mode), []).append(result)
                        log(
                            f"round {round_ + 1}/{rounds} {label}, {mode}: {result[0]:.2f}s, {result[1]} containers "
                            f"({result[2]})"
                        )
                    stack.stop_worker()
    finally:
        postgres.destroy()

    rows = []
    labels = list(dict.fromkeys(label for label, _ in results))
    for label in labels:
        today, now = results.get((label, "today"), [(NAN, 0, "")]), results.get((label, "now"), [(NAN, 0, "")])
        rows.append(
            [
                label,
                f"{median([r[0] for r in today]):.2f}",
                f"{median([r[0] for r in now]):.2f}",
                f"{max(r[0] for r in now):.2f}",
                " ".join(str(r[1]) for r in today + now),
            ]
        )
    print(f"# Faults: seconds from the fault's end to the declared state, median of {rounds} round(s)")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine_facts().items()))
    print()
    print(table(rows, ["fault", "today s", "now s", "now worst s", "containers after (today, now)"]))
    print()
    worst = max(
        (r[0] for (label, mode), rs in results.items() if mode == "now" and "no fault" not in label for r in rs),
        default=NAN,
    )
    exact = all(r[1] == targets[label] for (label, _), rs in results.items() for r in rs)
    verdict = "PASS" if worst <= RECOVERY_TARGET else "MISS"
    print(f"{verdict} recovery within {RECOVERY_TARGET:.0f} s of the fault's end: worst {worst:.2f}s")
    print(f"{'PASS' if exact else 'MISS'} exactly the target in Docker after every fault, none twice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
