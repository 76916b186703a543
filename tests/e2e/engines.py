"""A second Docker engine on this machine, playing another host.

It has its own bridge, data and exec roots and never touches iptables, so stopping or restarting it
leaves the main engine and everyone using it alone.
"""

import ipaddress
import os
import shutil
import subprocess
import time
from pathlib import Path

import docker


class SecondEngine:
    """`tls`: also listen on tcp://127.0.0.1:<tcp_port> with TLS, verifying client certificates (Certificates)."""

    def __init__(self, name: str, subnet_octet: int, tls: "Certificates | None" = None, tcp_port: int | None = None):
        self.name = name
        self.tls = tls
        self.tcp_port = tcp_port
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

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.tcp_port}"

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
                *(self._tls_arguments() if self.tls else ()),
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

    def _tls_arguments(self) -> list[str]:
        paths = self.tls.write(self.data_root.with_name(f"docker-{self.name}-tls"))
        return [
            "-H",
            self.tcp_url,
            "--tlsverify",
            f"--tlscacert={paths['ca']}",
            f"--tlscert={paths['server_cert']}",
            f"--tlskey={paths['server_key']}",
        ]

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
        for path in (self.data_root, self.exec_root, self.data_root.with_name(f"docker-{self.name}-tls")):
            shutil.rmtree(path, ignore_errors=True)
        for path in (self.socket, self.pidfile):
            if os.path.exists(path):
                os.remove(path)


class Certificates:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with `cryptography`.
    PEM strings: `ca`, `server_cert`, `server_key`, `client_cert`, `client_key`."""

    def __init__(self, common_name: str = "tutum-test-ca"):
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = datetime.datetime.now(datetime.UTC)

        def key():
            return ec.generate_private_key(ec.SECP256R1())

        def pem_key(private):
            return private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()

        def name(text):
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

        def certificate(subject, public, issuer, signer, *extensions):
            builder = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(issuer)
                .public_key(public)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
            )
            for extension, critical in extensions:
                builder = builder.add_extension(extension, critical=critical)
            return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()

        ca_key = key()
        ca_name = name(common_name)
        self.ca = certificate(
            ca_name, ca_key.public_key(), ca_name, ca_key, (x509.BasicConstraints(ca=True, path_length=None), True)
        )
        server_key, client_key = key(), key()
        self.server_cert = certificate(
            name("127.0.0.1"),
            server_key.public_key(),
            ca_name,
            ca_key,
            (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        )
        self.client_cert = certificate(
            name("tutumserver"),
            client_key.public_key(),
            ca_name,
            ca_key,
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
        )
        self.server_key, self.client_key = pem_key(server_key), pem_key(client_key)

    def write(self, directory: Path) -> dict[str, Path]:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        paths = {}
        for field in ("ca", "server_cert", "server_key", "client_cert", "client_key"):
            paths[field] = directory / f"{field}.pem"
            paths[field].write_text(getattr(self, field))
        return paths
