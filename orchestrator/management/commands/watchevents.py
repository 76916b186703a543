import signal
import threading

from django.core.management.base import BaseCommand

from orchestrator.events import watch_all


class Command(BaseCommand):
    help = "Stream the Docker events of every node and hand container changes to the workers."

    def handle(self, **options):
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("watching Docker events of every node")
        watch_all(stop)
