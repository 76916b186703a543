from django.core.management.commands import migrate

from apps.services.legacy_label import upgrade


class Command(migrate.Command):
    """Django's migrate, after moving a database of the old `applications` label to `services`."""

    def handle(self, *args, **options):
        if upgrade(options["database"]) and options["verbosity"]:
            self.stdout.write("Moved the tables of the old `applications` app to `services`.")
        super().handle(*args, **options)
