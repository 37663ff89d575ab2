"""What-if scenarios: hypothetical reports on an isolated branch, compared with the record.

A scenario file (``scenarios/NAME.toml``) holds a ``[scenario]`` table and ``[[event]]`` tables::

    [scenario]
    name = "homs-holds"
    description = "What if the government had held Homs?"
    branch_at = "2024-12-08T03:00Z"   # optional: the record as known then (default: all of it)
    suppress = ["homs-capture-002"]   # record events that, in this world, never happened
    reported_at = "2024-12-08T03:00Z" # optional default report time of the hypothetical events

    [[event]]                         # same fields as seeds/record.toml and `control add --toml`
    kind = "claim"
    ...

Rules:

* The scenario's world is the record as known at the branch point, minus suppressions, plus the
  hypothetical events (tagged with the scenario). It is evaluated by the same pure fold.
* Hypothetical events are sourced like any other: ``file`` + exact ``quote``. Without them the
  source is the scenario file itself and the quote its ``description``.
* A hypothetical event's report time defaults to ``reported_at``, else the branch point, else the
  record's last report. With a branch point, a hypothetical event may not occur before it
  (rewriting what was known then is a suppression, not a hypothesis).
* Stored, a scenario is one stream of its own (``scenario:NAME``) whose every run appends one event
  holding the whole branch: replacement is atomic, and the record's stream is never touched.
* :func:`evaluate` does the same in memory, without any store.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from control.fold.projection import Snapshot, replay
from control.model import gazetteer
from control.model.errors import UserError
from control.model.events import Event
from control.model.gazetteer import DEFAULT_SEAT
from control.model.times import iso, parse_instant
from control.model.tomlfile import TomlFile

if TYPE_CHECKING:
    from control.store.ledger import LedgerApp

SCENARIO_FIELDS = {"name", "description", "branch_at", "suppress", "reported_at"}
PROJECT_SCENARIOS = Path(__file__).resolve().parent.parent.parent / "scenarios"


@dataclass(frozen=True)
class Scenario:
    """A parsed and validated scenario file."""

    name: str
    description: str
    path: Path
    branch_at: datetime | None
    suppress: tuple[str, ...]
    events: tuple[Event, ...]

    def definition(self) -> dict[str, Any]:
        """The stored form of the branch (plain JSON-ready values)."""
        return {
            "name": self.name,
            "description": self.description,
            "file": self.path.name,
            "branch_at": iso(self.branch_at),
            "suppress": list(self.suppress),
            "events": [e.to_dict() for e in self.events],
        }


def load(path: Path, record: list[Event] | LedgerApp) -> Scenario:
    """Parse and validate one scenario file against the record's events (a list, or a store's
    record, looked up by index: never read whole)."""
    from control.ingest.record import Context, build_events, instant_field, load_record

    source = TomlFile(path, _read(path))
    head = source.table("scenario")
    if head is None:
        raise UserError(f"{path}:1: a scenario needs a [scenario] table with a name")
    tables = source.items("event")

    def where(key: str) -> str:
        return source.where("scenario", key=key)

    unknown = sorted(set(head) - SCENARIO_FIELDS)
    if unknown:
        raise UserError(f"{where(unknown[0])}: unknown field(s) {', '.join(unknown)} in [scenario]")
    name = head.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise UserError(f"{where('name')}: name must be lowercase letters, digits and '-'")
    description = head.get("description", "")
    if not isinstance(description, str) or not description:
        raise UserError(f"{where('description')}: description is required")

    if isinstance(record, list):
        span = (min(e.reported_at for e in record), max(e.reported_at for e in record)) if record else None
        by_id: Any = {e.id: e for e in record}
    else:
        from control.service.validation import KnownReports
        from control.store.config import RECORD

        span, by_id = record.report_span(), KnownReports(record, RECORD)
    if span is None:
        raise UserError(f"{path}:1: the record is empty: a scenario branches from a record")
    first, last = span
    branch_at = instant_field(head, "branch_at", where("branch_at"))
    if branch_at is not None and not first <= branch_at <= last:
        raise UserError(
            f"{where('branch_at')}: branch point {iso(branch_at)} is outside the record "
            f"({iso(first)} .. {iso(last)})"
        )
    suppress = head.get("suppress", [])
    if not isinstance(suppress, list) or not all(isinstance(s, str) for s in suppress):
        raise UserError(f"{where('suppress')}: suppress must be a list of event ids")
    for event_id in suppress:
        found = by_id.get(event_id)
        if found is None or (branch_at is not None and found.reported_at > branch_at):
            raise UserError(
                f"{where('suppress')}: suppress names {event_id!r}, which is not in the record"
                + (f" as known at {iso(branch_at)}" if branch_at else "")
            )
    reported_at = instant_field(head, "reported_at", where("reported_at")) or branch_at or last

    defaulted = [_with_defaults(t, path, description) for t in tables]
    settings = load_record()
    ctx = Context(
        settings.campaign_start,
        settings.published,
        by_id,
        base=path.parent,
        scenario=name,
        reported_default=reported_at,
        zone=gazetteer.current().zone,
    )
    events = build_events(defaulted, ctx, str(path), source)
    if branch_at is not None:
        for index, event in enumerate(events):
            if event.window.earliest < branch_at:
                raise UserError(
                    f"{source.where('event', index)}: event {event.id!r} would occur "
                    f"({iso(event.window.earliest)}) "
                    f"before the branch point {iso(branch_at)}; suppress record events instead"
                )
    return Scenario(name, description, path, branch_at, tuple(suppress), tuple(events))


def _with_defaults(table: dict[str, Any], path: Path, description: str) -> dict[str, Any]:
    if "file" in table or "quote" in table:
        return table
    return {**table, "file": path.name, "quote": description}


def _read(path: Path) -> str:
    from control.model.textio import read_text  # size cap, binary and non-UTF-8 files refused

    return read_text(path, str(path))


def directories(extra: Path | None = None) -> list[Path]:
    """Where scenario names are looked up: --dir, ./scenarios, the project's scenarios/."""
    found: list[Path] = []
    for candidate in (extra, Path.cwd() / "scenarios", PROJECT_SCENARIOS):
        if candidate is not None and candidate.is_dir() and candidate.resolve() not in found:
            found.append(candidate.resolve())
    return found


def catalogue(directory: Path | None = None) -> dict[str, Path]:
    """Scenario name -> file, from the first directory that has scenarios; duplicates refused."""
    for folder in directories(directory):
        files = sorted(folder.glob("*.toml"))
        if not files:
            continue
        names: dict[str, Path] = {}
        for file in files:
            source = TomlFile(file, _read(file))
            head = source.data.get("scenario", {})
            name = head.get("name") if isinstance(head, dict) else None
            if not isinstance(name, str):
                continue
            if name in names:
                raise UserError(
                    f"{source.where('scenario', key='name')}: scenario name {name!r} is also used by "
                    f"{names[name]}"
                )
            names[name] = file
        return names
    return {}


def find(name_or_path: str, directory: Path | None = None) -> Path:
    """The file of a scenario given by name (see :func:`directories`) or by path."""
    if name_or_path.endswith(".toml"):
        path = Path(name_or_path)
        if not path.exists():
            raise UserError(f"NAME: no scenario file {name_or_path!r}")
        return path
    names = catalogue(directory)
    if name_or_path not in names:
        import difflib

        close = difflib.get_close_matches(name_or_path, list(names), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(names)) or "none"
        raise UserError(f"NAME: unknown scenario {name_or_path!r}{hint}; known: {known}")
    return names[name_or_path]


def branch_world(
    record: list[Event], branch_at: datetime | None, suppress: Iterable[str], events: Iterable[Event]
) -> list[Event]:
    """The record as known at the branch point, minus suppressions, plus hypothetical events."""
    dropped = set(suppress)
    kept = [e for e in record if e.id not in dropped and (branch_at is None or e.reported_at <= branch_at)]
    return [*kept, *events]


def world(scenario: Scenario, record: list[Event]) -> list[Event]:
    """The scenario's world, in memory: the same answer as :func:`stored_world`."""
    return branch_world(record, scenario.branch_at, scenario.suppress, scenario.events)


def evaluate(
    scenario: Scenario, record: list[Event], at: datetime, known_at: datetime | None = None
) -> Snapshot:
    """Replay the scenario's world in memory, touching no store."""
    return replay(world(scenario, record), at, known_at)


def store_branch(app: LedgerApp, scenario: Scenario) -> bool:
    """Write the branch to its own stream, replacing the previous one atomically.

    Returns whether anything was written (nothing if the stored branch is already this one).
    """
    from eventsourcing.application import AggregateNotFoundError

    from control.store.domain import Branch
    from control.store.streams import stream_id

    try:
        branch = app.repository.get(stream_id(f"scenario:{scenario.name}"))
    except AggregateNotFoundError:
        branch = Branch.start(scenario.name)
    branch.define(scenario.definition())
    if not branch.pending_events:
        return False
    app.save(branch)
    return True


def stored_definition(app: LedgerApp, name: str) -> dict[str, Any] | None:
    """The current (last) definition of a stored branch, read in bulk from the recorder."""
    definitions = [
        state["definition"] for _, state in app.payloads(f"scenario:{name}") if "definition" in state
    ]
    return definitions[-1] if definitions else None


def _stored_branch(app: LedgerApp, name: str) -> tuple[datetime | None, list[str], list[Event]]:
    """A stored branch's point, suppressions and hypothetical events."""
    definition = stored_definition(app, name)
    if definition is None:
        raise UserError(f"NAME: scenario {name!r} has not been run in this store")
    branch_at = parse_instant(definition["branch_at"]) if definition["branch_at"] else None
    return branch_at, definition["suppress"], [Event.from_dict(d) for d in definition["events"]]


def stored_world(app: LedgerApp, name: str) -> list[Event]:
    """The scenario world rebuilt from the stored branch and the stored record."""
    branch_at, suppress, events = _stored_branch(app, name)
    return branch_world(app.read(), branch_at, suppress, events)


def run(app: LedgerApp, name_or_path: str, directory: Path | None = None) -> Scenario:
    """Load a scenario file, validate it against the stored record (by index), and store its
    branch (atomic replacement)."""
    scenario = load(find(name_or_path, directory), app)
    store_branch(app, scenario)
    return scenario


def evaluate_stored(
    app: LedgerApp,
    name: str,
    at: datetime,
    known_at: datetime | None = None,
    seat: str = DEFAULT_SEAT,
    detail: Collection[str] | None = None,
) -> Snapshot:
    """``replay(stored_world(app, name), at, known_at, seat)``, folded place by place from the
    store's read model with the branch applied (bounded memory, whatever the record's size):
    :func:`control.store.answers.folded_snapshot` of :func:`control.store.placereads.branch`
    (``detail``: the places whose states the answer needs whole, as ``LedgerApp.snapshot``'s)."""
    world = app.branch(*_stored_branch(app, name))
    return app.folded_snapshot(at, known_at, None, seat, world=world, detail=detail)


def compare(record: Snapshot, scenario: Snapshot) -> dict[str, Any]:
    """Record vs scenario at the same instant: holdings of each and the capitals that differ."""
    differences = []
    for ours, theirs in zip(record.capitals, scenario.capitals, strict=True):
        if (ours.controller, ours.status) != (theirs.controller, theirs.status):
            differences.append(
                {
                    "governorate": ours.governorate,
                    "capital": ours.capital,
                    "record": {"controller": ours.controller, "status": ours.status},
                    "scenario": {"controller": theirs.controller, "status": theirs.status},
                }
            )
    record_dict, scenario_dict = record.to_dict(), scenario.to_dict()
    return {
        "at": iso(record.at),
        "record": {"holdings": record_dict["holdings"]},
        "scenario": {"holdings": scenario_dict["holdings"]},
        "differences": differences,
    }


def starter(name: str, snapshot: Snapshot) -> str:
    """A new scenario file with the state at the snapshot's instant as comments."""
    lines = [
        f"# Scenario {name}: written by `control scenario new` with the state at {iso(snapshot.at)}.",
        "# Edit the description, suppress record events by id (see `control events`), and add",
        "# hypothetical [[event]] tables (same fields as seeds/record.toml).",
        "#",
        f"# State of the record at {iso(snapshot.at)}:",
    ]
    for c in snapshot.capitals:
        lines.append(f"#   {c.governorate:<12} {c.capital:<12} {c.controller or '(nobody)':<11} {c.status}")
    held = snapshot.holding("government")
    lines += [
        f"#   government holds {held.count} of {len(snapshot.capitals)}: {', '.join(held.capitals)}",
        "",
        "[scenario]",
        f'name = "{name}"',
        f'description = "What if ... ({name})"',
        '# branch_at = "2024-12-07T18:00Z"  # the record as known then (default: all of it)',
        "suppress = []",
        "",
        "# [[event]]",
        '# kind = "capture"',
        '# place = "Homs"',
        '# actor = "government"',
        '# from = "hts"',
        '# when = "December 9"',
        '# reported_at = "2024-12-09T18:00Z"',
        "",
    ]
    return "\n".join(lines)
