import hashlib
import secrets

from django.conf import settings
from django.db import connections, models, router
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
        """The active key `key` of active user `username`, with its user; None if there is none.

        Runs on every API request. The SQL is written out because building the equivalent queryset cost
        25x the query itself (1.2 ms against 0.05 ms, bench/api.py). The rows come back as model instances
        whose other fields are deferred: they load on first access, like `.only()` would. The database
        also says whether `last_used` is due for a write (`last_used_due`, see `record_use`).
        """
        user_model = cls._meta.get_field("user").related_model
        connection = connections[router.db_for_read(cls)]
        quote = connection.ops.quote_name
        sql = (
            "SELECT k.id, u.id, u.username, (k.last_used IS NULL OR k.last_used < %s) "
            f"FROM {quote(cls._meta.db_table)} k JOIN {quote(user_model._meta.db_table)} u ON u.id = k.user_id "
            "WHERE k.key_hash = %s AND k.revoked_at IS NULL AND u.username = %s AND u.is_active"
        )
        due = timezone.now() - timezone.timedelta(seconds=LAST_USED_RESOLUTION_SECONDS)
        with connection.cursor() as cursor:
            cursor.execute(sql, [due, hash_key(key), username])
            row = cursor.fetchone()
        if row is None:
            return None
        key_id, user_id, user_name, last_used_due = row
        user = user_model.from_db(connection.alias, ["id", "username", "is_active"], [user_id, user_name, True])
        # from_db takes values in the model's field order.
        api_key = cls.from_db(connection.alias, ["id", "user_id"], [key_id, user_id])
        api_key.user = user
        api_key.last_used_due = bool(last_used_due)
        return api_key

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def record_use(self) -> None:
        """Sets `last_used` to now when the key was found with `last_used_due` (once a minute at most)."""
        if getattr(self, "last_used_due", True):
            now = timezone.now()
            ApiKey.objects.filter(pk=self.pk).update(last_used=now)
            self.last_used = now
            self.last_used_due = False
