"""The read model's PostgreSQL recorder (see :mod:`control.store.readmodel`); loaded only for PostgreSQL
stores, so SQLite users never import psycopg."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row

from control.store.readmodel import (
    META,
    PAGE,
    TABLE,
    extra_tables,
    index_pages,
    place_index,
)
from control.store.recorder import Statements


class PostgresReportsRecorder(Statements, PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, plus the read-model rows in its transaction."""

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        from psycopg.sql import SQL, Identifier

        schema = Identifier(self.datastore.schema)
        for text in (
            "CREATE TABLE IF NOT EXISTS {schema}.control_reports (stream text NOT NULL, "
            "position bigint NOT NULL, id text NOT NULL, place text NOT NULL, kind text NOT NULL, "
            "actor text NOT NULL, earliest text NOT NULL, latest text NOT NULL, reported_at text NOT NULL, "
            "recorded_at text NOT NULL, file text NOT NULL, report text NOT NULL, PRIMARY KEY (stream, id))",
            "CREATE UNIQUE INDEX IF NOT EXISTS control_reports_position ON {schema}.control_reports "
            "(stream, position)",
            place_index(lambda n: "{schema}." + n),
            "CREATE INDEX IF NOT EXISTS control_reports_recorded ON {schema}.control_reports "
            "(stream, recorded_at)",
            "CREATE TABLE IF NOT EXISTS {schema}.control_meta (key text PRIMARY KEY, value text NOT NULL)",
            *extra_tables(lambda n: "{schema}." + n, indexes=False),
        ):
            self.sql_create_statements.append(SQL(text).format(schema=schema))  # type: ignore[arg-type]

    @property
    def table(self) -> str:
        return f'"{self.datastore.schema}".{TABLE}'

    @property
    def meta(self) -> str:
        return f'"{self.datastore.schema}".{META}'

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """eventsourcing's insert, in one transaction but outside its explicit pipeline: the read
        model reads results mid-transaction (a correction's targets), and a pipeline of ten
        thousand inserts with reads among them was seen to stall for good (both ends waiting)."""
        if self.datastore.enable_db_functions:
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        self.record(curs, stored_events, kwargs.get("read_rows"))

    def analyze(self, tables: Sequence[str]) -> None:
        """``ANALYZE`` the tables a bulk write filled: until autovacuum gets to them, the
        planner takes them for as small as before (the holdings chart's step query took 7.5 s
        instead of 1.0 s on a freshly refreshed 10k store)."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            for table in tables:
                curs.execute(f"ANALYZE {self.name(table)}")

    #: appended to an ORDER BY column: compare as bytes, as Python and SQLite do
    byte_order = ' COLLATE "C"'

    def name(self, table: str) -> str:
        return f'"{self.datastore.schema}".{table}'

    def rewrite(
        self,
        statements: Sequence[tuple[str, Sequence[Any]]],
        originator_id: UUID,
        convert: Callable[[list[StoredEvent]], list[tuple[Any, ...]]],
    ) -> int:
        """See :meth:`control.store.recorder.SQLiteReportsRecorder.rewrite`."""
        from psycopg.sql import SQL

        paged = self.select_events_statement + SQL(
            " AND originator_version > %s ORDER BY originator_version LIMIT %s"
        )

        def page(curs: Any, after: int) -> list[StoredEvent]:
            curs.execute(paged, [originator_id, after, PAGE])
            return [
                StoredEvent(originator_id, r["originator_version"], r["topic"], bytes(r["state"]))
                for r in curs.fetchall()
            ]

        with self.datastore.transaction(commit=True) as curs:
            for sql, params in statements:
                curs.execute(sql, tuple(params))  # type: ignore[arg-type]
            return index_pages(lambda after: page(curs, after), lambda rows: self.index(curs, rows), convert)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(sql, tuple(params))  # type: ignore[arg-type]
            return curs.fetchall()  # plain tuples (eventsourcing's connections make dicts)

    def query_iter(self, sql: str, params: Sequence[Any] = (), size: int = 2000) -> Iterator[tuple[Any, ...]]:
        """Rows as they are read, through a server-side cursor (bounded memory)."""
        with (
            self.datastore.transaction(commit=False) as curs,
            curs.connection.cursor(name="control_stream", row_factory=tuple_row) as named,
        ):
            named.execute(sql, tuple(params))  # type: ignore[arg-type]
            while True:
                chunk = named.fetchmany(size)
                if not chunk:
                    return
                yield from chunk
