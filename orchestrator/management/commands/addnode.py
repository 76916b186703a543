from django.core.management.base import BaseCommand

from apps.nodes.models import Node
from orchestrator.nodes import refresh_facts


class Command(BaseCommand):
    """In orchestrator, not apps/nodes: registering a node also asks its engine for its facts."""

    help = "Register (or update) a Docker engine as a node: unix:///path.sock or tcp://host:2376."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("docker_host")
        parser.add_argument("--publish-address", default="127.0.0.1", help="Address container ports are published on.")
        parser.add_argument("--external-fqdn", default="", help="The name users reach it by (default: the address).")
        parser.add_argument("--unschedulable", action="store_true", help="Keep its containers, place no new ones.")

    def handle(self, name, docker_host, publish_address, external_fqdn, unschedulable, **options):
        node, created = Node.objects.update_or_create(
            name=name,
            defaults={
                "docker_host": docker_host,
                "publish_address": publish_address,
                "external_fqdn": external_fqdn,
                "schedulable": not unschedulable,
            },
        )
        self.stdout.write(f"{'registered' if created else 'updated'} node {node}")
        if refresh_facts(node):
            self.stdout.write(f"Docker {node.docker_version}, {node.cpu} CPUs, {node.memory} MB")
        else:
            self.stdout.write(f"Docker does not answer at {docker_host} yet; the sweep reads its facts once it does")
