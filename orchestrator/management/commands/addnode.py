from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rest_framework import serializers

from apps.nodes.services import register_node


def _read(path: str | None) -> str:
    return Path(path).read_text() if path else ""


class Command(BaseCommand):
    """In orchestrator, not apps/nodes: registering a node asks its engine for its facts."""

    help = (
        "Register (or update) a Docker engine as a node: unix:///path.sock or tcp://host:2376, with TLS client "
        "certificates (--tls-ca, --tls-cert, --tls-key: PEM files, stored encrypted). The engine must answer."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("docker_host")
        parser.add_argument("--publish-address", default="127.0.0.1", help="Address container ports are published on.")
        parser.add_argument("--external-fqdn", default="", help="The name users reach it by (default: the address).")
        parser.add_argument("--unschedulable", action="store_true", help="Keep its containers, place no new ones.")
        parser.add_argument("--tag", action="append", default=None, help="A node tag (repeat for more).")
        parser.add_argument("--tls-ca", help="The CA that signed the engine's certificate (PEM file).")
        parser.add_argument("--tls-cert", help="The client certificate (PEM file).")
        parser.add_argument("--tls-key", help="The client certificate's key (PEM file).")
        parser.add_argument("--no-check", action="store_true", help="Register even if the engine does not answer.")

    def handle(self, name, docker_host, publish_address, external_fqdn, unschedulable, **options):
        try:
            node, created = register_node(
                name,
                docker_host,
                ca=_read(options["tls_ca"]),
                cert=_read(options["tls_cert"]),
                key=_read(options["tls_key"]),
                publish_address=publish_address,
                external_fqdn=external_fqdn,
                tags=options["tag"],
                schedulable=not unschedulable,
                check=not options["no_check"],
            )
        except serializers.ValidationError as exc:
            messages = [m for value in exc.detail.values() for m in value]
            raise CommandError(" ".join(str(m) for m in messages)) from None
        except OSError as exc:
            raise CommandError(f"cannot read a certificate file: {exc}") from None
        self.stdout.write(f"{'registered' if created else 'updated'} node {node}")
        if node.docker_version:
            self.stdout.write(f"Docker {node.docker_version}, {node.cpu} CPUs, {node.memory} MB")
        else:
            self.stdout.write(
                f"Docker does not answer at {node.docker_host} yet; the sweep reads its facts once it does"
            )
