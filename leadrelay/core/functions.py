"""Database functions the ORM lacks, written for both SQLite and PostgreSQL."""

from __future__ import annotations

from django.db.models import FloatField, Func


class EpochSeconds(Func):
    """Seconds since 1970-01-01 UTC of a datetime column, as a float."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        # SQLite keeps times to the millisecond: rounding drops the noise of its day-fraction arithmetic.
        return f"ROUND((julianday({sql}) - 2440587.5) * 86400.0, 3)", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(EXTRACT(EPOCH FROM {sql}) AS DOUBLE PRECISION)", params
