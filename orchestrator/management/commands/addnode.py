from django.core.management.base import BaseCommand

from apps.nodes.models import Node


class Command(BaseCommand):
    help = "Register (or update) a Docker engine as a node: unix:///path.sock or tcp://host:2376."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("docker_host")
        parser.add_argument("--publish-address", default="127.0.0.1", help="Address container ports are published on.")
        parser.add_argument("--unschedulable", action="store_true", help="Keep its containers, place no new ones.")

    def handle(self, name, docker_host, publish_address, unschedulable, **options):
        node, created = Node.objects.update_or_create(
            name=name,
            defaults={"docker_host": docker_host, "publish_address": publish_address, "schedulable": not unschedulable},
        )
        self.stdout.write(f"{'registered' if created else 'updated'} node {node}")
