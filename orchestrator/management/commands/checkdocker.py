from django.core.management.base import BaseCommand, CommandError

from orchestrator.driver import DriverError, driver_for
from orchestrator.scheduler import ensure_default_node


class Command(BaseCommand):
    help = "Register the default node and say plainly whether its Docker engine answers."

    def handle(self, **options):
        node = ensure_default_node()
        try:
            driver_for(node).ping()
        except DriverError as exc:
            raise CommandError(f"Docker is unreachable at {node.docker_host}: {exc}") from None
        self.stdout.write(f"Docker answers at {node.docker_host}")
