"""Dashboard pages against the API's list of the same services: p50 and p99 of each, with 1,000 services
(3 containers each) of one user, in the same run on the same server.

    .venv/bin/python bench/dashboard.py [--smoke] [--requests N]

Everything runs on this machine: a Postgres database of its own (dropped at the end) and gunicorn with
production settings (-w 4 --threads 4, DEBUG off) on a free port, with the API's list page cache off so the
API builds every page, as the dashboard does. The requests of all rows are interleaved, one at a time on a
kept connection, so a busy moment of the machine hits every row alike. The dashboard's goal: 200 ms a page.
"""

import argparse
import http.client
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import populate  # noqa: E402
from bench.harness import Stack, log, machine_facts, table  # noqa: E402

GOAL_MS = 200


def session_cookie(user) -> str:
    """A logged-in dashboard session, written to the server's session store as a login would."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"sessionid={session.session_key}"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="50 services, 20 requests a row")
    parser.add_argument("--requests", type=int, default=None, help="requests per row (default 300)")
    args = parser.parse_args()
    services = 50 if args.smoke else 1000
    per_row = args.requests or (20 if args.smoke else 300)

    with Stack("dashboard", smoke=args.smoke) as stack:
        from django.contrib.auth import get_user_model

        from apps.nodes.models import Node
        from apps.services.models import Service

        user = get_user_model().objects.create_user("bench", password="bench-password")
        node = Node.objects.create(name="bench", docker_host="tcp://127.0.0.1:1", publish_address="127.0.0.1")
        log(f"populating {services} services of one user, 3 containers each")
        populate(0, services, [user], node)
        _, key = stack.user_with_key("bench")
        one = Service.objects.filter(owner=user).order_by("id")[services // 2]
        url = stack.start_api(env={"TUTUM_LIST_CACHE_SECONDS": "0"})
        port = int(url.rsplit(":", 1)[1])

        cookie = {"Cookie": session_cookie(user)}
        api = {"Authorization": f"ApiKey bench:{key}", "Accept": "application/json"}
        poll = {**cookie, "HX-Request": "true"}
        last_page = (services + 49) // 50
        rows = [
            ("dashboard: services page 1 (50 of them)", "/services/", cookie),
            (f"dashboard: services page {last_page}", f"/services/?page={last_page}", cookie),
            ("dashboard: services poll (_service_rows)", "/services/", poll),
            ("dashboard: a service's page", f"/services/{one.uuid}/", cookie),
            ("dashboard: a service's poll (_service_status)", f"/services/{one.uuid}/", poll),
            ("dashboard: containers page 1", "/containers/", cookie),
            ("API: GET /api/v1/service/?limit=50", "/api/v1/service/?limit=50", api),
            ("API: GET /api/v1/service/<uuid>/", f"/api/v1/service/{one.uuid}/", api),
        ]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        timings: dict[str, list[float]] = {label: [] for label, _, _ in rows}

        def get(path, headers) -> float:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            took = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise RuntimeError(f"GET {path}: {response.status}")
            return took

        for _ in range(5):  # warm every worker's code path
            for _, path, headers in rows:
                get(path, headers)
        log(f"{per_row} requests per row, interleaved")
        for _ in range(per_row):
            for label, path, headers in rows:
                timings[label].append(get(path, headers))
        connection.close()

    api_p50 = statistics.median(timings["API: GET /api/v1/service/?limit=50"])
    result = []
    for label, _, _ in rows:
        values = timings[label]
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        goal = "" if label.startswith("API") else ("yes" if p99 <= GOAL_MS else "NO")
        result.append([label, f"{p50:.1f}", f"{p99:.1f}", f"{p50 / api_p50:.2f}", goal])
    facts = machine_facts()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
    print(f"{services} services of one user (3 containers each), {per_row} requests a row, one at a time")
    print(table(result, ["request", "p50 ms", "p99 ms", "p50 / API list p50", f"p99 within {GOAL_MS} ms"]))


if __name__ == "__main__":
    main()
