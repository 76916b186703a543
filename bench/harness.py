"""What every benchmark needs, started and stopped by the script itself: a Postgres database of its own, a
Redis server of its own (broker and cache), gunicorn with production settings, a Celery worker, beat and the
events watcher, and the removal of every Docker container labelled with the benchmark's instance.

Nothing here listens on a fixed port: gunicorn and Redis take free ports, so a benchmark can run beside
the test suite and beside the developer's own server on 8000.
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BASE_INSTANCE = os.environ.get("TUTUM_INSTANCE", "bench")
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://tutum:tutum@127.0.0.1:5432")
DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _sql(database: str, statement: str, server: str = PG_URL) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{server}/{database}")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


def machine_facts() -> dict[str, str]:
    facts = {"cores": str(os.cpu_count())}
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
        facts["memory"] = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, TypeError):
        pass
    try:
        import docker

        facts["docker"] = docker.DockerClient(base_url=DOCKER_HOST).version()["Version"]
    except Exception:  # noqa: BLE001 - facts are best effort
        pass
    try:
        import psycopg2

        conn = psycopg2.connect(f"{PG_URL}/postgres")
        with conn.cursor() as cursor:
            cursor.execute("SHOW server_version")
            facts["postgres"] = cursor.fetchone()[0].split()[0]
        conn.close()
    except Exception:  # noqa: BLE001
        pass
    return facts


class PrivatePostgres:
    """A Postgres server of its own (Debian's postgresql 15 binaries, run as user postgres when we are root),
    in a temporary directory on a free port: a fault that restarts it disturbs nobody else on the machine.
    bench/faults.py and the Postgres fault test (tests/e2e/test_faults.py) both use it."""

    BIN = Path(os.environ.get("PRIVATE_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tutum-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def server_url(self) -> str:
        return f"postgres://tutum:tutum@127.0.0.1:{self.port}"

    def url(self, database: str = "postgres") -> str:
        return f"{self.server_url}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self.as_postgres, str(self.BIN / tool), *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> "PrivatePostgres":
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")
        self.sql("postgres", "CREATE ROLE tutum LOGIN SUPERUSER PASSWORD 'tutum'")
        return self

    def restart(self) -> None:
        """What `pg_ctlcluster 15 main restart` does: a fast shutdown (every session is ended, every open
        transaction rolled back) and a start; returns once the server accepts connections again."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def accepting(self) -> bool:
        import psycopg2

        try:
            psycopg2.connect(self.url(), connect_timeout=1).close()
            return True
        except psycopg2.OperationalError:
            return False

    def sql(self, database: str, statement: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.url(database).replace("tutum:tutum@", "postgres@"))
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement)
        finally:
            conn.close()

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self.as_postgres, str(self.BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


class Stack:
    """The server side of one benchmark run. Use as a context manager; everything ends with it."""

    def __init__(self, name: str, smoke: bool, extra_databases: tuple[str, ...] = (), pg_url: str = PG_URL):
        self.name = name
        self.pg_url = pg_url  # the Postgres server (postgres://user:password@host:port) to make the database on
        self.extra_databases = extra_databases
        self.smoke = smoke
        # The server under test labels its containers with this instance; baselines use it too, so one cleanup
        # removes everything this benchmark made, and never a container of the tests, of a developer or of
        # another benchmark running at the same time.
        self.instance = f"{BASE_INSTANCE}-bench-{name}{'-smoke' if smoke else ''}"
        self.database = re.sub(r"[^a-z0-9_]", "_", f"bench_{BASE_INSTANCE}_{name}{'_smoke' if smoke else ''}".lower())
        self.tmp = Path(tempfile.mkdtemp(prefix=f"tutum-bench-{name}-"))
        self.processes: dict[str, subprocess.Popen] = {}
        self.redis_port = free_port()
        self.port = int(os.environ.get("BENCH_PORT") or free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": f"{pg_url}/{self.database}",
            "DATABASE_CONN_MAX_AGE": "60",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "TUTUM_CACHE_URL": f"redis://127.0.0.1:{self.redis_port}/1",
            "TUTUM_INSTANCE": self.instance,
            "TUTUM_DATA_DIR": str(self.tmp / "data"),
            "TUTUM_API_URL": self.url,
            "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
            "TUTUM_CREDENTIALS_KEY": "bench-only-credentials-key",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "DOCKER_HOST": DOCKER_HOST,
            "TUTUM_STOP_TIMEOUT_SECONDS": "1",
            # The rejected-key benchmark measures the 401 path, not the 429 the throttle gives after 10 failures.
            "TUTUM_AUTH_FAILURES_ALLOWED": "1000000000",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("TEST_DATABASE_NAME", None)
        self._stopped = False

    # ------------------------------------------------------------ lifecycle

    def __enter__(self):
        atexit.register(self.stop)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.remove_containers()
        self._start_redis()
        for database in self.databases():
            _sql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', self.pg_url)
            _sql("postgres", f'CREATE DATABASE "{database}"', self.pg_url)
        for alias in self.extra_databases:
            # bench/settings.py adds each as a Django database alias, for this process's ORM.
            url = f"{self.pg_url}/{self.database}_{alias}"
            self.env[f"BENCH_DATABASE_{alias.upper()}"] = url
            self.manage("migrate", "--noinput", "-v", "0", env={"DATABASE_URL": url})
        os.environ.update(self.env)  # this process uses the same database through the ORM
        self.manage("migrate", "--noinput", "-v", "0")
        import django

        django.setup()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        for name in reversed(list(self.processes)):
            self._end(name)
        self.remove_containers()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001
            pass
        for database in self.databases():
            try:
                _sql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', self.pg_url)
            except Exception as exc:  # noqa: BLE001
                log(f"could not drop {database}: {exc}")
        if os.environ.get("BENCH_KEEP_LOGS"):
            log(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def databases(self) -> list[str]:
        return [self.database, *(f"{self.database}_{alias}" for alias in self.extra_databases)]

    def _spawn(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        path = self.tmp / f"{name}.log"
        if path.exists():  # a process started again: keep its predecessor's log beside it (BENCH_KEEP_LOGS)
            path.rename(self.tmp / f"{name}.{len(list(self.tmp.glob(f'{name}.*.log'))) + 1}.log")
        out = open(path, "w")
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = proc
        return proc

    def _end(self, name: str) -> None:
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def logs(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def manage(self, *args: str, env: dict | None = None) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def _start_redis(self):
        self._spawn(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
        )
        import redis

        client = redis.Redis(port=self.redis_port)

        def ready():
            try:
                return client.ping()
            except redis.exceptions.ConnectionError:
                return False

        wait_for(ready, 10, what="redis-server")

    def restart_redis(self):
        """Stop the Redis server (no persistence: every queued message is gone) and start it again on the
        same port; returns once it answers PING."""
        self._end("redis")
        self._start_redis()

    def start_api(
        self,
        workers: int = 4,
        threads: int = 4,
        database: str | None = None,
        variant: str = "",
        env: dict | None = None,
        server: str = "gunicorn",
    ) -> str:
        """gunicorn as the previous production docker-compose.yml ran it (-w 4 --threads 4), or with
        `server="uvicorn"` the ASGI server that serves the API and the streams today (--workers 4), DEBUG
        off; returns its URL. `database` names one of the extra databases to serve instead of the main one;
        `variant` names a server with other settings (`env`). Either runs on another port."""
        name, port, env = server, self.port, dict(env or {})
        if database is not None or variant or server != "gunicorn":
            name, port = "-".join(filter(None, (server, database, variant))), free_port()
        if database is not None:
            env["DATABASE_URL"] = self.env[f"BENCH_DATABASE_{database.upper()}"]
        url = f"http://127.0.0.1:{port}"
        if server == "uvicorn":
            command = [PYTHON, "-m", "uvicorn", "tutumserver.asgi:application", "--host", "127.0.0.1"]
            command += ["--port", str(port), "--workers", str(workers), "--ws", "websockets", "--lifespan", "off"]
            command += ["--no-access-log", "--log-level", "warning"]
        else:
            command = [PYTHON, "-m", "gunicorn", "tutumserver.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
            command += ["--threads", str(threads), "--log-level", "warning"]
        self._spawn(name, command, env)

        def ready():
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{server} exited:\n{self.logs(name)}")
            try:
                status, _ = request("GET", f"{url}/bench/ceiling/")
                return status == 200
            except OSError:
                return False

        wait_for(ready, 30, interval=0.1, what=server)
        # Every worker imports Django lazily; warm them all before anything is timed.
        for _ in range(workers * 4):
            request("GET", f"{url}/bench/ceiling/")
        return url

    def start_worker(self, env: dict | None = None):
        """A real Celery worker (-P threads -c 8) on Redis, beat (the sweep) and the Docker events watcher;
        `env` adds settings to all three."""
        celery = [PYTHON, "-m", "celery", "-A", "tutumserver"]
        self.spawn_worker(env, wait=False)
        self._spawn("beat", [*celery, "beat", "-l", "warning", "-s", str(self.tmp / "beat-schedule")], env)
        self._spawn("watchevents", [PYTHON, "manage.py", "watchevents"], env)
        self.wait_worker_ready()

    @property
    def worker_name(self) -> str:
        return f"{self.instance}@{socket.gethostname()}"

    def spawn_worker(self, env: dict | None = None, wait: bool = True):
        """The Celery worker alone (as a supervisor starts one again); returns once it logs `ready.`."""
        celery = [PYTHON, "-m", "celery", "-A", "tutumserver"]
        concurrency = os.environ.get("BENCH_WORKER_CONCURRENCY", "8")
        self._spawn(
            "worker",
            [*celery, "worker", "-P", "threads", "-c", concurrency, "-l", "info", "-n", self.worker_name],
            env,
        )
        if wait:
            self.wait_worker_ready()

    def wait_worker_ready(self):
        def ready():
            if self.processes["worker"].poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.logs('worker')}")
            return "ready." in self.logs("worker")

        wait_for(ready, 30, interval=0.1, what="celery worker")

    def stop_worker(self):
        """End the worker, beat and events watcher (SIGTERM)."""
        for name in ("worker", "beat", "watchevents"):
            self._end(name)

    def kill(self, name: str) -> None:
        """SIGKILL a process (and its group) the stack started, as the kernel's OOM killer would."""
        proc = self.processes.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def user_with_key(self, username: str = "bench") -> tuple[str, str]:
        from django.contrib.auth import get_user_model

        from apps.accounts.models import ApiKey

        user, _ = get_user_model().objects.get_or_create(username=username)
        _, key = ApiKey.issue(user, name="bench")
        return username, key

    # ------------------------------------------------------------ docker

    @staticmethod
    def docker():
        import docker

        return docker.DockerClient(base_url=DOCKER_HOST, timeout=120)

    @property
    def baseline_instance(self) -> str:
        """The label of the baselines' containers: not the server's, or its reconciler would remove them
        as containers nobody owns."""
        return f"{self.instance}-baseline"

    def remove_containers(self):
        """Every container labelled with this benchmark's instance (the server's and the baselines')."""
        from docker import errors as docker_errors

        try:
            api = self.docker().api
            summaries = [
                summary
                for instance in (self.instance, self.baseline_instance)
                for summary in api.containers(all=True, filters={"label": f"tutum.instance={instance}"})
            ]
            for summary in summaries:
                try:
                    api.remove_container(summary["Id"], force=True, v=True)
                except docker_errors.NotFound:
                    pass
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real error
            log(f"container cleanup: {exc}")


# ---------------------------------------------------------------- HTTP


def request(method: str, url: str, headers: dict | None = None, body: dict | None = None) -> tuple[int, dict]:
    """One request on a fresh connection; returns (status, JSON body or {})."""
    match = re.match(r"http://([^/:]+):(\d+)(/.*)", url)
    host, port, path = match[1], int(match[2]), match[3]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        return response.status, data
    finally:
        conn.close()


def api_headers(username: str, key: str) -> dict:
    return {"Authorization": f"ApiKey {username}:{key}"}


# ---------------------------------------------------------------- statistics


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(rows: list[list], headers: list[str]) -> str:
    """A Markdown table (the README takes it as printed)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


class Stopwatch:
    def __init__(self):
        self.start = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.start


def run_threads(fn, items, threads: int):
    """fn(item) for every item on `threads` threads; re-raises the first error."""
    errors = []
    lock = threading.Lock()
    queue = list(items)

    def work():
        while True:
            with lock:
                if not queue or errors:
                    return
                item = queue.pop(0)
            try:
                fn(item)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
