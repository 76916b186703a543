"""API throughput: filtered lists, details and a rejected key, beside a static DRF endpoint (the ceiling),
at 1,000 and at 10,000 applications (3 containers each, 10 users) in the same run, plus SQL queries per
request for page sizes 1, 25 and 100.

    .venv/bin/python bench/api.py [--smoke] [--seconds N] [--passes N] [--connections N] [--loader auto|wrk|python]

Everything runs on this machine: a Postgres database of its own (dropped at the end), gunicorn with
production settings (-w 4 --threads 4, DEBUG off) on a free port, and the load from a second process.
"""

import argparse
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import load as loadgen  # noqa: E402
from bench.harness import Stack, Stopwatch, log, machine_facts, median, table  # noqa: E402

USERS = 10
CONTAINERS_PER_APP = 3
APPS_PER_NAME = 50  # per user: the container list filtered by application name returns the same rows at any size


def populate(start: int, stop: int, users, node, using: str = "default") -> None:
    """Applications start..stop-1 (spread over the users) with their containers and ports, by bulk_create."""
    from django.db import connections
    from django.utils import timezone

    from apps.containers.models import Container, ContainerPort
    from apps.services.models import Service, ServicePort

    now = timezone.now()
    services = []
    for i in range(start, stop):
        owner, k = users[i % len(users)], i // len(users)
        name = f"app{k // APPS_PER_NAME}"
        running = k % 5 != 4
        services.append(
            Service(
                owner=owner,
                name=name,
                unique_name=name if k % APPS_PER_NAME == 0 else f"{name}-{k % APPS_PER_NAME + 1}",
                image_repository="local/busybox",
                image_defaults_applied=True,
                run_command="sleep 3600",
                target_num_containers=CONTAINERS_PER_APP,
                state="Running" if running else "Stopped",
                next_container_number=CONTAINERS_PER_APP + 1,
                deployed_datetime=now,
                started_datetime=now,
                stopped_datetime=None if running else now,
            )
        )
    Service.objects.using(using).bulk_create(services, batch_size=2000)
    ServicePort.objects.using(using).bulk_create(
        (ServicePort(service=a, inner_port=80, protocol="tcp") for a in services), batch_size=5000
    )
    containers = [
        Container(
            service=a,
            node=node,
            number=n,
            unique_name=f"{a.unique_name}-{n}",
            state=a.state,
            docker_id=f"{a.pk:032x}{n:032x}",
            deployed_datetime=now,
            started_datetime=now,
            stopped_datetime=a.stopped_datetime,
            exit_code=None if a.state == "Running" else 0,
            exit_code_msg=None if a.state == "Running" else "Exit code 0 (Success)",
        )
        for a in services
        for n in range(1, CONTAINERS_PER_APP + 1)
    ]
    Container.objects.using(using).bulk_create(containers, batch_size=5000)
    ContainerPort.objects.using(using).bulk_create(
        (
            ContainerPort(container=c, inner_port=80, outer_port=32768 + c.pk % 20000, protocol="tcp")
            for c in containers
        ),
        batch_size=5000,
    )
    with connections[using].cursor() as cursor:
        cursor.execute("ANALYZE")


CACHED, UNCACHED = "cached", "uncached"  # the servers: list cache on (the default) and off
ASGI = "asgi"  # the same as CACHED under uvicorn, the ASGI server that also serves the streams


def endpoints(
    username: str, key: str, app_uuid: str, container_uuid: str, action_uuid: str
) -> list[tuple[str, str, dict, int, str]]:
    """(label, path, headers, expected status, server). The cached server answers a repeated list from its
    page cache (apps/core/listcache.py), as it does for a client polling a list that does not change; the
    uncached one builds every page, as after each change."""
    auth = {"Authorization": f"ApiKey {username}:{key}"}
    wrong = {"Authorization": f"ApiKey {username}:{'0' * 40}"}
    application_list = "/api/v1/application/?state=Running&limit=25"
    container_list = "/api/v1/container/?application__name=app0&limit=25"
    service_list = "/api/v1/service/?state=Running&limit=25"
    return [
        ("ceiling (static DRF, no auth)", "/bench/ceiling/", {}, 200, CACHED),
        ("ceiling + ApiKey auth", "/bench/ceiling-auth/", auth, 200, CACHED),
        ("application list ?state=Running&limit=25", application_list, auth, 200, CACHED),
        ("container list ?application__name=app0", container_list, auth, 200, CACHED),
        ("application list, cache off", application_list, auth, 200, UNCACHED),
        ("container list, cache off", container_list, auth, 200, UNCACHED),
        ("application detail", f"/api/v1/application/{app_uuid}/", auth, 200, CACHED),
        ("container detail", f"/api/v1/container/{container_uuid}/", auth, 200, CACHED),
        ("rejected key (401)", application_list, wrong, 401, CACHED),
        # The 2015 face of the same rows, and the action detail every `--sync` of the final CLI polls.
        ("service list ?state=Running&limit=25", service_list, auth, 200, CACHED),
        ("service list, cache off", service_list, auth, 200, UNCACHED),
        ("service detail", f"/api/v1/service/{app_uuid}/", auth, 200, CACHED),
        ("action detail", f"/api/v1/action/{action_uuid}/", auth, 200, CACHED),
        # The same requests on the ASGI server (uvicorn), to say what it costs against gunicorn.
        ("uvicorn: ceiling + ApiKey auth", "/bench/ceiling-auth/", auth, 200, ASGI),
        ("uvicorn: application list ?state=Running&limit=25", application_list, auth, 200, ASGI),
        ("uvicorn: service list ?state=Running&limit=25", service_list, auth, 200, ASGI),
        ("uvicorn: service detail", f"/api/v1/service/{app_uuid}/", auth, 200, ASGI),
        ("uvicorn: action detail", f"/api/v1/action/{action_uuid}/", auth, 200, ASGI),
    ]


def count_queries(username: str, key: str, app_uuid: str, container_uuid: str, action_uuid: str) -> list[list]:
    """SQL queries per request, in-process through Django's test client (same settings, same database)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"ApiKey {username}:{key}"}
    wrong = {"HTTP_AUTHORIZATION": f"ApiKey {username}:{'0' * 40}"}
    cases = []
    for limit in (1, 25, 100):
        cases.append(
            (
                f"application list ?state=Running&limit={limit}",
                f"/api/v1/application/?state=Running&limit={limit}",
                auth,
            )
        )
    for limit in (1, 25, 100):
        cases.append(
            (
                f"container list ?application__name=app0&limit={limit}",
                f"/api/v1/container/?application__name=app0&limit={limit}",
                auth,
            )
        )
    for limit in (1, 25, 100):
        cases.append(
            (f"service list ?state=Running&limit={limit}", f"/api/v1/service/?state=Running&limit={limit}", auth)
        )
    cases += [
        ("service detail", f"/api/v1/service/{app_uuid}/", auth),
        ("action detail", f"/api/v1/action/{action_uuid}/", auth),
        ("application detail", f"/api/v1/application/{app_uuid}/", auth),
        ("container detail", f"/api/v1/container/{container_uuid}/", auth),
        ("rejected key (401)", "/api/v1/application/", wrong),
    ]
    client.get("/bench/ceiling-auth/", **auth)  # the key's last_used is written once a minute, not per request
    rows = []
    for label, path, headers in cases:
        counts = []
        for _ in range(2):  # built, then (lists) from the page cache
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path, **headers)
            counts.append(len(captured))
        objects = response.json().get("objects") if response.status_code == 200 else None
        rows.append([label, response.status_code, len(objects) if objects is not None else "-", *counts])
    return rows


def setup_database(using: str, key: str):
    """Ten users, the benchmark's key for the first one, the default node; returns (users, node)."""
    from django.contrib.auth import get_user_model

    from apps.accounts.models import ApiKey, hash_key
    from apps.nodes.models import Node

    users = [get_user_model().objects.db_manager(using).create(username=f"user{i}") for i in range(USERS)]
    ApiKey.objects.using(using).create(user=users[0], key_hash=hash_key(key), prefix=key[:8], name="bench")
    node = Node.objects.using(using).create(name="default", docker_host="unix:///var/run/docker.sock")
    return users, node


def targets_of(using: str) -> tuple[str, str, str]:
    """An application of user0 named app0, one of its containers, and an action on it (what `--sync` polls):
    the detail endpoints' objects."""
    from apps.actions.models import Action
    from apps.containers.models import Container

    container = (
        Container.objects.using(using)
        .select_related("service__owner")
        .filter(service__owner__username="user0", service__name="app0")
        .first()
    )
    service = container.service
    action, _ = Action.objects.using(using).get_or_create(
        owner=service.owner,
        target_kind="service",
        target_uuid=service.uuid,
        defaults={"object": f"/api/v1/service/{service.uuid}/", "action": "Service Scale", "state": "In progress"},
    )
    return str(service.uuid), str(container.uuid), str(action.uuid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and short loads (CI)")
    parser.add_argument("--seconds", type=float, help="load per pass, endpoint and size (default 4, smoke 0.3)")
    parser.add_argument("--passes", type=int, help="alternating passes per endpoint; medians reported (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--loader", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    small, large = (10, 20) if args.smoke else (1_000, 10_000)
    sizes = (small, large)
    seconds = args.seconds or (0.3 if args.smoke else 4)
    passes = args.passes or (1 if args.smoke else 5)
    connections = 4 if args.smoke else args.connections
    username, key = "user0", secrets.token_hex(20)

    # Two databases, two servers: the small and the large one are loaded in alternation, so a busier moment
    # of the machine falls on both sizes alike and the latency ratio measures the size, not the moment.
    with Stack("api", smoke=args.smoke, extra_databases=("small",)) as stack:
        watch = Stopwatch()
        users, node = setup_database("default", key)
        populate(0, small, users, node)
        queries = {small: count_queries(username, key, *targets_of("default"))}
        populate(small, large, users, node)
        queries[large] = count_queries(username, key, *targets_of("default"))
        small_users, small_node = setup_database("small", key)
        populate(0, small, small_users, small_node, using="small")
        log(f"{large:,} + {small:,} applications with {CONTAINERS_PER_APP} containers each in {watch():.1f}s")
        cache_off = {"TUTUM_LIST_CACHE_SECONDS": "0"}
        # The smoke run goes beside the other benchmarks' servers on one Postgres: one worker per server
        # keeps the six servers' kept connections well inside its 100.
        workers = 1 if args.smoke else 4
        urls = {
            (large, CACHED): stack.start_api(workers=workers),
            (small, CACHED): stack.start_api(database="small", workers=workers),
            (large, UNCACHED): stack.start_api(variant=UNCACHED, env=cache_off, workers=workers),
            (small, UNCACHED): stack.start_api(database="small", variant=UNCACHED, env=cache_off, workers=workers),
            (large, ASGI): stack.start_api(server="uvicorn", workers=workers),
            (small, ASGI): stack.start_api(database="small", server="uvicorn", workers=workers),
        }
        objects = {large: targets_of("default"), small: targets_of("small")}

        runs: dict[tuple[str, int], list[loadgen.Load]] = {}
        for index in range(len(endpoints(username, key, "a", "c", "x"))):
            for pass_ in range(passes):
                for size in sizes:
                    label, path, headers, expect, server = endpoints(username, key, *objects[size])[index]
                    url = urls[(size, server)] + path
                    if pass_ == 0 and not args.smoke:
                        loadgen.run(url, headers, 1, connections, args.loader, expect)  # warm-up
                    result = loadgen.run(url, headers, seconds, connections, args.loader, expect)
                    if result.bad_status or result.errors:
                        raise RuntimeError(f"{label}: {result.bad_status} unexpected statuses, {result.errors} errors")
                    runs.setdefault((label, size), []).append(result)
                    log(f"{size:>6} {label}: {result.rps:.0f}/s p50 {result.p50_ms:.1f} p99 {result.p99_ms:.1f} ms")

    def summary(label, size):
        values = runs[(label, size)]
        return (
            median([r.rps for r in values]),
            median([r.p50_ms for r in values]),
            median([r.p99_ms for r in values]),
        )

    labels = [label for label, *_ in endpoints("u", "k", "a", "c", "x")]
    service_list, service_list_built = labels[9], labels[10]
    ceiling = {size: summary(labels[0], size)[0] for size in sizes}
    keyed_ceiling = {size: summary(labels[1], size)[0] for size in sizes}
    rows = []
    for label in labels:
        for size in sizes:
            rps, p50, p99 = summary(label, size)
            rows.append(
                [
                    label,
                    f"{size:,}",
                    f"{rps:.0f}",
                    f"{p50:.1f}",
                    f"{p99:.1f}",
                    f"{rps / ceiling[size]:.0%}",
                    f"{rps / keyed_ceiling[size]:.0%}",
                ]
            )
    facts = machine_facts()
    tool = next(iter(runs.values()))[0].tool
    print(
        f"# API throughput ({tool}, {connections} connections, median of {passes} pass(es) of {seconds:g}s, "
        f"gunicorn -w {workers} --threads 4, uvicorn --workers {workers})"
    )
    print("machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
    print()
    print(
        table(
            rows,
            ["endpoint", "applications", "req/s", "p50 ms", "p99 ms", "of no-auth static", "of ceiling (key check)"],
        )
    )
    print()
    print("# SQL queries per request")
    qrows = [
        [label, f"{size:,}", status, n, q, again] for size in sizes for label, status, n, q, again in queries[size]
    ]
    print(table(qrows, ["request", "applications", "status", "objects", "queries", "repeated"]))
    print()

    print("# Targets")
    # The ceiling is "a minimal DRF endpoint on the same server": with this server's DRF defaults,
    # that endpoint checks the key, as every list does. The one without authentication is shown for scale.
    for label in [*labels[2:4], service_list]:
        share = summary(label, large)[0] / keyed_ceiling[large]
        verdict = "PASS" if share >= 0.5 else "MISS"
        print(f"{verdict} {label}: {share:.0%} of the ceiling's throughput (target >= 50%)")
    for label in labels[2:6]:
        share = summary(label, large)[0] / ceiling[large]
        print(f"info {label}: {share:.0%} of the static ceiling without authentication")
    asgi = [label for label in labels if label.startswith("uvicorn: ")]
    for label in asgi:
        wsgi_label = {"uvicorn: ceiling + ApiKey auth": labels[1]}.get(label, label.removeprefix("uvicorn: "))
        share = summary(label, large)[0] / summary(wsgi_label, large)[0]
        print(f"info {label}: {share:.0%} of the same request's throughput under gunicorn")
    for label in [*labels[4:6], service_list_built, *labels[11:13]]:
        share = summary(label, large)[0] / keyed_ceiling[large]
        print(f"info {label}: {share:.0%} of the ceiling's throughput (lists: every page built)")
    # A page that ends the list (not full) skips the COUNT: one query fewer, never more, as pages grow.
    # Built: the key, the list versions, the page, the count, when the first terminated row leaves the list.
    built: dict[tuple, list[int]] = {}  # (size, endpoint): queries at page sizes 1, 25, 100
    repeated: set[int] = set()
    for size in sizes:
        for label, _, _, first, again in queries[size]:
            if " list " in label:
                built.setdefault((size, label.split("&limit=")[0]), []).append(first)
                repeated.add(again)
    bounded = all(max(counts) <= 5 and counts[-1] <= counts[0] for counts in built.values()) and max(repeated) <= 5
    seen = sorted({q for counts in built.values() for q in counts})
    print(
        f"{'PASS' if bounded else 'MISS'} queries per list request: {seen} built, {sorted(repeated)} repeated "
        "(from the page cache), at page sizes 1, 25, 100 (target: <= 5, not growing with the page size)"
    )
    for label in labels[2:]:
        ratio = summary(label, large)[1] / summary(label, small)[1]
        verdict = "PASS" if ratio <= 1.25 else "MISS"
        print(f"{verdict} {label}: p50 at {large:,} / p50 at {small:,} applications = {ratio:.2f} (target <= 1.25)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
