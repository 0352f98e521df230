"""Trigram indexes for the text search (TicketQuerySet.search), on PostgreSQL only.

Django's icontains is `UPPER(col) LIKE UPPER('%text%')` on PostgreSQL; a GIN trigram
index on UPPER(col) answers it without reading every row. SQLite has no such index and
keeps scanning, which is fine at its sizes. CREATE EXTENSION needs a role allowed to
create it (a superuser, or pg_trgm pre-installed by the DBA).
"""

from django.db import migrations

INDEXES = [
    ("ticket_title_trgm", "incidents_ticket", "title"),
    ("ticket_description_trgm", "incidents_ticket", "description"),
    ("timeline_body_trgm", "incidents_timelineentry", "body"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0005_timelineentry_changes_alter_timelineentry_kind")]

    operations = [migrations.RunPython(create, drop)]
