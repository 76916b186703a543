"""The benchmarks keep working: each script runs with tiny sizes (--smoke) and prints its tables.

The three run at once: each has its own Postgres database, Redis server, free ports and Docker label
(tutum.instance=<TUTUM_INSTANCE>-bench-<name>-smoke), so they disturb neither each other nor other tests.
bench/faults.py runs after them, on a Postgres server of its own.
No number is judged here: timings belong to bench/README.md, not to a test.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ("api", "orchestration", "reaction")
NUMBER = r"\d+(?:\.\d+)?"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    logs = tmp_path_factory.mktemp("bench")
    procs = {}
    for name in SCRIPTS:
        procs[name] = subprocess.Popen(
            [sys.executable, f"bench/{name}.py", "--smoke"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=open(logs / f"{name}.err", "w"),
            text=True,
        )
    results = {}
    for name, proc in procs.items():
        try:
            stdout, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.terminate()
            stdout, _ = proc.communicate(timeout=30)
        results[name] = (proc.returncode, stdout, (logs / f"{name}.err").read_text())
    return results


def _run(outputs, name):
    code, stdout, stderr = outputs[name]
    assert code == 0, f"bench/{name}.py --smoke exited {code}:\n{stdout}\n{stderr[-4000:]}"
    assert "machine: cores" in stdout
    return stdout


def _rows(stdout: str, label: str) -> list[list[str]]:
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith(label):
            rows.append(cells)
    assert rows, f"no row {label!r} in:\n{stdout}"
    return rows


def _row(stdout: str, label: str) -> list[str]:
    return _rows(stdout, label)[0]


def test_api_prints_throughput_latency_and_queries(outputs):
    stdout = _run(outputs, "api")
    labels = (
        "ceiling (static DRF",
        "application list",
        "container list",
        "application list, cache off",
        "application detail",
        "rejected key",
        "service list",
        "service list, cache off",
        "service detail",
        "action detail",
        "uvicorn: ceiling + ApiKey auth",
        "uvicorn: service list",
    )
    for label in labels:
        cells = _row(stdout, label)
        assert all(re.fullmatch(NUMBER, c) for c in cells[2:5]), cells  # req/s, p50, p99
        assert float(cells[2]) > 0
    # The queries table comes after the throughput table: request, applications, status, objects, queries
    # (page built), repeated (from the page cache).
    queries = _rows(stdout, "application list ?state=Running&limit=100")[-1]
    assert queries[2] == "200" and int(queries[4]) >= 1 and int(queries[5]) >= 1, queries
    assert _rows(stdout, "rejected key (401)")[-1][2] == "401"
    assert re.search(r"^(PASS|MISS) queries per list request", stdout, re.M)
    assert re.search(
        r"^info uvicorn: service detail: \d+% of the same request's throughput under gunicorn", stdout, re.M
    )


def test_orchestration_prints_server_and_baselines(outputs):
    stdout = _run(outputs, "orchestration")
    for label in ("tutumserver", "docker-py, sequential", "docker-py, 4 threads"):
        cells = _row(stdout, label)
        assert re.fullmatch(NUMBER, cells[1]) and float(cells[1]) > 0, cells  # all running s
        assert re.fullmatch(NUMBER, cells[4]), cells  # all removed s
    assert re.search(r"^(PASS|MISS) all running: " + NUMBER + "x", stdout, re.M)
    # The stack rows: up, update and removal timed; the update replaced only the changed service's containers
    # (the script stops with an error otherwise). docker-compose's row only where it is installed.
    assert "# Stacks: db x1, api x1 (linked to db), web x1 (linked to api)" in stdout
    stack_rows = [_row(stdout, "tutumserver stack")]
    if shutil.which("docker-compose"):
        stack_rows.append(_row(stdout, "docker-compose up -d (links, scale)"))
        assert re.search(
            r"^stack up: " + NUMBER + "s vs docker-compose " + NUMBER + "s: " + NUMBER + "x$", stdout, re.M
        )
    for cells in stack_rows:
        assert all(re.fullmatch(NUMBER, c) for c in (cells[1], cells[3], cells[4])), cells  # up, update, removed s
        assert float(cells[1]) > 0 and float(cells[3]) > 0, cells
    assert re.search(r"^stack update: " + NUMBER + "s, only web's containers replaced", stdout, re.M)


def test_reaction_prints_restart_replace_and_docker_policy(outputs):
    stdout = _run(outputs, "reaction")
    for label in ("tutumserver autorestart", "tutumserver autoreplace", "Docker restart_policy"):
        cells = _row(stdout, label)
        assert re.fullmatch(NUMBER, cells[1]) and float(cells[1]) > 0, cells
    assert re.search(r"autorestart: " + NUMBER + "x Docker's own restart policy", stdout)


@pytest.fixture(scope="module")
def faults_output(tmp_path_factory):
    # Alone, after the three above (its test comes last): it restarts its Postgres and Redis and kills its worker.
    err = tmp_path_factory.mktemp("bench-faults") / "faults.err"
    with open(err, "w") as stderr:
        proc = subprocess.run(
            [sys.executable, "bench/faults.py", "--smoke"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            timeout=300,
        )
    return proc.returncode, proc.stdout, err.read_text()


def test_faults_prints_today_and_now_for_each_fault(faults_output):
    code, stdout, stderr = faults_output
    assert code == 0, f"bench/faults.py --smoke exited {code}:\n{stdout}\n{stderr[-4000:]}"
    assert "machine: cores" in stdout
    for label in ("worker SIGKILL", "Postgres restart", "Redis restart"):
        cells = _row(stdout, label)
        assert all(re.fullmatch(NUMBER, c) for c in cells[1:4]), cells  # today s, now s, now worst s
        assert cells[4].split() == ["3", "3"], cells  # exactly the target in Docker after the fault, both modes
    assert re.search(r"^(PASS|MISS) recovery within 5 s of the fault's end: worst " + NUMBER + "s", stdout, re.M)
