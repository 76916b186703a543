from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import ApiKey


class Command(BaseCommand):
    help = "Issue a new API key for a user and print it (it is stored hashed and cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="")
        parser.add_argument("--replace", action="store_true", help="Revoke the user's other keys of the same name.")

    def handle(self, username, name, replace, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if replace and name:
            for old in ApiKey.objects.active().filter(user=user, name=name):
                old.revoke()
        _, key = ApiKey.issue(user, name=name)
        self.stdout.write(key)
