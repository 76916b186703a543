"""End-to-end fixtures: a real Celery worker (and beat) on Redis, against the pytest database and the
local Docker engine. Every Docker container the tests make carries the label tutum.instance=test and
is removed at the end of the session."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

from tests.e2e.helpers import free_port, remove_test_containers

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def docker_client():
    client = docker.DockerClient(base_url=settings.DOCKER_HOST)
    client.ping()
    remove_test_containers(client)
    yield client
    remove_test_containers(client)


def _start(args, env, log_path):
    log = open(log_path, "w")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _worker_env(extra=None):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "TUTUM_SWEEP_INTERVAL_SECONDS": "2",
        "TUTUM_STUCK_AFTER_SECONDS": "5",
        "TUTUM_STOP_TIMEOUT_SECONDS": "2",
        "TUTUM_RESTART_BACKOFF_SECONDS": "2",
    }
    env.update(extra or {})
    return env


class Worker:
    """A Celery worker process (and a beat) that can be killed and started again, as the tests need."""

    def __init__(self, log_dir: Path, extra_env=None):
        self.log_dir = log_dir
        self.env = _worker_env(extra_env)
        self.worker = None
        self.beat = None
        self.events = None
        self.starts = 0

    def start(self):
        self.starts += 1
        celery = [sys.executable, "-m", "celery", "-A", "tutumserver"]
        self.worker = _start(
            [*celery, "worker", "-P", "threads", "-c", "8", "-l", "info", "-n", f"e2e{self.starts}@%h"],
            self.env,
            self.log_dir / f"worker-{self.starts}.log",
        )
        if self.beat is None or self.beat.poll() is not None:
            self.beat = _start(
                [*celery, "beat", "-l", "info", "-s", str(self.log_dir / "beat-schedule")],
                self.env,
                self.log_dir / "beat.log",
            )
        if self.events is None or self.events.poll() is not None:
            self.events = _start([sys.executable, "manage.py", "watchevents"], self.env, self.log_dir / "events.log")
        self._wait_ready()

    def _wait_ready(self, timeout=30):
        log = self.log_dir / f"worker-{self.starts}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in log.read_text(errors="replace"):
                return
            if self.worker.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"worker did not start:\n{log.read_text(errors='replace')[-4000:]}")

    def processes(self):
        return [p for p in (self.worker, self.beat, self.events) if p is not None and p.poll() is None]

    def pause(self):
        for proc in self.processes():
            os.killpg(proc.pid, signal.SIGSTOP)

    def resume(self):
        for proc in self.processes():
            os.killpg(proc.pid, signal.SIGCONT)

    def kill(self, sig=9):
        if self.worker and self.worker.poll() is None:
            os.killpg(self.worker.pid, sig)
            self.worker.wait(timeout=30)

    def stop(self):
        self.resume()
        for proc in (self.worker, self.beat, self.events):
            if proc and proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker, docker_client, tmp_path_factory):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    w = Worker(tmp_path_factory.mktemp("celery"))
    w.start()
    yield w
    w.stop()


# What the suite's worker shortens for speed (a sweep every 2 s, work "stuck" after 5 s, no kept connections);
# the fault tests measure recovery without them, as production runs.
SUITE_ONLY_SETTINGS = ("TUTUM_SWEEP_INTERVAL_SECONDS", "TUTUM_STUCK_AFTER_SECONDS", "DATABASE_CONN_MAX_AGE")


@pytest.fixture
def default_worker(worker):
    """The suite's worker, beat and events watcher started again with the default sweep and connection
    settings, for the test; with the suite's settings again after it."""
    suite_env = worker.env
    worker.stop()
    worker.env = {name: value for name, value in suite_env.items() if name not in SUITE_ONLY_SETTINGS}
    worker.start()
    yield worker
    worker.stop()
    worker.env = suite_env
    worker.start()


@pytest.fixture
def private_postgres():
    """A Postgres server of the test's own, which the test may restart (never the shared one)."""
    from bench.harness import PrivatePostgres

    server = PrivatePostgres()
    try:
        yield server.start()
    finally:
        server.destroy()


@pytest.fixture(autouse=True)
def _quiet_database_between_tests(request):
    """pytest-django empties the database after each e2e test (TRUNCATE). A worker busy at that moment
    would deadlock with it, so the worker processes are frozen, their connections closed and the test's
    Docker containers removed first; they resume at the start of the next test."""
    if "worker" not in request.fixturenames:
        yield
        return
    worker = request.getfixturevalue("worker")
    docker_client = request.getfixturevalue("docker_client")
    worker.resume()
    if worker.worker.poll() is not None:  # a test that killed it failed before starting it again
        print(f"\n[e2e] the worker had ended ({worker.worker.returncode}); starting a new one")
        worker.start()
    yield
    worker.pause()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            # Our own clients only: an autovacuum worker on the database is the superuser's, and ending it is
            # refused ("must be a superuser"), which failed a test's teardown.
            " AND backend_type = 'client backend' AND usename = current_user"
        )
    remove_test_containers(docker_client)


@pytest.fixture
def second_engine(docker_client):
    """A second engine registered as the only schedulable node, with local/busybox loaded."""
    from apps.nodes.models import Node
    from orchestrator.scheduler import ensure_default_node
    from tests.e2e.engines import SecondEngine

    name = f"tt{settings.TUTUM_INSTANCE}"[:8]
    engine = SecondEngine(name, subnet_octet=200 + sum(map(ord, name)) % 50)
    engine.destroy()
    engine.start()
    try:
        engine.load_image(docker_client, "local/busybox:latest")
        Node.objects.filter(pk=ensure_default_node().pk).update(schedulable=False)
        engine.node = Node.objects.create(name=name, docker_host=engine.url, publish_address="127.0.0.1")
        yield engine
    finally:
        engine.destroy()


@pytest.fixture
def broker_redis():
    """The Redis server the test broker runs on, which the fault tests may restart (never the shared one)."""
    import urllib.parse

    port = urllib.parse.urlparse(settings.CELERY_BROKER_URL).port or 6379
    if port == 6379:
        pytest.fail("the broker is the shared Redis on 6379; run through scripts/test, which gives the tests their own")

    class BrokerRedis:
        def restart(self):
            subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
            deadline = time.monotonic() + 10
            while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis did not stop")
                time.sleep(0.1)
            subprocess.run(
                [
                    "redis-server",
                    "--daemonize",
                    "yes",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    "/tmp",
                    "--logfile",
                    f"/tmp/redis-test-{port}.log",
                ],
                check=True,
            )
            while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0:
                time.sleep(0.1)

        def queued(self) -> int:
            """Messages waiting in the queue plus those handed to a worker and not yet acknowledged."""

            def ask(*command):
                out = subprocess.run(["redis-cli", "-p", str(port), *command], capture_output=True, text=True)
                return int(out.stdout.strip() or 0)

            return ask("llen", "celery") + ask("hlen", "unacked")

    return BrokerRedis()


@pytest.fixture
def api_server(tmp_path):
    """Starts the API under gunicorn on the test database: `api_server(extra_env, workers=1)` gives its base
    URL (http://127.0.0.1:<port>) once it answers; every server started is stopped at the end of the test."""
    processes = []

    def start(extra_env=None, workers=1) -> str:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": _database_url(), "DEBUG": "0", **(extra_env or {})}
        args = [sys.executable, "-m", "gunicorn", "tutumserver.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
        log_path = tmp_path / f"gunicorn-{port}.log"
        process = _start(args, env, log_path)
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/api/v1/application/", timeout=2)
                return url
            except requests.RequestException:  # not listening yet, or too busy starting to answer in time
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"the API server did not start:\n{log_path.read_text(errors='replace')[-4000:]}")

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
