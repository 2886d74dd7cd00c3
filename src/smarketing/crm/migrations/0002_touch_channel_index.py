"""An index on touches by channel and time, for the attribution report's channel look-ups.

Attribution by a rule-based model asks only which channels the non-converting journeys
touched; with this index each question is answered from the index instead of a scan
of the period's touches.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [
        migrations.AddIndex(
            model_name="touch",
            index=models.Index(fields=["channel", "occurred_at"], name="crm_touch_channel_occurred"),
        )
    ]
