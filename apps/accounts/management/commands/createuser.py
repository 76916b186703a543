import getpass
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create a user (or, with --if-missing, make sure one exists)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="Default: asked for, or generated and printed with --generate.")
        parser.add_argument("--generate", action="store_true", help="Generate a password and print it once.")
        parser.add_argument("--email", default="")
        parser.add_argument("--superuser", action="store_true")
        parser.add_argument("--if-missing", action="store_true", help="Do nothing if the user exists.")

    def handle(self, username, password, generate, email, superuser, if_missing, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            if if_missing:
                return
            raise CommandError(f"user {username!r} already exists")
        if password is None:
            password = secrets.token_urlsafe(12) if generate else getpass.getpass("Password: ")
            if generate:
                self.stdout.write(f"password for {username}: {password}")
        create = User.objects.create_superuser if superuser else User.objects.create_user
        create(username=username, email=email, password=password)
        self.stdout.write(f"created user {username}")
