"""The ASGI server (uvicorn, REST API and streams together) as a subprocess on the test database, and a
WebSocket client of the streams."""

import json
import os
import subprocess
import sys
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.conftest import ROOT, _database_url
from tests.e2e.helpers import free_port


def asgi_command(port: int) -> list[str]:
    """How the server is run in production too: one process serving HTTP and WebSockets."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "tutumserver.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws",
        "websockets",
        "--lifespan",
        "off",
        "--no-access-log",
    ]


@pytest.fixture
def asgi_server(tmp_path):
    """`asgi_server(extra_env=None)` starts uvicorn on the test database and gives its address (`127.0.0.1:<port>`)
    once it answers; every server started is stopped at the end of the test."""
    processes = []

    def start(extra_env=None) -> str:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "DEBUG": "0",
            "TUTUM_STREAM_POLL_SECONDS": "0.5",
            **(extra_env or {}),
        }
        log_path = tmp_path / f"uvicorn-{port}.log"
        log = open(log_path, "w")
        process = subprocess.Popen(
            asgi_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        processes.append((process, log_path))
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://{address}/api/v1/auth/", timeout=2)
                return address
            except requests.RequestException:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"the ASGI server did not start:\n{log_path.read_text(errors='replace')[-4000:]}")

    start.processes = processes
    yield start
    for process, _ in processes:
        process.terminate()
    for process, log_path in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # What the server logged is worth seeing when a test failed.
        print(f"--- {log_path.name}\n{log_path.read_text(errors='replace')[-3000:]}")


def open_stream(address: str, path: str, headers=None, timeout=10):
    return connect(f"ws://{address}{path}", additional_headers=headers or {}, open_timeout=timeout)


def read_messages(ws, until=None, timeout=20) -> list[dict]:
    """Messages until the server closes the socket (or `until(messages)` is true), failing after `timeout`."""
    messages = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no end after {timeout}s; received {messages!r}")
        try:
            text = ws.recv(timeout=left)
        except TimeoutError:
            continue
        except ConnectionClosed:
            return messages
        messages.append(json.loads(text))
        if until is not None and until(messages):
            return messages


def stream_messages(address: str, path: str, headers=None, timeout=20) -> list[dict]:
    """Every message of a stream that the server ends by itself."""
    with open_stream(address, path, headers) as ws:
        return read_messages(ws, timeout=timeout)
