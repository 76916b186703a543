import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """The links' many-to-many table gets a model of its own (ServiceLink), to carry the 2015 alias. The
    table stays as it is; only Django's picture of it changes, then the `name` column is added."""

    dependencies = [
        ("services", "0002_service_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="service", name="linked_to"),
                migrations.CreateModel(
                    name="ServiceLink",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "from_service",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="links_out",
                                to="services.service",
                            ),
                        ),
                        (
                            "to_service",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="links_in",
                                to="services.service",
                            ),
                        ),
                    ],
                    options={"db_table": "services_service_linked_to", "ordering": ["id"]},
                ),
                migrations.AddField(
                    model_name="service",
                    name="linked_to",
                    field=models.ManyToManyField(
                        blank=True, related_name="linked_from", through="services.ServiceLink", to="services.service"
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="servicelink",
            name="name",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
