"""Database triggers that renew an owner's list version whenever a row that the owner's lists show changes.

Triggers, not signals or service code: the worker writes through `save()`, `QuerySet.update()` and
`bulk_create()`, and a cached list must not depend on every one of those paths remembering to announce
itself. A trigger runs in the writing transaction, so a new token becomes visible together with the
change it stands for.

On Postgres the triggers are constraint triggers deferred to the commit: the token row is then locked only
for the instant before each commit, so two transactions of one owner cannot deadlock on it and workers do
not queue behind each other's long transactions. SQLite has one writer at a time and plain triggers.

The same triggers write the event stream's record (apps/streams): for a service, container, node, stack or
action, an `Event` row (type, create/update/delete, uuid, state, owner) in the transaction of the change, and
on Postgres a `NOTIFY tutum_events`, sent at commit, which wakes the streams. One record of every change, for
the list cache and the events alike.

Installed after every `migrate` (post_migrate), so a table that a migration rebuilds (SQLite does that for
most column changes) gets its triggers back; the database's own token (owner 0) is renewed at the same time,
which also retires every page cached before the migration or a `flush`.
"""

from dataclasses import dataclass

from django.apps import apps
from django.db import connections

TRIGGER = "tutum_list_version"


@dataclass(frozen=True)
class Watched:
    """A table whose rows lists show; `owner` is SQL giving the owner id of the row `{row}` (OLD or NEW)."""

    model: str
    owner: str
    # None: every change; otherwise only an UPDATE where one of these columns changes.
    columns: tuple[str, ...] | None = None
    # False for a table no list shows, watched only for its events (actions): its changes lock the owner's
    # token row, which keeps one owner's events in commit order, without renewing the token.
    lists: bool = True
    # The changes watched when `columns` is None.
    operations: tuple[str, ...] = ("INSERT", "UPDATE", "DELETE")


# The tables whose changes are events, and the type each event has.
EVENTS = {
    "services.Service": "service",
    "containers.Container": "container",
    "nodes.Node": "node",
    "stacks.Stack": "stack",
    "actions.Action": "action",
}
NOTIFY_CHANNEL = "tutum_events"


def _table(label: str) -> str:
    return apps.get_model(label)._meta.db_table


def _watched() -> list[Watched]:
    service, container = _table("services.Service"), _table("containers.Container")
    owner_of_service = f"(SELECT owner_id FROM {service} WHERE id = {{row}}.service_id)"
    return [
        Watched("services.Service", "{row}.owner_id"),
        Watched("services.ServicePort", owner_of_service),
        Watched("containers.Container", owner_of_service),
        Watched(
            "containers.ContainerPort",
            f"(SELECT a.owner_id FROM {container} c JOIN {service} a ON a.id = c.service_id"
            " WHERE c.id = {row}.container_id)",
        ),
        # Container lists show a node's name and whether it is reachable, for every owner.
        Watched("nodes.Node", "0", columns=("name", "state")),
        # public_dns ends with the username.
        Watched("auth.User", "{row}.id", columns=("username",)),
        # Container lists are filtered by their service's stack name (`service__stack__name`).
        Watched("stacks.Stack", "{row}.owner_id", columns=("name",)),
        # Every change of an action is an event (its state above all); an action is never deleted but with its
        # owner.
        Watched("actions.Action", "{row}.owner_id", lists=False, operations=("INSERT", "UPDATE")),
    ]


def install(using: str = "default") -> bool:
    """(Re)creates the triggers and renews the database's token; False (and nothing done) when a watched
    table does not exist yet, e.g. after a partial `migrate`: without the database's token, nothing is cached."""
    connection = connections[using]
    version_table = _table("core.ListVersion")
    tables = set(connection.introspection.table_names())
    if not {version_table, _table("streams.Event"), *(_table(w.model) for w in _watched())} <= tables:
        return False
    statements = _postgres(version_table) if connection.vendor == "postgresql" else _sqlite(version_table)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return True


def _when(watched: Watched) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched.columns)


def _postgres(version_table: str) -> list[str]:
    statements = [
        f"""
        CREATE OR REPLACE FUNCTION {TRIGGER}_renew(owner bigint) RETURNS void AS $$
        BEGIN
            IF owner IS NOT NULL THEN
                INSERT INTO {version_table} (owner_id, token) VALUES (owner, md5(gen_random_uuid()::text))
                ON CONFLICT (owner_id) DO UPDATE SET token = EXCLUDED.token;
            END IF;
        END $$ LANGUAGE plpgsql
        """,
        # The owner's token row locked until the commit, the token unchanged.
        f"""
        CREATE OR REPLACE FUNCTION {TRIGGER}_lock(owner bigint) RETURNS void AS $$
        BEGIN
            IF owner IS NOT NULL THEN
                INSERT INTO {version_table} AS v (owner_id, token) VALUES (owner, md5(gen_random_uuid()::text))
                ON CONFLICT (owner_id) DO UPDATE SET token = v.token;
            END IF;
        END $$ LANGUAGE plpgsql
        """,
        f"""
        INSERT INTO {version_table} (owner_id, token) VALUES (0, md5(gen_random_uuid()::text))
        ON CONFLICT (owner_id) DO UPDATE SET token = EXCLUDED.token
        """,
    ]
    for watched in _watched():
        table = _table(watched.model)
        function = f"{TRIGGER}_{table}"
        old, new = watched.owner.format(row="OLD"), watched.owner.format(row="NEW")
        events = "UPDATE" if watched.columns else " OR ".join(watched.operations)
        renew = f"{TRIGGER}_renew" if watched.lists else f"{TRIGGER}_lock"
        when = f"WHEN ({_when(watched)})" if watched.columns else ""
        statements += [
            f"""
            CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
            DECLARE
                old_owner bigint;
                new_owner bigint;
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    old_owner := {old};
                    PERFORM {renew}(old_owner);
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    new_owner := {new};
                    IF new_owner IS DISTINCT FROM old_owner THEN
                        PERFORM {renew}(new_owner);
                    END IF;
                END IF;
                {_postgres_event(watched)}
                RETURN NULL;
            END $$ LANGUAGE plpgsql
            """,
            f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}",
            f"""
            CREATE CONSTRAINT TRIGGER {TRIGGER} AFTER {events} ON {table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {when} EXECUTE FUNCTION {function}()
            """,
        ]
    return statements


def _postgres_event(watched: Watched) -> str:
    """The event row of a change, after the owner's token is renewed: the token row stays locked until the
    commit, so one owner's events get their ids in the order their transactions commit."""
    kind = EVENTS.get(watched.model)
    if kind is None:
        return ""
    columns = f"INSERT INTO {_table('streams.Event')} (owner_id, type, action, resource_uuid, state)"
    return f"""
                IF TG_OP = 'DELETE' THEN
                    IF old_owner IS NOT NULL THEN  -- a container deleted with its service has no owner left
                        {columns} VALUES (old_owner, '{kind}', 'delete', OLD.uuid, OLD.state);
                    END IF;
                ELSIF new_owner IS NOT NULL THEN
                    {columns} VALUES (new_owner, '{kind}', CASE TG_OP WHEN 'INSERT' THEN 'create' ELSE 'update' END,
                        NEW.uuid, NEW.state);
                END IF;
                PERFORM pg_notify('{NOTIFY_CHANNEL}', '');"""


def _sqlite_event(watched: Watched, event: str, row: str) -> str:
    kind = EVENTS.get(watched.model)
    if kind is None or (event == "UPDATE" and row == "OLD"):
        return ""
    action = {"INSERT": "create", "UPDATE": "update", "DELETE": "delete"}[event]
    return (
        f"INSERT INTO {_table('streams.Event')} (owner_id, type, action, resource_uuid, state)"
        f" SELECT owner, '{kind}', '{action}', {row}.uuid, {row}.state"
        f" FROM (SELECT {watched.owner.format(row=row)} AS owner) WHERE owner IS NOT NULL;"
    )


def _sqlite(version_table: str) -> list[str]:
    def renew(owner: str) -> str:
        # The WHERE resolves SQLite's parsing ambiguity of INSERT ... SELECT ... ON CONFLICT.
        return (
            f"INSERT INTO {version_table} (owner_id, token) SELECT owner, lower(hex(randomblob(16)))"
            f" FROM (SELECT {owner} AS owner) WHERE owner IS NOT NULL"
            " ON CONFLICT (owner_id) DO UPDATE SET token = excluded.token;"
        )

    statements = [
        f"INSERT INTO {version_table} (owner_id, token) VALUES (0, lower(hex(randomblob(16))))"
        " ON CONFLICT (owner_id) DO UPDATE SET token = excluded.token"
    ]
    for watched in _watched():
        table = _table(watched.model)
        rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}
        rows = {event: rows[event] for event in (("UPDATE",) if watched.columns else watched.operations)}
        for event, row_names in rows.items():
            name = f"{TRIGGER}_{table}_{event.lower()}"
            when = f"WHEN {_when(watched)}" if watched.columns else ""
            # SQLite has one writer at a time: a table no list shows needs no lock for its events' order.
            body = " ".join(
                (renew(watched.owner.format(row=row)) if watched.lists else "") + _sqlite_event(watched, event, row)
                for row in row_names
            )
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {event} ON {table} {when} BEGIN {body} END",
            ]
    return statements
