"""Upgrades a database made before the `applications` app became `services` (December 2026).

Django cannot rename an app label, so `migrate` (apps/services/management/commands/migrate.py) calls
`upgrade()` first: it renames the tables and the foreign-key columns to what `services` 0001 declares and
moves the migration records and content types to the new label. Indexes and constraints keep their old
names until `services` 0002 renames them, exactly as on a fresh database. Nothing happens on a database
that has no `applications` migration records.
"""

from django.db import connections, transaction

from apps.core.listversions import TRIGGER

TABLES = {
    "applications_application": "services_service",
    "applications_applicationport": "services_serviceport",
    "applications_applicationenvvar": "services_serviceenvvar",
    "applications_application_linked_to": "services_service_linked_to",
}
COLUMNS = {
    "services_serviceport": {"application_id": "service_id"},
    "services_serviceenvvar": {"application_id": "service_id"},
    "services_service_linked_to": {"from_application_id": "from_service_id", "to_application_id": "to_service_id"},
    "containers_container": {"application_id": "service_id"},
}
MODELS = {"application": "service", "applicationport": "serviceport", "applicationenvvar": "serviceenvvar"}


def needs_upgrade(using: str = "default") -> bool:
    connection = connections[using]
    if "django_migrations" not in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations WHERE app = %s", ["applications"])
        return cursor.fetchone()[0] > 0


def upgrade(using: str = "default") -> bool:
    """Renames what the old label made; True when there was something to upgrade."""
    if not needs_upgrade(using):
        return False
    connection = connections[using]
    quote = connection.ops.quote_name
    with transaction.atomic(using=using), connection.cursor() as cursor:
        # The list-version triggers are made again by post_migrate under the new names; the old SQLite
        # ones would otherwise stay on the renamed tables beside them.
        for old in TABLES:
            if connection.vendor == "sqlite":
                for event in ("insert", "update", "delete"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}_{old}_{event}")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {quote(old)}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}_{old}()")
        for old, new in TABLES.items():
            cursor.execute(f"ALTER TABLE {quote(old)} RENAME TO {quote(new)}")
        for table, columns in COLUMNS.items():
            for old, new in columns.items():
                cursor.execute(f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(old)} TO {quote(new)}")
        cursor.execute("UPDATE django_migrations SET app = %s WHERE app = %s", ["services", "applications"])
        # Content types of the new label can only be leftovers of an interrupted run: the old ones, with the
        # permissions that point at them, take their place.
        new_types = "SELECT id FROM django_content_type WHERE app_label = %s"
        permissions = f"SELECT id FROM auth_permission WHERE content_type_id IN ({new_types})"
        for table in ("auth_group_permissions", "auth_user_user_permissions"):
            cursor.execute(f"DELETE FROM {table} WHERE permission_id IN ({permissions})", ["services"])
        cursor.execute(f"DELETE FROM auth_permission WHERE content_type_id IN ({new_types})", ["services"])
        cursor.execute("DELETE FROM django_content_type WHERE app_label = %s", ["services"])
        for old, new in MODELS.items():
            cursor.execute(
                "UPDATE django_content_type SET app_label = %s, model = %s WHERE app_label = %s AND model = %s",
                ["services", new, "applications", old],
            )
    return True
