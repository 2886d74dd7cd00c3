"""The rejection reasons every install starts with (editable afterwards)."""

from django.db import migrations

from smarketing.handoff.defaults import install_default_reasons


def add_reasons(apps, schema_editor):
    install_default_reasons(apps.get_model("handoff", "RejectionReason"))


class Migration(migrations.Migration):
    dependencies = [("handoff", "0001_initial")]

    operations = [migrations.RunPython(add_reasons, migrations.RunPython.noop)]
