from fnmatch import fnmatch

from django.core.management.base import BaseCommand, CommandError

from apps.core.images import parse_image_reference
from apps.images.models import Image
from apps.images.services import record_image_tag
from apps.nodes.models import Node
from orchestrator.driver import DriverError, driver_for
from orchestrator.scheduler import ensure_default_node


class Command(BaseCommand):
    help = (
        "Import the images present on a node into the catalogue (inspected details on every tag), and flag "
        "them as jumpstarts (--starred) or base images (--base-image). Without a flag they are recorded but "
        "not listed; flags can be changed later in the Django admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("patterns", nargs="*", help="shell patterns on repository names, e.g. 'local/*'")
        parser.add_argument("--node", help="node name (default: the default node)")
        parser.add_argument("--starred", action="store_true", help="mark the imported images as jumpstarts")
        parser.add_argument("--base-image", action="store_true", help="mark the imported images as base images")
        parser.add_argument("--description", default=None, help="description to set on the imported images")

    def handle(self, patterns, node=None, starred=False, base_image=False, description=None, **options):
        target = Node.objects.filter(name=node).first() if node else ensure_default_node()
        if target is None:
            raise CommandError(f"No node named {node!r}.")
        driver = driver_for(target)
        try:
            references = driver.images()
        except DriverError as exc:
            raise CommandError(f"Cannot list the images of node {target.name}: {exc}") from None
        imported = 0
        for text in references:
            reference = parse_image_reference(text)
            if reference is None or (patterns and not any(fnmatch(reference.repository, p) for p in patterns)):
                continue
            info = driver.inspect_image(str(reference))
            if info is None:
                continue
            record_image_tag(reference.repository, reference.tag, info)
            flags = {}
            if starred:
                flags["starred"] = True
            if base_image:
                flags["base_image"] = True
            if description is not None:
                flags["description"] = description
            if flags:
                Image.objects.filter(name=reference.repository, owner__isnull=True).update(**flags)
            imported += 1
            self.stdout.write(f"imported {reference}")
        self.stdout.write(f"{imported} image tag(s) imported from node {target.name}")
