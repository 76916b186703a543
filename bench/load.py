"""HTTP load from a second process: wrk when installed, else a small Python load generator (threads with
keep-alive connections). Both return requests per second and p50/p99 latency in milliseconds."""

import http.client
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass


@dataclass
class Load:
    tool: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    bad_status: int  # answers with another status than the expected one (wrk: non-2xx/3xx)
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, headers: dict, seconds: float, connections: int, threads: int = 1) -> Load:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Load(
        tool="wrk",
        requests=int(re.search(r"(\d+) requests in", out)[1]),
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        bad_status=int(non2xx[1]) if non2xx else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def python_load(url: str, headers: dict, seconds: float, connections: int, expect: int = 200) -> Load:
    match = re.match(r"http://([^/:]+):(\d+)(/.*)", url)
    host, port, path = match[1], int(match[2]), match[3]
    latencies: list[float] = []
    counters = {"bad": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection(host, port, timeout=10)
        mine, bad, errors = [], 0, 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            mine.append((time.perf_counter() - started) * 1000)
            bad += response.status != expect
        conn.close()
        with lock:
            latencies.extend(mine)
            counters["bad"] += bad
            counters["errors"] += errors

    started = time.monotonic()
    pool = [threading.Thread(target=client) for _ in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else float("nan")

    return Load(
        "python", len(latencies), len(latencies) / elapsed, pct(0.50), pct(0.99), counters["bad"], counters["errors"]
    )


def run(url: str, headers: dict, seconds: float, connections: int, tool: str = "auto", expect: int = 200) -> Load:
    # wrk runs whole seconds; shorter loads (the smoke run) use the Python generator.
    if tool == "wrk" or (tool == "auto" and shutil.which("wrk") and seconds >= 1):
        load = wrk(url, headers, seconds, connections)
        # wrk counts only non-2xx/3xx; for an endpoint expected to refuse, every answer should be one.
        if expect >= 400:
            load.bad_status = load.requests - load.bad_status
        return load
    return python_load(url, headers, seconds, connections, expect)
