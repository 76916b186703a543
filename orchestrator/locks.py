"""Cluster-wide locks: Postgres advisory locks, so any number of workers on any machines agree."""

import zlib
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def try_advisory_lock(name: str):
    """Yields True if this process got the lock for the duration of the block, False if another holds it.

    SQLite (the embedded single-machine mode) has no advisory locks; there one beat process runs.
    """
    with transaction.atomic():
        if connection.vendor != "postgresql":
            yield True
            return
        key = zlib.crc32(name.encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
            acquired = cursor.fetchone()[0]
        yield acquired
