from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import ApiKey, hash_key


class Command(BaseCommand):
    help = "Revoke API keys of a user: one given whole or by its first characters, or --all."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("key", nargs="?", help="The key, or at least its first 8 characters.")
        parser.add_argument("--all", action="store_true")

    def handle(self, username, key, all, **options):
        keys = ApiKey.objects.active().filter(user__username=username)
        if all:
            selected = list(keys)
        elif key and len(key) == 40:
            selected = list(keys.filter(key_hash=hash_key(key)))
        elif key and len(key) >= 8:
            selected = list(keys.filter(prefix=key[:8]))
        else:
            raise CommandError("give a key (or its first 8 characters) or --all")
        if not selected:
            raise CommandError("no matching active key")
        for api_key in selected:
            api_key.revoke()
        self.stdout.write(f"revoked {len(selected)} key(s)")
