"""bench/dashboard.py keeps working: a smoke run (50 services, 20 requests a row) prints its table. No number is
judged here: timings belong to bench/README.md, not to a test."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_dashboard_benchmark_prints_every_row():
    run = subprocess.run(
        [sys.executable, "bench/dashboard.py", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr[-4000:]}"
    assert "machine: cores" in run.stdout
    rows = {
        cells[0]: cells[1:]
        for line in run.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| request")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    assert {"dashboard: services page 1 (50 of them)", "dashboard: a service's page"} <= set(rows)
    assert "API: GET /api/v1/service/?limit=50" in rows
    for label, (p50, p99, ratio, _) in rows.items():
        assert re.fullmatch(r"\d+\.\d", p50) and re.fullmatch(r"\d+\.\d", p99), label
        assert float(p50) <= float(p99) and float(ratio) > 0, label
