"""An index on touches by channel and time, for the attribution report's channel look-ups.

Attribution by a rule-based model asks only which channels the non-converting journeys
touched; with this index each question is answered from the index instead of a scan
of the period's touches. It is an index only, so the models do not change.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX crm_touch_channel_occurred ON crm_touch (channel, occurred_at)",
            "DROP INDEX crm_touch_channel_occurred",
        )
    ]
