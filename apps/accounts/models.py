import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

# Writing last_used on every request would turn every read into a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


def hash_key(key: str) -> str:
    """Keys are 160 random bits, so one SHA-256 is enough: no slow password hash per request."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """An API key of a user. Only its SHA-256 is stored; the key itself is shown once, when issued."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters of the key, to tell keys apart.")
    name = models.CharField(max_length=100, blank=True)
    application_uuid = models.UUIDField(null=True, blank=True, db_index=True, help_text="Minted for role global.")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["created"]

    def __str__(self):
        return f"{self.user} {self.prefix}… ({self.name or 'unnamed'})"

    @classmethod
    def issue(cls, user, name: str = "", application_uuid=None) -> tuple["ApiKey", str]:
        """Create a key for `user`; returns the row and the plain key, which is not kept anywhere."""
        key = secrets.token_hex(20)
        row = cls.objects.create(
            user=user, key_hash=hash_key(key), prefix=key[:8], name=name, application_uuid=application_uuid
        )
        return row, key

    @classmethod
    def find_active(cls, username: str, key: str) -> "ApiKey | None":
        return (
            cls.objects.active()
            .select_related("user")
            .filter(key_hash=hash_key(key), user__username=username, user__is_active=True)
            .first()
        )

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used is None or (now - self.last_used).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiKey.objects.filter(pk=self.pk).update(last_used=now)
            self.last_used = now
