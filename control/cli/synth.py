"""``control synth``: write a reproducible synthetic ledger (gazetteer and reports) to a new store.

For scale tests and benchmarks: ``--places N --events M --seed S`` always writes the same
places and the same reports (ids, windows, report times, quotes; only the store's own clock,
``recorded_at``, differs). The store must be empty: its gazetteer is bound first (one
transaction, with a baseline per place), then the reports are appended in batches under the
writer lock, each batch one transaction, with a progress bar on stderr.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from control.cli import echo_text, note_unrefreshed, store_option
from control.model.errors import UserError

if TYPE_CHECKING:
    from control.model.events import Event

#: Reports per transaction (large: fewer rewrites of the indexes' pages, see readmodel.BULK_ROWS).
BATCH = 50_000


@click.command()
@click.option(
    "--places", type=click.IntRange(1, 99_999), default=2000, show_default=True, help="Number of places."
)
@click.option(
    "--events",
    type=click.IntRange(0, 10_000_000),
    default=10_000,
    show_default=True,
    help="Number of reports.",
)
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=1, show_default=True, help="Random seed.")
@click.option(
    "--batch",
    type=click.IntRange(1, 1_000_000),
    default=BATCH,
    show_default=True,
    help="Reports per transaction.",
)
@store_option
def synth(places: int, events: int, seed: int, batch: int, store: str | None) -> None:
    """Write a synthetic ledger to an empty store: a gazetteer of --places places and --events
    reports in the seed record's mix (captures, withdrawals, handovers, denials, claims,
    corrections, uncertain windows, backdated reports). Same arguments, same ledger."""
    from control.ingest.synth import synth_events, synth_gazetteer
    from control.service.sync import bind_gazetteer, open_app
    from control.store.config import RECORD, resolve_store, write_deadline
    from control.store.config import public as _public
    from control.store.retry import retrying
    from control.store.streams import stream_id
    from control.store.writelock import writer_lock

    where = resolve_store(store)
    started = time.perf_counter()
    atlas = synth_gazetteer(places, seed)
    from control.cli import scoped

    app = scoped(open_app(where, sync=False))

    def bind() -> int:
        bound = app.stored_gazetteer()
        if bound is not None or any(True for _ in app.recorder.select_events(stream_id(RECORD), limit=1)):
            what = f"gazetteer {bound.name!r}" if bound is not None else "the seed record"
            raise UserError(
                f"--store: {_public(where)} already holds a ledger ({what}); synth writes only to a new store"
            )
        return bind_gazetteer(app, atlas, f"synth:{seed}")

    with writer_lock(app.env_settings, write_deadline(), where):
        retrying(app, bind, where)

    def batches() -> Iterator[list[Event]]:
        chunk: list[Event] = []
        for event in synth_events(places, events, seed, atlas):
            chunk.append(event)
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    # one writer throughout (synth writes only to a new store): each batch in a transaction of
    # its own, a writer process inserting one while this one encodes the next
    with (
        click.progressbar(
            length=events, label=f"synth: {events} reports", file=sys.stderr, show_pos=True
        ) as bar,
        writer_lock(app.env_settings, write_deadline(), where),
    ):
        written = app.append_batches(RECORD, batches(), done=bar.update)
    with writer_lock(app.env_settings, write_deadline(), where):  # one fold per place, at the end
        app.refresh_states()
    note_unrefreshed(app, "synth")
    seconds = time.perf_counter() - started
    rate = f" ({written / seconds:,.0f} reports/s)" if written and seconds > 0 else ""
    echo_text(
        f"synth: gazetteer synth-{seed} ({places} places) and {written} reports written to "
        f"{_public(where)} in {seconds:.1f} s{rate}\n"
    )


COMMANDS = [synth]
