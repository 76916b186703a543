"""Orchestration speed: an application of 20 containers from POST to all Running, and from DELETE to no
container left, beside the same 20 containers made by a plain docker-py loop (sequential, and 4 threads:
the engine's ceiling on this machine) and by `docker-compose up -d --scale web=20`.

Then a stack of three linked services, web x16 -> api x3 -> db x1 (20 containers), as `tutum stack up`
makes it (`POST /api/v1/stack/` with the stack file's services, then `start/`) to all Running, beside the
same services from the equivalent compose file (`docker-compose up -d`, `links` and `scale`); then `tutum
stack update` of web's environment (PATCH the stack, `redeploy/`) to all Running again, checked to have
replaced web's containers only, beside `docker-compose up -d` of the changed file; then terminate / down.

    .venv/bin/python bench/orchestration.py [--smoke] [--containers N] [--rounds N]

The server side is real: gunicorn, a Celery worker (-P threads -c 8) on a Redis server of its own, beat and
the events watcher, against a Postgres database of its own. Every container is labelled
tutum.instance=<TUTUM_INSTANCE>-bench-orchestration and removed at the end.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Stack, api_headers, log, machine_facts, median, request, run_threads, table  # noqa: E402

IMAGE = "local/busybox:latest"
COMMAND = ["sleep", "3600"]
MEMORY_MB, CPU_SHARES = 256, 256  # container_size XS, as the server gives it
ENV = {"BENCH": "1", "TUTUM_CONTAINER_API_URL": "http://127.0.0.1/api/v1/container/x/"}
# How often the API is asked whether the application is Running. Each answer costs the server ~10 ms of CPU
# on a 2-core machine where the engine is CPU-bound: polled every 50 ms, the polling alone took 0.6-0.9 s
# of CPU per round from the work being timed. 0.1 s adds at most 0.1 s (0.05 s on average) to the time.
POLL_SECONDS = 0.1


def labels(stack: Stack, kind: str, round_: int) -> dict[str, str]:
    return {"tutum.instance": stack.baseline_instance, "tutum.bench": f"{kind}-{round_}"}


# ---------------------------------------------------------------- the server


def server_round(stack: Stack, headers: dict, n: int, round_: int) -> tuple[float, float]:
    client = stack.docker()
    body = {
        "image": IMAGE,
        "name": f"orch{round_}",
        "target_num_containers": n,
        "run_command": " ".join(COMMAND),
        "container_envvars": [{"key": "BENCH", "value": "1"}],
    }
    started = time.monotonic()
    status, app = request("POST", f"{stack.url}/api/v1/application/", headers, body)
    if status != 202:
        raise RuntimeError(f"POST application answered {status}: {app}")
    uri = f"{stack.url}{app['resource_uri']}"
    # Polled through the list filtered by uuid: the same fields as the detail without serializing every
    # container and its link variables 20 times a second, which would take CPU from the worker being timed.
    poll = f"{stack.url}/api/v1/application/?uuid={app['uuid']}"

    def state():
        _, data = request("GET", poll, headers)
        return (data.get("objects") or [{}])[0]

    deadline = started + 120
    while True:
        data = state()
        if data.get("state") == "Running" and data.get("running_num_containers") == n:
            break
        if (
            data.get("state") in ("Start failed", "Partly running", "Stopped with errors")
            or time.monotonic() > deadline
        ):
            raise RuntimeError(
                f"application did not reach Running: {data.get('state')}\n{stack.logs('worker')[-3000:]}"
            )
        time.sleep(POLL_SECONDS)
    up = time.monotonic() - started
    log(f"  {lag(app['uuid'])}")
    running = client.api.containers(filters={"label": f"tutum.service={app['uuid']}"})
    if len(running) != n:
        raise RuntimeError(f"the API says Running but Docker runs {len(running)} of {n}")

    started = time.monotonic()
    status, _ = request("DELETE", uri, headers)
    if status != 202:
        raise RuntimeError(f"DELETE answered {status}")
    while client.api.containers(all=True, filters={"label": f"tutum.service={app['uuid']}"}):
        if time.monotonic() - started > 120:
            raise RuntimeError("containers still there 120 s after terminate")
        time.sleep(POLL_SECONDS)
    down = time.monotonic() - started
    while state().get("state") != "Terminated":
        if time.monotonic() - started > 120:
            raise RuntimeError("application not Terminated 120 s after terminate")
        time.sleep(POLL_SECONDS)
    return up, down


def lag(app_uuid: str) -> str:
    """Where the time went, from the database: POST to first and last container recorded Running."""
    from django.db.models import Max, Min

    from apps.services.models import Service

    app = Service.objects.get(uuid=app_uuid)
    times = app.containers.aggregate(first=Min("started_datetime"), last=Max("started_datetime"))
    first, last = ((t - app.created).total_seconds() for t in (times["first"], times["last"]))
    return f"POST to first container Running {first:.2f}s, to last {last:.2f}s"


# ---------------------------------------------------------------- baselines


def dockerpy_round(stack: Stack, n: int, threads: int, round_: int) -> tuple[float, float]:
    client = stack.docker()
    api = client.api
    kind = f"dockerpy{threads}"

    def create_and_start(i: int) -> str:
        host_config = api.create_host_config(
            mem_limit=f"{MEMORY_MB}m", cpu_shares=CPU_SHARES, restart_policy={"Name": "no"}
        )
        created = api.create_container(
            IMAGE,
            command=COMMAND,
            name=f"{stack.instance}-{kind}-{round_}-{i}",
            labels=labels(stack, kind, round_),
            environment=ENV,
            host_config=host_config,
            detach=True,
        )
        api.start(created["Id"])
        ids.append(created["Id"])

    ids: list[str] = []
    started = time.monotonic()
    run_threads(create_and_start, range(n), threads)
    up = time.monotonic() - started
    started = time.monotonic()
    run_threads(lambda cid: api.remove_container(cid, force=True, v=True), list(ids), threads)
    down = time.monotonic() - started
    return up, down


COMPOSE = """version: "2.4"
services:
  web:
    image: {image}
    command: {command}
    mem_limit: {memory}m
    cpu_shares: {cpu}
    environment:
{env}
    labels:
      tutum.instance: "{instance}"
      tutum.bench: "compose"
"""


def compose_round(stack: Stack, n: int, round_: int) -> tuple[float, float] | None:
    binary = shutil.which("docker-compose")
    if binary is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="tutum-bench-compose-"))
    env = "\n".join(f'      {k}: "{v}"' for k, v in ENV.items())
    (folder / "docker-compose.yml").write_text(
        COMPOSE.format(
            image=IMAGE, command=COMMAND, memory=MEMORY_MB, cpu=CPU_SHARES, env=env, instance=stack.baseline_instance
        )
    )
    project = f"{stack.instance}-compose-{round_}".replace("_", "-")
    compose = [binary, "-p", project, "-f", str(folder / "docker-compose.yml")]
    try:
        started = time.monotonic()
        subprocess.run([*compose, "up", "-d", "--scale", f"web={n}"], check=True, capture_output=True)
        up = time.monotonic() - started
        started = time.monotonic()
        subprocess.run([*compose, "down", "-t", "0"], check=True, capture_output=True)
        down = time.monotonic() - started
        return up, down
    finally:
        subprocess.run([*compose, "down", "-t", "0"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- stacks

# Services of the stack in link order (each links to the one before) and their containers.
STACK_SHAPE = {"db": 1, "api": 3, "web": 16}
SMOKE_STACK_SHAPE = {"db": 1, "api": 1, "web": 1}
CHANGED = "web"  # the service whose environment `stack update` changes


def stack_file(shape: dict[str, int], colour: str) -> list[dict]:
    """The services as the CLI sends a stack file: its keys plus "name", a list in the file's order."""
    services, previous = [], None
    for name, count in shape.items():
        service = {
            "name": name,
            "image": IMAGE,
            "command": " ".join(COMMAND),
            "target_num_containers": count,
            "environment": {"BENCH": "1", **({"COLOUR": colour} if name == CHANGED else {})},
        }
        if previous:
            service["links"] = [previous]
        services.append(service)
        previous = name
    return services


def running_ids(client, services: dict[str, list[str]]) -> dict[str, set[str]]:
    """Docker ids of the running containers of each service, found by all of its `key=value` labels."""
    return {
        name: {c["Id"] for c in client.api.containers(filters={"label": found})} for name, found in services.items()
    }


def check_update(shape: dict[str, int], before: dict[str, set[str]], after: dict[str, set[str]], who: str) -> None:
    """Every service runs its count; the changed one in new containers only, the others in the same ones."""
    counts = {name: len(ids) for name, ids in after.items()}
    if counts != shape:
        raise RuntimeError(f"{who}: Docker runs {counts} after the update, not {shape}")
    for name, ids in after.items():
        if name == CHANGED and ids & before[name]:
            raise RuntimeError(f"{who}: {len(ids & before[name])} of {name}'s containers were not replaced")
        if name != CHANGED and ids != before[name]:
            raise RuntimeError(f"{who}: the update replaced containers of {name}, which did not change")


def server_stack_round(stack: Stack, headers: dict, shape: dict[str, int], round_: int) -> tuple[float, float, float]:
    client = stack.docker()
    name = f"stack{round_}"
    poll = None

    def wait_running(started: float, what: str) -> dict:
        deadline = started + 120
        while True:
            _, data = request("GET", poll, headers)
            data = (data.get("objects") or [{}])[0]
            if data.get("state") == "Running" and data.get("synchronized"):
                return data
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"stack not Running after {what}: {data.get('state')}\n{stack.logs('worker')[-3000:]}"
                )
            time.sleep(POLL_SECONDS)

    started = time.monotonic()
    status, created = request(
        "POST", f"{stack.url}/api/v1/stack/", headers, {"name": name, "services": stack_file(shape, "blue")}
    )
    if status != 201:
        raise RuntimeError(f"POST stack answered {status}: {created}")
    uri = f"{stack.url}{created['resource_uri']}"
    poll = f"{stack.url}/api/v1/stack/?uuid={created['uuid']}"
    status, answer = request("POST", f"{uri}start/", headers)
    if status != 202:
        raise RuntimeError(f"POST stack start answered {status}: {answer}")
    wait_running(started, "start")
    up = time.monotonic() - started

    _, listed = request("GET", f"{stack.url}/api/v1/service/?stack={quote(created['resource_uri'])}", headers)
    services = {s["name"]: [f"tutum.service={s['uuid']}"] for s in listed["objects"]}
    before = running_ids(client, services)
    counts = {n: len(ids) for n, ids in before.items()}
    if counts != shape:
        raise RuntimeError(f"the API says Running but Docker runs {counts}, not {shape}")

    started = time.monotonic()
    status, answer = request("PATCH", uri, headers, {"name": name, "services": stack_file(shape, "green")})
    if status != 200:
        raise RuntimeError(f"PATCH stack answered {status}: {answer}")
    status, answer = request("POST", f"{uri}redeploy/", headers)
    if status != 202:
        raise RuntimeError(f"POST stack redeploy answered {status}: {answer}")
    wait_running(started, "redeploy")
    update = time.monotonic() - started
    check_update(shape, before, running_ids(client, services), "tutumserver")

    started = time.monotonic()
    status, _ = request("DELETE", uri, headers)
    if status != 202:
        raise RuntimeError(f"DELETE stack answered {status}")
    while any(client.api.containers(all=True, filters={"label": found}) for found in services.values()):
        if time.monotonic() - started > 120:
            raise RuntimeError("stack containers still there 120 s after terminate")
        time.sleep(POLL_SECONDS)
    down = time.monotonic() - started
    return up, update, down


COMPOSE_STACK_SERVICE = """  {name}:
    image: {image}
    command: {command}
    scale: {count}
    mem_limit: {memory}m
    cpu_shares: {cpu}
    environment:
{env}
    labels:
      tutum.instance: "{instance}"
      tutum.bench: "compose-stack-{round_}"
"""


def compose_stack_file(stack: Stack, shape: dict[str, int], colour: str, round_: int) -> str:
    text, previous = 'version: "2.4"\nservices:\n', None
    for name, count in shape.items():
        env = {**ENV, **({"COLOUR": colour} if name == CHANGED else {})}
        text += COMPOSE_STACK_SERVICE.format(
            name=name,
            image=IMAGE,
            command=COMMAND,
            count=count,
            memory=MEMORY_MB,
            cpu=CPU_SHARES,
            env="\n".join(f'      {k}: "{v}"' for k, v in env.items()),
            instance=stack.baseline_instance,
            round_=round_,
        )
        if previous:
            text += f"    links:\n      - {previous}\n"
        previous = name
    return text


def compose_stack_round(stack: Stack, shape: dict[str, int], round_: int) -> tuple[float, float, float] | None:
    binary = shutil.which("docker-compose")
    if binary is None:
        return None
    client = stack.docker()
    folder = Path(tempfile.mkdtemp(prefix="tutum-bench-compose-stack-"))
    path = folder / "docker-compose.yml"
    project = f"{stack.instance}-compose-stack-{round_}".replace("_", "-")
    compose = [binary, "-p", project, "-f", str(path)]

    # The round's own label, and the service label compose gives each container.
    services = {n: [f"tutum.bench=compose-stack-{round_}", f"com.docker.compose.service={n}"] for n in shape}

    def ids() -> dict[str, set[str]]:
        return running_ids(client, services)

    try:
        path.write_text(compose_stack_file(stack, shape, "blue", round_))
        started = time.monotonic()
        subprocess.run([*compose, "up", "-d"], check=True, capture_output=True)
        up = time.monotonic() - started
        before = ids()
        counts = {n: len(found) for n, found in before.items()}
        if counts != shape:
            raise RuntimeError(f"docker-compose up: Docker runs {counts}, not {shape}")

        path.write_text(compose_stack_file(stack, shape, "green", round_))
        # `-t 0`: the old containers killed at once, as the server's redeploy removes them (force); with
        # compose's default 10 s, `sleep` (PID 1, deaf to SIGTERM) would make this row 10 s slower.
        started = time.monotonic()
        subprocess.run([*compose, "up", "-d", "-t", "0"], check=True, capture_output=True)
        update = time.monotonic() - started
        check_update(shape, before, ids(), "docker-compose")

        started = time.monotonic()
        subprocess.run([*compose, "down", "-t", "0"], check=True, capture_output=True)
        down = time.monotonic() - started
        return up, update, down
    finally:
        subprocess.run([*compose, "down", "-t", "0"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="2 containers, 1 round (CI)")
    parser.add_argument("--containers", type=int, help="containers per application (default 20, smoke 2)")
    parser.add_argument("--rounds", type=int, help="rounds of each method; medians are reported (default 3)")
    args = parser.parse_args()
    n = args.containers or (2 if args.smoke else 20)
    rounds = args.rounds or (1 if args.smoke else 3)
    shape = SMOKE_STACK_SHAPE if args.smoke else STACK_SHAPE
    server_stack = "tutumserver stack (POST /stack/ + start/)"
    compose_stack = "docker-compose up -d (links, scale)"

    times: dict[str, list[tuple[float, float]]] = {}
    stack_times: dict[str, list[tuple[float, float, float]]] = {}
    with Stack("orchestration", smoke=args.smoke) as stack:
        username, key = stack.user_with_key()
        headers = api_headers(username, key)
        stack.start_api(workers=2)
        stack.start_worker()
        stack.docker().images.get(IMAGE)  # fails early when the test image was never built
        for round_ in range(rounds):
            # Interleaved, so that a slower moment of the machine hits every method alike.
            methods = {
                "tutumserver (API + worker -P threads -c 8)": lambda r=round_: server_round(stack, headers, n, r),
                "docker-py, sequential": lambda r=round_: dockerpy_round(stack, n, 1, r),
                "docker-py, 4 threads": lambda r=round_: dockerpy_round(stack, n, 4, r),
                f"docker-compose up -d --scale web={n}": lambda r=round_: compose_round(stack, n, r),
            }
            for label, method in methods.items():
                result = method()
                if result is None:
                    log(f"{label}: docker-compose is not installed; skipped")
                    continue
                times.setdefault(label, []).append(result)
                log(f"round {round_ + 1}/{rounds} {label}: up {result[0]:.2f}s, down {result[1]:.2f}s")
            stack_methods = {
                server_stack: lambda r=round_: server_stack_round(stack, headers, shape, r),
                compose_stack: lambda r=round_: compose_stack_round(stack, shape, r),
            }
            for label, method in stack_methods.items():
                result = method()
                if result is None:
                    log(f"{label}: docker-compose is not installed; skipped")
                    continue
                stack_times.setdefault(label, []).append(result)
                up, update, down = result
                log(f"round {round_ + 1}/{rounds} {label}: up {up:.2f}s, update {update:.2f}s, down {down:.2f}s")

    ceiling = median([up for up, _ in times["docker-py, 4 threads"]])
    rows = []
    for label, values in times.items():
        up, down = median([u for u, _ in values]), median([d for _, d in values])
        rows.append([label, f"{up:.2f}", f"{n / up:.1f}", f"{up / ceiling:.2f}x", f"{down:.2f}"])
    facts = machine_facts()
    print(f"# Orchestration: {n} containers of {IMAGE} `{' '.join(COMMAND)}`, median of {rounds} round(s)")
    print("machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
    print()
    print(table(rows, ["method", "all running s", "containers/s", "vs 4 threads", "all removed s"]))
    print()
    print("# Targets")
    server = median([up for up, _ in times["tutumserver (API + worker -P threads -c 8)"]])
    ratio = server / ceiling
    print(
        f"{'PASS' if ratio <= 1.2 else 'MISS'} all running: {ratio:.2f}x the 4-thread docker-py time (target <= 1.2x)"
    )
    compose_label = f"docker-compose up -d --scale web={n}"
    if compose_label in times:
        compose = median([up for up, _ in times[compose_label]])
        verdict = "PASS" if server < compose else "MISS"
        print(f"{verdict} all running: {server:.2f}s vs docker-compose {compose:.2f}s (target: faster)")
    else:
        print("n/a docker-compose is not installed (apt-get install docker-compose)")

    services = ", ".join(
        f"{name} x{count}" + (f" (linked to {previous})" if previous else "")
        for (name, count), previous in zip(shape.items(), [None, *shape], strict=False)
    )
    print()
    print(f"# Stacks: {services}: {sum(shape.values())} containers of {IMAGE}, median of {rounds} round(s)")
    print(f"update: {CHANGED}'s environment changed, then redeployed; the other services' containers kept")
    print()
    stack_medians = {label: [median([v[i] for v in values]) for i in range(3)] for label, values in stack_times.items()}
    compose_up = stack_medians.get(compose_stack, [None])[0]
    rows = [
        [
            label,
            f"{up:.2f}",
            f"{up / compose_up:.2f}x" if compose_up else "-",
            f"{update:.2f}",
            f"{down:.2f}",
        ]
        for label, (up, update, down) in stack_medians.items()
    ]
    print(table(rows, ["method", "stack up: all running s", "vs docker-compose", "update: all running s", "removed s"]))
    print()
    up, update, _ = stack_medians[server_stack]
    if compose_up:
        print(f"stack up: {up:.2f}s vs docker-compose {compose_up:.2f}s: {up / compose_up:.2f}x")
    else:
        print(f"stack up: {up:.2f}s; docker-compose is not installed (apt-get install docker-compose)")
    print(f"stack update: {update:.2f}s, only {CHANGED}'s containers replaced (the others' Docker ids unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
