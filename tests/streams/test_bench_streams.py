"""bench/streams.py keeps working: with tiny sizes (--smoke) it prints its table, a number in every row.
No number is judged here: timings belong to the benchmark's output, not to a test."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"[\d,]+(?:\.\d+)?"


def test_the_streams_benchmark_prints_its_numbers():
    result = subprocess.run(
        [sys.executable, "bench/streams.py", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("| ")}
    for what in ("logs, tail (lines/s)", "logs, follow (lines/s)", "exec echo hi (ms, median)"):
        cells = [c.strip() for c in rows[what].split("|")[2:5]]
        assert all(re.fullmatch(NUMBER, c) for c in cells), rows[what]
    assert re.fullmatch(NUMBER, rows["exec line in a session (ms, median)"].split("|")[2].strip())
    for what in ("event latency, 1 subscriber (ms, p50 / p99)", "event latency, 200 subscribers (ms, p50 / p99)"):
        assert re.fullmatch(rf"{NUMBER} / {NUMBER}", rows[what].split("|")[2].strip()), rows[what]
