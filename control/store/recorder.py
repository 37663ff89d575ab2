"""The recorders: eventsourcing's application recorders (SQLite here, PostgreSQL in
:mod:`control.store.readmodel_pg`) that write the read model's rows (:mod:`control.store.readmodel`)
in the very transaction that inserts the events, and run the read model's queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence, Sized
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from control.store.readmodel import (
    BULK_CACHE_KIB,
    BULK_ROWS,
    META,
    PAGE,
    REPORT,
    ROWIDS,
    TABLE,
    digests_for,
    extra_tables,
    index_pages,
    index_rows,
    place_index,
    rows_for,
)


class Statements:
    """What both recorders share: statements written with ``%s`` placeholders (SQLite's are
    translated), run on the cursor of one transaction."""

    #: the driver's placeholder
    placeholder = "%s"
    #: whether the derived tables take SQLite's shape (:func:`extra_tables`)
    sqlite = False

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "%s" else sql.replace("%s", self.placeholder)

    def index(self, cursor: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        """:func:`index_rows` on this transaction's cursor."""

        def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
            cursor.execute(self._sql(sql), tuple(params))
            return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in cursor.fetchall()]

        def many(sql: str, found: list[tuple[Any, ...]]) -> None:
            if found:
                cursor.executemany(self._sql(sql), found)

        index_rows(run, many, self.name, rows)

    def record(
        self, cursor: Any, stored_events: Sequence[StoredEvent], rows: Sequence[tuple[Any, ...]] | None = None
    ) -> None:
        """What the events being inserted add to the read model, on their transaction's cursor:
        the reports' rows (:meth:`index`) and the record's latest checksum. ``rows``: the rows
        :func:`rows_for` would decode back from ``stored_events``, when the writer already has
        them (``LedgerApp.append`` builds them from the very dicts it stores: a decode saved
        per report)."""
        self.index(cursor, rows_for(stored_events) if rows is None else rows)
        for key, value in digests_for(stored_events):
            cursor.execute(
                self._sql(
                    f"INSERT INTO {self.name(META)} (key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                (key, value),
            )

    def execute_script(
        self, statements: Sequence[tuple[str, Sequence[Any]]], *many: tuple[str, Sequence[Any]]
    ) -> None:
        """``statements``, then each ``(sql, rows)`` of ``many`` (one per row), in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:  # type: ignore[attr-defined]
            self.bulk(cursor, sum(len(rows) if isinstance(rows, Sized) else BULK_ROWS for _, rows in many))
            for sql, params in statements:
                cursor.execute(self._sql(sql), tuple(params))
            for sql, rows in many:  # rows may be an iterator, made as they are inserted
                if not isinstance(rows, Sized) or rows:
                    cursor.executemany(self._sql(sql), rows)

    def name(self, table: str) -> str:
        return table

    def reports_at(
        self, stream: str, places: Sequence[str], known: str = "", params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows (:data:`REPORT`) of ``places``' reports, in no set order; ``known``: SQL
        from :func:`known_filter` (``keyed``), with its ``params``."""
        marks = ",".join(["%s"] * len(places))
        return self.query(  # type: ignore[attr-defined, no-any-return]
            f"SELECT {REPORT} FROM {self.name(TABLE)} WHERE stream = %s AND place IN ({marks}){known}",
            [stream, *places, *params],
        )

    def bulk(self, cursor: Any, rows: int) -> None:
        """Before a write of ``rows`` rows on ``cursor``'s connection (see :data:`BULK_ROWS`)."""

    def analyze(self, tables: Sequence[str]) -> None:
        """After a bulk write into ``tables``: let the planner know their new sizes (SQLite's
        planner needs no statistics for these queries)."""


class SQLiteReportsRecorder(Statements, SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, plus the read-model rows in its transaction."""

    placeholder = "?"
    sqlite = True

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {TABLE} (stream TEXT NOT NULL, position INTEGER NOT NULL, "
            "id TEXT NOT NULL, place TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, "
            "earliest TEXT NOT NULL, latest TEXT NOT NULL, reported_at TEXT NOT NULL, "
            "recorded_at TEXT NOT NULL, file TEXT NOT NULL, report TEXT NOT NULL, "
            "PRIMARY KEY (stream, id))",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_position ON {TABLE} (stream, position)",
            place_index(str),
            f"CREATE INDEX IF NOT EXISTS {TABLE}_recorded ON {TABLE} (stream, recorded_at)",
            f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            *extra_tables(str, indexes=False, sqlite=True),
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        rows = kwargs.get("read_rows")
        self.bulk(c, len(stored_events))
        if rows is None:  # eventsourcing's own save: one statement per event, for its ids
            ids = super()._insert_events(c, stored_events, **kwargs)
        else:  # LedgerApp.append, which reads no notification ids back: one statement for all
            c.executemany(
                self.insert_events_statement,
                [(s.originator_id.hex, s.originator_version, s.topic, s.state) for s in stored_events],
            )
            ids = None
        self.record(c, stored_events, rows)
        return ids

    def bulk(self, cursor: Any, rows: int) -> None:
        """A bulk write's connection keeps up to :data:`BULK_CACHE_KIB` of pages in memory (for
        as long as it lives: a writer's process is short, or writes in bulk again)."""
        if rows >= BULK_ROWS:
            cursor.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")

    def rewrite(
        self,
        statements: Sequence[tuple[str, Sequence[Any]]],
        originator_id: UUID,
        convert: Callable[[list[StoredEvent]], list[tuple[Any, ...]]],
    ) -> int:
        """The rebuild, in one transaction: run ``statements``, then page through the stream's
        stored events (:data:`PAGE` at a time: memory follows a page, not the ledger) and index
        the rows ``convert`` makes of them. Returns the number of rows."""

        def page(c: SQLiteCursor, after: int) -> list[StoredEvent]:
            paged = "AND originator_version>? ORDER BY originator_version LIMIT ?"
            c.execute(self.select_events_statement + paged, [originator_id.hex, after, PAGE])
            return [
                StoredEvent(originator_id, r["originator_version"], r["topic"], r["state"])
                for r in c.fetchall()
            ]

        with self.datastore.transaction(commit=True) as c:
            self.bulk(c, BULK_ROWS)
            for sql, params in statements:
                c.execute(self._sql(sql), tuple(params))
            return index_pages(lambda after: page(c, after), lambda rows: self.index(c, rows), convert)

    def reports_at(
        self, stream: str, places: Sequence[str], known: str = "", params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """:meth:`Statements.reports_at`, read in the table's order: the rows' ids from the
        index by place first, then the rows by id, ascending. A place's reports lie all over
        the table (appended among every other place's); fetched place by place, each took a
        page read of its own: a fifth less time per report on a 1M store."""
        marks = ",".join(["?"] * len(places))
        with self.datastore.transaction(commit=False) as c:  # one snapshot for both reads
            cursor = c.sqlite_cursor
            cursor.row_factory = None
            cursor.execute(
                f"SELECT rowid FROM {TABLE} WHERE stream = ? AND place IN ({marks})", [stream, *places]
            )
            ids = sorted(r[0] for r in cursor.fetchall())
            rows: list[tuple[Any, ...]] = []
            for i in range(0, len(ids), ROWIDS):
                part = ids[i : i + ROWIDS]
                cursor.execute(
                    f"SELECT {REPORT} FROM {TABLE} WHERE rowid IN ({','.join(['?'] * len(part))})"
                    + self._sql(known),
                    [*part, *params],
                )
                rows += cursor.fetchall()
            return rows

    # -- queries (plain SQL; ``?`` placeholders) -------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None  # plain tuples (eventsourcing's connection makes Row objects)
            cursor.execute(self._sql(sql), tuple(params))
            return cursor.fetchall()

    def query_iter(self, sql: str, params: Sequence[Any] = (), size: int = 2000) -> Iterator[tuple[Any, ...]]:
        """Rows as they are read (bounded memory), for streaming output."""
        with self.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None
            cursor.execute(self._sql(sql), tuple(params))
            while chunk := cursor.fetchmany(size):
                yield from chunk

    @property
    def table(self) -> str:
        return TABLE

    @property
    def meta(self) -> str:
        return META


RECORDERS = {
    "eventsourcing.sqlite": "control.store.recorder:SQLiteReportsRecorder",
    "eventsourcing.postgres": "control.store.readmodel_pg:PostgresReportsRecorder",
}
