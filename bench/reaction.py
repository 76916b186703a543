"""Reaction to a crash: a container's process killed (SIGKILL from the host, as a crash would) and back to
Running with autorestart ALWAYS, or replaced by a new container with autoreplace ALWAYS, beside Docker's own
restart policy (`restart_policy={"Name": "always"}`) on the same kind of container.

    .venv/bin/python bench/reaction.py [--smoke] [--kills N]

`docker kill` is not used: Docker 20.10 counts it as a manual stop and its restart policy then does nothing,
so it would not measure the baseline at all. Each kill hits a container that has run for a moment only;
the Docker baseline gets a fresh container per kill, so its restart back-off never starts above 100 ms.
"""

import argparse
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Stack, api_headers, log, machine_facts, median, request, table, wait_for  # noqa: E402

IMAGE = "local/busybox:latest"
TIMEOUT = 60


def _started_at(inspect: dict) -> str:
    return inspect["State"]["StartedAt"]


def crash(client, container_id: str) -> tuple[float, datetime, str]:
    """SIGKILL the container's main process; returns monotonic and wall-clock times of the kill."""
    data = client.api.inspect_container(container_id)
    before = _started_at(data)
    wall, mono = datetime.now(UTC), time.monotonic()
    os.kill(data["State"]["Pid"], signal.SIGKILL)
    return mono, wall, before


def wait(predicate, what: str):
    return wait_for(predicate, TIMEOUT, interval=0.02, what=what)


def make_application(stack: Stack, headers: dict, name: str, **policy) -> str:
    body = {"image": IMAGE, "name": name, "target_num_containers": 1, "run_command": "sleep 3600", **policy}
    status, app = request("POST", f"{stack.url}/api/v1/application/", headers, body)
    if status != 202:
        raise RuntimeError(f"POST answered {status}: {app}")
    uri = f"{stack.url}{app['resource_uri']}"
    wait(lambda: request("GET", uri, headers)[1].get("state") == "Running", f"{name} Running")
    return app["uuid"]


def running_container(app_uuid: str):
    from apps.containers.models import Container

    return Container.objects.filter(service__uuid=app_uuid, state="Running").exclude(docker_id="").first()


def autorestart_kill(stack: Stack, app_uuid: str) -> tuple[float, float]:
    """(engine running again, API says Running again) in seconds after the kill."""
    client = stack.docker()
    container = running_container(app_uuid)
    mono, wall, before = crash(client, container.docker_id)

    def engine_running():
        data = client.api.inspect_container(container.docker_id)
        return data["State"]["Running"] and _started_at(data) != before

    wait(engine_running, "the engine to run the container again")
    engine = time.monotonic() - mono

    def recorded():
        container.refresh_from_db()
        return container.state == "Running" and container.started_datetime and container.started_datetime > wall

    wait(recorded, "the container to be Running again")
    return engine, time.monotonic() - mono


def autoreplace_kill(stack: Stack, app_uuid: str) -> tuple[float, float]:
    """(new container running in the engine, API shows the new container Running) after the kill."""
    client = stack.docker()
    old = running_container(app_uuid)
    mono, _, _ = crash(client, old.docker_id)

    def new_running_in_engine():
        found = client.api.containers(filters={"label": f"tutum.service={app_uuid}"})
        return any(c["Labels"].get("tutum.container") != str(old.uuid) for c in found)

    wait(new_running_in_engine, "a replacement container running")
    engine = time.monotonic() - mono

    def recorded():
        new = running_container(app_uuid)
        return new is not None and new.pk != old.pk

    wait(recorded, "the replacement to be Running")
    return engine, time.monotonic() - mono


def docker_policy_kill(stack: Stack, index: int) -> float:
    client = stack.docker()
    container = client.containers.run(
        IMAGE,
        ["sleep", "3600"],
        name=f"{stack.instance}-restartpolicy-{index}",
        labels={"tutum.instance": stack.baseline_instance, "tutum.bench": "restart-policy"},
        mem_limit="256m",
        cpu_shares=256,
        restart_policy={"Name": "always"},
        detach=True,
    )
    try:
        time.sleep(0.5)
        mono, _, before = crash(client, container.id)

        def running_again():
            data = client.api.inspect_container(container.id)
            return data["State"]["Running"] and _started_at(data) != before

        wait(running_again, "Docker's restart policy")
        return time.monotonic() - mono
    finally:
        container.remove(force=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="1 kill of each kind (CI)")
    parser.add_argument("--kills", type=int, help="kills of each kind; medians are reported (default 5)")
    args = parser.parse_args()
    kills = args.kills or (1 if args.smoke else 5)

    restart, replace, policy = [], [], []
    with Stack("reaction", smoke=args.smoke) as stack:
        username, key = stack.user_with_key()
        headers = api_headers(username, key)
        stack.start_api(workers=2)
        stack.start_worker()
        restarting = make_application(stack, headers, "restarts", autorestart="ALWAYS")
        replacing = make_application(stack, headers, "replaces", autoreplace="ALWAYS")
        for i in range(kills):
            time.sleep(0.5)
            restart.append(autorestart_kill(stack, restarting))
            log(f"kill {i + 1}/{kills} autorestart: engine {restart[-1][0]:.2f}s, API {restart[-1][1]:.2f}s")
            time.sleep(0.5)
            replace.append(autoreplace_kill(stack, replacing))
            log(f"kill {i + 1}/{kills} autoreplace: engine {replace[-1][0]:.2f}s, API {replace[-1][1]:.2f}s")
            policy.append(docker_policy_kill(stack, i))
            log(f"kill {i + 1}/{kills} Docker restart policy: {policy[-1]:.2f}s")

    rows = [
        [
            "tutumserver autorestart ALWAYS",
            f"{median([e for e, _ in restart]):.2f}",
            f"{median([a for _, a in restart]):.2f}",
            f"{max(a for _, a in restart):.2f}",
        ],
        [
            "tutumserver autoreplace ALWAYS (new container)",
            f"{median([e for e, _ in replace]):.2f}",
            f"{median([a for _, a in replace]):.2f}",
            f"{max(a for _, a in replace):.2f}",
        ],
        ["Docker restart_policy always", f"{median(policy):.2f}", "-", f"{max(policy):.2f}"],
    ]
    print(f"# Reaction: SIGKILL of a container's process to running again, median of {kills} kill(s)")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine_facts().items()))
    print()
    print(table(rows, ["method", "engine running s", "API Running s", "worst s"]))
    print()
    ratio = median([e for e, _ in restart]) / median(policy)
    print(f"autorestart: {ratio:.1f}x Docker's own restart policy (engine running again)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
