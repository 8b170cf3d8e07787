"""Indexes for the lead list's search box (text contained in email, first / last name, title, company name).

A contains-search cannot use a B-tree index; without these every search reads every lead.

- PostgreSQL: trigram GIN indexes (pg_trgm) on the same expressions Django's `icontains` compares,
  UPPER(column::text), so the lookups use them unchanged.
- SQLite: an FTS5 table with the trigram tokenizer over the lead's text columns (external content:
  it stores only the index, the rows stay in leads_lead), kept current by triggers.

Where the database cannot have them (no pg_trgm, an SQLite built without FTS5 trigram), nothing is
created and the search reads the table as before (leads.selectors checks).
"""

from django.db import DatabaseError, migrations, transaction

LEAD_COLUMNS = ("email", "first_name", "last_name", "title")
FTS = "leads_lead_text"


def _sqlite_has_trigram(cursor) -> bool:
    try:
        cursor.execute("CREATE VIRTUAL TABLE temp.leads_trigram_probe USING fts5(x, tokenize='trigram')")
        cursor.execute("DROP TABLE temp.leads_trigram_probe")
        return True
    except DatabaseError:
        return False


def create(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            try:
                with transaction.atomic(using=connection.alias):  # a savepoint: a refusal leaves the migration going
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except DatabaseError:
                return  # not allowed to add the extension here: searches read the table
            for column in LEAD_COLUMNS:
                cursor.execute(
                    f'CREATE INDEX IF NOT EXISTS leads_lead_{column}_trgm ON leads_lead '
                    f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
                )
            cursor.execute(
                'CREATE INDEX IF NOT EXISTS leads_account_name_trgm ON leads_account '
                'USING gin ((UPPER("name"::text)) gin_trgm_ops)'
            )
        elif connection.vendor == "sqlite" and _sqlite_has_trigram(cursor):
            columns = ", ".join(LEAD_COLUMNS)
            new = ", ".join(f"new.{c}" for c in LEAD_COLUMNS)
            old = ", ".join(f"old.{c}" for c in LEAD_COLUMNS)
            cursor.execute(
                f"CREATE VIRTUAL TABLE {FTS} USING fts5({columns}, content='leads_lead', content_rowid='id', "
                f"tokenize='trigram')"
            )
            cursor.execute(
                f"CREATE TRIGGER {FTS}_insert AFTER INSERT ON leads_lead BEGIN "
                f"INSERT INTO {FTS}(rowid, {columns}) VALUES (new.id, {new}); END"
            )
            cursor.execute(
                f"CREATE TRIGGER {FTS}_delete AFTER DELETE ON leads_lead BEGIN "
                f"INSERT INTO {FTS}({FTS}, rowid, {columns}) VALUES ('delete', old.id, {old}); END"
            )
            cursor.execute(
                f"CREATE TRIGGER {FTS}_update AFTER UPDATE OF {columns} ON leads_lead BEGIN "
                f"INSERT INTO {FTS}({FTS}, rowid, {columns}) VALUES ('delete', old.id, {old}); "
                f"INSERT INTO {FTS}(rowid, {columns}) VALUES (new.id, {new}); END"
            )
            cursor.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def drop(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for column in LEAD_COLUMNS:
                cursor.execute(f"DROP INDEX IF EXISTS leads_lead_{column}_trgm")
            cursor.execute("DROP INDEX IF EXISTS leads_account_name_trgm")
        elif connection.vendor == "sqlite":
            for suffix in ("insert", "delete", "update"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {FTS}_{suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0003_consentrecord")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
