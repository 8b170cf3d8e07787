"""On SQLite, an index that holds every event column the behaviour scoring reads (scoring/engine.py), so a
rescore reads a lead's events from the index in order instead of one table row at a time.

SQLite only: PostgreSQL's B-tree entries are limited in size and a path may be long; there the scoring reads
the table. The index is partial (events of a lead) and is not part of the model state.
"""

from django.db import migrations

INDEX = "tracking_event_scoring"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON tracking_event "
            "(lead_id, occurred_at, type, session_id, source, name, path) WHERE lead_id IS NOT NULL"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("tracking", "0002_ingest_forms_webinars")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
