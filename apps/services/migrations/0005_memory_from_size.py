from django.conf import settings
from django.db import migrations


def memory_from_size(apps, schema_editor):
    """Services made before `memory`/`cpu_shares` existed ran with their size's limits: keep them."""
    Service = apps.get_model("services", "Service")
    for size, (memory, cpu_shares) in settings.TUTUM_CONTAINER_SIZES.items():
        Service.objects.filter(container_size=size, memory__isnull=True).update(memory=memory, cpu_shares=cpu_shares)


class Migration(migrations.Migration):
    dependencies = [
        ("services", "0004_service_2015_fields"),
    ]

    operations = [migrations.RunPython(memory_from_size, migrations.RunPython.noop)]
