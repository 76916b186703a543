from django.core.management.base import BaseCommand, CommandError

from orchestrator.driver import DriverError, driver_for
from orchestrator.nodes import refresh_facts
from orchestrator.scheduler import ensure_default_node


class Command(BaseCommand):
    help = "Register the default node, read its engine's facts and say plainly whether the engine answers."

    def handle(self, **options):
        node = ensure_default_node()
        try:
            driver_for(node).ping()
        except DriverError as exc:
            raise CommandError(f"Docker is unreachable at {node.docker_host}: {exc}") from None
        refresh_facts(node)
        self.stdout.write(f"Docker {node.docker_version} answers at {node.docker_host}")
