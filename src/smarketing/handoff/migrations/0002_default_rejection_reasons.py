"""The rejection reasons every install starts with (editable afterwards)."""

from django.db import migrations

REASONS = [
    ("not_icp", "Not our ideal customer", "disqualify"),
    ("bad_contact_data", "Bad contact data", "disqualify"),
    ("no_budget_authority", "No budget or authority", "nurture"),
    ("competitor", "Competitor", "disqualify"),
    ("student_job_seeker", "Student or job seeker", "disqualify"),
    ("duplicate", "Duplicate", "disqualify"),
    ("not_now", "Not now — nurture", "nurture"),
]


def add_reasons(apps, schema_editor):
    RejectionReason = apps.get_model("handoff", "RejectionReason")
    for position, (code, label, outcome) in enumerate(REASONS, start=1):
        RejectionReason.objects.get_or_create(
            code=code, defaults={"label": label, "outcome": outcome, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("handoff", "0001_initial")]

    operations = [migrations.RunPython(add_reasons, migrations.RunPython.noop)]
