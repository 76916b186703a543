"""A database made before the `applications` app became `services` is moved by `migrate`, rows and all.

The old database is made by taking a fresh one back to the old names (tables, columns, migration records,
content types), with rows in it; `manage.py migrate` must then find every row under the new names.
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OLD_NAMES = """
ALTER TABLE services_service RENAME TO applications_application;
ALTER TABLE services_serviceport RENAME TO applications_applicationport;
ALTER TABLE services_serviceenvvar RENAME TO applications_applicationenvvar;
ALTER TABLE services_service_linked_to RENAME TO applications_application_linked_to;
ALTER TABLE applications_applicationport RENAME COLUMN service_id TO application_id;
ALTER TABLE applications_applicationenvvar RENAME COLUMN service_id TO application_id;
ALTER TABLE applications_application_linked_to RENAME COLUMN from_service_id TO from_application_id;
ALTER TABLE applications_application_linked_to RENAME COLUMN to_service_id TO to_application_id;
ALTER TABLE containers_container RENAME COLUMN service_id TO application_id;
UPDATE django_migrations SET app = 'applications' WHERE app = 'services';
UPDATE django_content_type SET app_label = 'applications', model = 'application' WHERE model = 'service';
UPDATE django_content_type SET app_label = 'applications', model = 'applicationport' WHERE model = 'serviceport';
"""
# The envvar model's content type is left under the new label, as a run interrupted after Django's
# post_migrate would leave it: the upgrade must not trip over it.

ROWS = """
from django.contrib.auth.models import User
from apps.containers.models import Container
from apps.services.models import Service, ServicePort
owner = User.objects.create(username="old")
web = Service.objects.create(owner=owner, name="web", unique_name="web", image_repository="x", state="Running")
db = Service.objects.create(owner=owner, name="db", unique_name="db", image_repository="x", state="Running")
web.linked_to.add(db)
ServicePort.objects.create(service=web, inner_port=80)
Container.objects.create(service=web, number=1, unique_name="web-1", state="Running")
"""

CHECK = """
from apps.services.models import Service
web = Service.objects.get(name="web")
print(web.unique_name, [s.name for s in web.linked_to.all()], [p.inner_port for p in web.ports.all()],
      [c.unique_name for c in web.containers.all()])
web.containers.update(state="Stopped")
"""


def _manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_migrate_moves_a_database_of_the_old_app_label(tmp_path):
    env = {
        **os.environ,
        "TUTUM_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}",
    }
    env.pop("TUTUM_CACHE_URL", None)
    assert _manage(env, "migrate", "-v", "0").returncode == 0
    made = _manage(env, "shell", "-c", ROWS)
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(tmp_path / "old.sqlite3") as connection:
        connection.executescript(OLD_NAMES)

    migrated = _manage(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "Moved the tables of the old `applications` app to `services`." in migrated.stdout
    checked = _manage(env, "shell", "-c", CHECK)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip().splitlines()[-1] == "web ['db'] [80] ['web-1']"
    with sqlite3.connect(tmp_path / "old.sqlite3") as connection:
        apps = {row[0] for row in connection.execute("SELECT DISTINCT app FROM django_migrations")}
    assert "applications" not in apps and "services" in apps
    # A second migrate has nothing left to move.
    again = _manage(env, "migrate")
    assert again.returncode == 0 and "Moved the tables" not in again.stdout
