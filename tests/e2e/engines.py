"""A second Docker engine on this machine, playing another host.

It has its own bridge, data and exec roots and never touches iptables, so stopping or restarting it
leaves the main engine and everyone using it alone.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import docker


class SecondEngine:
    def __init__(self, name: str, subnet_octet: int):
        self.name = name
        self.bridge = f"br-{name}"[:15]
        self.address = f"172.31.{subnet_octet}.1/24"
        self.socket = f"/var/run/docker-{name}.sock"
        self.data_root = Path(f"/var/lib/docker-{name}")
        self.exec_root = Path(f"/var/run/docker-{name}")
        self.pidfile = Path(f"/var/run/docker-{name}.pid")
        self.log = Path(f"/tmp/dockerd-{name}.log")
        self.process = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, timeout=30)

    def _bridge(self):
        if subprocess.run(["ip", "link", "show", self.bridge], capture_output=True).returncode != 0:
            subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
            subprocess.run(["ip", "addr", "add", self.address, "dev", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)

    def start(self, timeout=30):
        self._bridge()
        self.process = subprocess.Popen(
            [
                "dockerd",
                "-H",
                self.url,
                "--data-root",
                str(self.data_root),
                "--exec-root",
                str(self.exec_root),
                "--pidfile",
                str(self.pidfile),
                "--bridge",
                self.bridge,
                "--iptables=false",
                "--ip-masq=false",
                "--shutdown-timeout",
                "1",
                "--label",
                f"tutum.node={self.name}",
            ],
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.client().ping()
                return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError(f"dockerd {self.name} did not start: {self.log.read_text()[-3000:]}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self):
        self.stop()
        self.start()

    def load_image(self, source: docker.DockerClient, reference: str):
        data = b"".join(source.images.get(reference).save(named=True))
        self.client().images.load(data)

    def destroy(self):
        if self.process and self.process.poll() is None:
            for container in self.client().containers.list(all=True):
                container.remove(force=True)
        self.stop()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        for path in (self.data_root, self.exec_root):
            shutil.rmtree(path, ignore_errors=True)
        for path in (self.socket, self.pidfile):
            if os.path.exists(path):
                os.remove(path)
