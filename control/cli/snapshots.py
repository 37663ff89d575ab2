"""``control snapshot``: dated control maps in (``import``) and out (``export``, a feed of maps).

``import`` reads every map first (a bad file, place, controller, time or geometry writes nothing),
then, under the writer lock, stores the new maps (one event each, control/store/snapshots.py) and
appends the reports all stored maps imply that the ledger does not yet hold, retracting those
they no longer imply (control/ingest/snapshots.py). ``export`` writes one GeoJSON map per step
and an index.json naming the store's recorded-at basis, so the same feed can be made again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from control.cli import (
    INSTANT,
    TIME_HELP,
    echo_text,
    known_at_option,
    note_unrefreshed,
    now,
    progress,
    recorded_at_option,
    seat_option,
    store_option,
)
from control.model.errors import UserError

if TYPE_CHECKING:
    from control.ingest.snapshots import Map
    from control.store.ledger import LedgerApp

#: A map's instant in its file name: 2024-12-07, 2024-12-07T1800Z, 2024-12-07T18:00Z, 20241207.
DATED = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:[T_ ](\d{2})[:-]?(\d{2})(?:[:-]?(\d{2}))?Z?)?")
#: Reports per transaction when a series appends many.
BATCH = 50_000
#: The most maps one feed writes.
MAX_MAPS = 10_000
MAP_SUFFIXES = (".geojson", ".json")


@click.group("snapshot")
def snapshot() -> None:
    """Dated control maps: import a source's maps as observations; export a feed of maps."""


def _map_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.suffix.lower() in MAP_SUFFIXES and DATED.search(p.stem)
            )
            if not found:
                raise UserError(
                    f"{path}: no map files in this folder (.geojson or .json files named by date, "
                    "e.g. 2024-12-07.geojson)"
                )
            files += found
        else:
            files.append(path)
    return files


def date_of(path: Path) -> datetime:
    """The instant a map's file name gives (a bare date is 00:00 UTC), or a one-line error."""
    from control.model.times import parse_instant

    m = DATED.search(path.stem)
    if not m:
        raise UserError(
            f"{path}: no date in the file name; name each map of a series by its date "
            "(2024-12-07.geojson, 2024-12-07T1800Z.geojson) or give one file with --as-of"
        )
    y, mo, d, h, mi, s = m.groups()
    text = f"{y}-{mo}-{d}" + (f"T{h}:{mi}:{s or '00'}Z" if h else "")
    return parse_instant(text, str(path))


def _bounded(value: datetime, what: str, first: datetime, latest: datetime) -> None:
    from control.model.times import iso

    if value < first:
        raise UserError(f"{what}: {iso(value)} is before the record begins ({iso(first)}, the baseline)")
    if value > latest:
        raise UserError(f"{what}: {iso(value)} is in the future; give the time the map shows")


@snapshot.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--as-of", type=INSTANT, help="The instant the map shows (one file). " + TIME_HELP)
@click.option("--source", required=True, help="Who publishes the maps (e.g. deepstate): a short name.")
@click.option(
    "--reported-at",
    type=INSTANT,
    help="When the map(s) became known (default: each map's as-of). " + TIME_HELP,
)
@click.option("--place-field", help="Property naming the place (default: place, name, pcode, p_code, id).")
@click.option(
    "--controller-field", default="controller", show_default=True, help="Property naming the holder."
)
@click.option("--status-field", default="status", show_default=True, help="Property: held or contested.")
@click.option(
    "--contested-by-field", default="contested_by", show_default=True, help="Property naming the contester."
)
@click.option("--actor", help="Area maps: who holds the polygons (default: the features' controller).")
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.5,
    show_default=True,
    help="Area maps: a place is held when at least this share of its area lies inside the polygons.",
)
@click.option("--rest", help="Area maps: who holds what lies outside the polygons (default: not observed).")
@click.option("--skip-unknown", is_flag=True, help="Import a map's known places and list the unknown ones.")
@store_option
def import_(
    paths: tuple[Path, ...],
    as_of: datetime | None,
    source: str,
    reported_at: datetime | None,
    place_field: str | None,
    controller_field: str,
    status_field: str,
    contested_by_field: str,
    actor: str | None,
    threshold: float,
    rest: str | None,
    skip_unknown: bool,
    store: str | None,
) -> None:
    """Import dated control maps of one source: GeoJSON features naming places (by name, alias
    or p-code) with a controller (and status), or polygons of the area one actor holds. A folder,
    or several files named by date, is a series. Each place is observed held as of the map's
    time; successive maps become changes between their times. Re-importing adds nothing."""
    from control.ingest import snapshots as snap
    from control.model import gazetteer

    snap.check_source(source)
    files = _map_files(paths)
    if as_of is not None and (len(files) != 1 or paths[0].is_dir()):
        raise UserError("--as-of: only for one map file; a series takes each map's time from its file name")
    app = _open(store)
    first, latest = gazetteer.baseline_as_of(), now() + timedelta(days=1)
    controllers = snap._controller_index()
    overlay = snap.Overlay(
        snap.controller_of(actor, "--actor", controllers) if actor else None,
        threshold,
        snap.controller_of(rest, "--rest", controllers) if rest else None,
    )
    fields = snap.Fields(place_field, controller_field, status_field, contested_by_field)
    dated = [(as_of if as_of is not None else date_of(f), f) for f in files]
    seen: dict[datetime, Path] = {}
    for when, f in dated:
        where = "--as-of" if as_of is not None else str(f)
        _bounded(when, where, first, latest)
        if when in seen:
            raise UserError(f"{f}: shows the same instant as {seen[when]}; give one map per instant")
        seen[when] = f
    if reported_at is not None:
        _bounded(reported_at, "--reported-at", first, latest)
        late = max(seen)
        if reported_at < late:
            raise UserError(
                f"--reported-at: a map cannot be known before the time it shows ({seen[late]} shows "
                f"{late.isoformat().replace('+00:00', 'Z')})"
            )
    from control.model.shapes import MAX_GEOJSON_BYTES
    from control.model.textio import read_text
    from control.model.times import iso
    from control.service.maps import stored_digests

    skipped: list[str] = []

    def read(when: datetime, f: Path, text: str, digest: str) -> Map:
        features = snap.read_features(text, str(f))
        observations, unknown = snap.read_map(features, str(f), fields, overlay, skip_unknown)
        skipped.extend(f"{f}: {u}" for u in unknown)
        return snap.Map(source, when, reported_at or when, f.name, tuple(observations), digest)

    # a file read before with the same settings (its input digest stored) is not read again
    known = {key: stored[1] for key, stored in stored_digests(app).items()}
    maps: list[Map] = []
    unread: list[tuple[str, datetime, Path, str]] = []
    with progress(f"reading {len(dated)} maps", len(dated), least=2) as bar:
        for when, f in sorted(dated):
            text = read_text(f, str(f), limit=MAX_GEOJSON_BYTES)
            settings = [source, iso(when), iso(reported_at or when), fields, overlay, skip_unknown]
            digest = snap.input_digest(text, settings)
            if known.get((source, iso(when) or "")) == digest:
                unread.append((source, when, f, digest))
            else:
                maps.append(read(when, f, text, digest))
            if bar is not None:
                bar.update(1)
    result = _import(app, store, maps, unread, read)
    note_unrefreshed(app, "snapshot import")
    new, corrected, unchanged, plan = result
    lines = [
        f"snapshot import {source}: {len(dated)} map(s) ({new} new, {corrected} corrected, {unchanged} "
        f"unchanged), {sum(len(m.observations) for m in maps):,} observations read; {plan.added:,} "
        f"report(s) added, {plan.retracted:,} retracted, {plan.restored:,} restored"
    ]
    if skipped:
        lines.append(f"  {len(skipped)} unknown place(s) skipped (--skip-unknown):")
        lines += [f"  {s}" for s in skipped[:20]]
        if len(skipped) > 20:
            lines.append(f"  ... and {len(skipped) - 20} more")
    echo_text("\n".join(lines) + "\n")


def _open(store: str | None, recorded_at: datetime | None = None) -> Any:
    """The store, its gazetteer (the version in force at ``recorded_at``) scoped to the command."""
    from control.cli import open_store

    return open_store(store, recorded_at)


def _import(
    app: LedgerApp,
    store: str | None,
    maps: Sequence[Map],
    unread: Sequence[tuple[str, datetime, Path, str]],
    read: Any,
) -> tuple[int, int, int, Any]:
    """Store the new maps and append what the stored maps imply (under the writer lock, retried
    if another writer came first). ``unread``: files whose input was stored as it is, not read
    (read now if another import stored another version meanwhile). Returns (new, corrected,
    unchanged, plan)."""
    from control.ingest import snapshots as snap
    from control.model import gazetteer
    from control.service.maps import store_maps, stored_digests, stored_maps
    from control.store.config import RECORD, resolve_store, write_deadline
    from control.store.readmodel import REPORT, report_event, stream_key
    from control.store.retry import retrying
    from control.store.streams import stream_id
    from control.store.writelock import writer_lock

    where = resolve_store(store)
    baseline = {p.name: p.baseline for p in gazetteer.governorates()}
    counts = [0, 0, 0]

    def attempt() -> Any:
        from control.model.times import iso

        current = stored_digests(app)
        fresh = []
        counts[:] = [0, 0, 0]
        given = list(maps)
        for source, when, f, digest in unread:
            stored = current.get((source, iso(when) or ""))
            if stored is not None and stored[1] == digest:
                counts[2] += 1
            else:  # another import stored another version meanwhile: this one is read after all
                from control.model.shapes import MAX_GEOJSON_BYTES
                from control.model.textio import read_text

                given.append(read(when, f, read_text(f, str(f), limit=MAX_GEOJSON_BYTES), digest))
        for m in given:
            old = current.get((m.source, iso(m.as_of) or ""))
            if old is not None and old[0] == m.digest():
                counts[2] += 1
                continue
            counts[1 if old is not None else 0] += 1
            fresh.append(m)
        if not fresh:  # every map as stored: what they imply is in the ledger (reports go first)
            return snap.Plan([], 0, 0, 0)
        desired = snap.derive([*stored_maps(app), *fresh], baseline, gazetteer.baseline_as_of())
        found = app.recorder.query(
            f"SELECT {REPORT} FROM {app.recorder.table} WHERE stream = %s AND file LIKE %s",
            [stream_key(stream_id(RECORD)), snap.PREFIX + "%"],
        )
        plan = snap.reconcile(desired, [report_event(r) for r in found], max(m.reported_at for m in fresh))
        del desired
        if plan.events:  # the reports first, then the maps: a write cut short is redone next time
            batches = [plan.events[i : i + BATCH] for i in range(0, len(plan.events), BATCH)]
            with progress(f"appending {len(plan.events):,} reports", len(plan.events), least=2) as bar:
                app.append_batches(RECORD, batches, done=bar.update if bar is not None else None)
            app.refresh_states()
        store_maps(app, fresh)
        return plan

    deadline = write_deadline()
    with writer_lock(app.env_settings, deadline, where):
        plan = retrying(app, attempt, where, deadline)
    return counts[0], counts[1], counts[2], plan


# --- the feed ---------------------------------------------------------------------------------


def _check_folder(out: Path, names: Sequence[str], store: str | None) -> None:
    """``out`` must be a folder (or creatable in one), and no file of the feed (``names``) may
    replace the store, its sidecar files or anything but a regular file (checked before any work)."""
    from control.cli import guarded
    from control.views.files import check_output

    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {str(out)!r} is not a folder; the feed is a folder of maps")
    keep = guarded(store)
    for name in names:
        check_output(out / name, "--out", keep)


@snapshot.command("export")
@click.option("--every", default="1d", show_default=True, help="One map per interval (1d, 12h).")
@click.option("--from", "start", type=INSTANT, required=True, help="The first map's instant. " + TIME_HELP)
@click.option(
    "--to", "end", type=INSTANT, required=True, help="The last map's instant, at most. " + TIME_HELP
)
@click.option("--format", "fmt", default="geojson", show_default=True, help="geojson (the only format).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The feed's folder.")
@known_at_option
@recorded_at_option
@seat_option
@store_option
def export(
    every: str,
    start: datetime,
    end: datetime,
    fmt: str,
    out: Path,
    known_at: datetime | None,
    recorded_at: datetime | None,
    seat: str,
    store: str | None,
) -> None:
    """A feed of dated maps: one GeoJSON map per step from --from to --to (each place with its
    controller, status, sources and area when known) and index.json, which names the store's
    recorded-at basis: give it as --recorded-at to make the same feed again, byte for byte."""
    from control.model import gazetteer
    from control.model.times import iso
    from control.store.config import RECORD
    from control.views import snapshotfeed
    from control.views.chartdata import daily, parse_step
    from control.views.files import write_atomically
    from control.views.render import to_json

    if fmt != "geojson":
        raise UserError(f"--format: {fmt!r}: the feed is written as geojson")
    if end < start:
        raise UserError(f"--to: {iso(end)} is before --from ({iso(start)})")
    step = parse_step(every)
    count = (end - start) // step + 1
    if count > MAX_MAPS:
        raise UserError(f"--every: {every} from --from to --to makes {count} maps, more than {MAX_MAPS}")
    times = daily(start, end, step)
    names = [t.strftime("%Y-%m-%dT%H%MZ") + ".geojson" for t in times]
    _check_folder(out, [*names, "index.json"], store)
    app = _open(store, recorded_at)
    atlas = app.gazetteer
    first = atlas.baseline_as_of
    if end < first - timedelta(days=366) or start > now() + timedelta(days=366):
        raise UserError(
            f"--from/--to: {iso(start)}..{iso(end)} lies far outside the record (it begins {iso(first)})"
        )
    basis = recorded_at or datetime.fromisoformat(app.last_recorded(RECORD) or iso(first))
    entries = []
    written: list[tuple[Path, str]] = []
    with progress(f"folding {len(times)} maps", len(times), least=2) as bar:
        for t, name in zip(times, names, strict=True):
            snap = app.replay(t, known_at, recorded_at, seat)
            text, summary = snapshotfeed.feed_map(snap)
            written.append((out / name, text))
            entries.append({"at": iso(t), "file": name} | summary)
            if bar is not None:
                bar.update(1)
    index = {
        "type": "control-snapshot-feed",
        "gazetteer": atlas.name,
        "every": every,
        "from": iso(start),
        "to": iso(end),
        "known_at": iso(known_at),
        "recorded_at": iso(basis),
        "regenerate": (
            f"control snapshot export --every {every} --from {iso(start)} --to {iso(end)} "
            f"--recorded-at {iso(basis)}"
            + (f" --known-at {iso(known_at)}" if known_at else "")
            + (f" --seat {seat}" if seat != gazetteer.DEFAULT_SEAT else "")
            + " --out DIR"
        ),
        "seat": seat,
        "maps": entries,
    }
    written.append((out / "index.json", to_json(index)))
    for path, text in written:
        write_atomically(path, _writer(text))
    echo_text(f"wrote {len(entries)} maps and index.json to {out}\n")


def _writer(text: str) -> Any:
    def write(temp: str) -> None:
        with open(temp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)

    return write


COMMANDS = [snapshot]
