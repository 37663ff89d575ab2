"""The questions a ledger answers place by place, as :class:`LedgerApp`'s methods
(:class:`PlaceQuestions`, one of its bases): snapshots, transitions, timelines, phases and chart
inputs, from the stored states where they answer (:mod:`control.store.answers`) and else folded a
chunk of places at a time from the read model (:mod:`control.store.states`), each in the store's
own gazetteer unless the caller scoped one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from control.model.events import Event
from control.model.gazetteer import DEFAULT_SEAT
from control.store.config import RECORD
from control.store.readmodel import known_filter, stream_key
from control.store.reports import own_places, own_places_gen
from control.store.streams import stream_id

if TYPE_CHECKING:
    from control.fold.projection import Snapshot, Transition
    from control.store.placereads import Branch


class PlaceQuestions:
    """Answers folded or read place by place. A base of :class:`control.store.ledger.LedgerApp`
    (its ``recorder``, ``_read_model_ready`` and ``bound_gazetteer`` are the app's)."""

    recorder: Any
    _read_model_ready: Callable[[], None]

    @own_places
    def replay(
        self,
        at: datetime,
        known_at: datetime | None = None,
        recorded_at: datetime | None = None,
        seat: str = DEFAULT_SEAT,
        horizon: timedelta | None = None,
        detail: Collection[str] | None = None,
        since: bool = True,
    ) -> Snapshot:
        """``replay(self.read(recorded_at=...), at, known_at, seat, recorded_at, horizon)`` the
        cheapest way the read model allows: from the stored states on the latest knowledge with
        the default seat and horizon (:meth:`snapshot`, ``detail`` and ``since`` as there),
        else folded place by place (:meth:`folded_snapshot`)."""
        from control.fold.projection import DEFAULT_HORIZON
        from control.store import placereads

        if placereads.as_stored(known_at, recorded_at, seat, horizon or DEFAULT_HORIZON):
            return self.snapshot(at, detail, since)
        return self.folded_snapshot(at, known_at, recorded_at, seat, horizon)

    @own_places
    def folded_snapshot(
        self,
        at: datetime,
        known_at: datetime | None = None,
        recorded_at: datetime | None = None,
        seat: str = DEFAULT_SEAT,
        horizon: timedelta | None = None,
        world: Branch | None = None,
        detail: Collection[str] | None = None,
    ) -> Snapshot:
        """``replay(self.read(recorded_at=...), at, known_at, seat, recorded_at, horizon)``, folded
        place by place from the read model (bounded memory): see
        :func:`control.store.answers.folded_snapshot`. ``world``: the same of a what-if branch
        (:meth:`branch`); ``detail``: the places whose states the answer needs whole, where they
        come from the stored states (:meth:`snapshot`)."""
        from control.fold.projection import DEFAULT_HORIZON
        from control.store import answers

        self._read_model_ready()
        return answers.folded_snapshot(
            self,
            stream_key(stream_id(RECORD)),
            at,
            known_at,
            recorded_at,
            seat,
            horizon or DEFAULT_HORIZON,
            world=world,
            detail=detail,
        )

    @own_places
    def branch(self, branch_at: datetime | None, suppress: Collection[str], extra: Sequence[Event]) -> Branch:
        """The record's what-if branch at ``branch_at`` without ``suppress``, plus ``extra``
        (:class:`control.store.placereads.Branch`, its corrections' places read by index): what
        :meth:`folded_snapshot`, :meth:`phases` and :meth:`statements` take as ``world``."""
        from control.store import placereads

        self._read_model_ready()
        return placereads.branch(self, stream_key(stream_id(RECORD)), branch_at, suppress, extra)

    @own_places
    def transitions(
        self,
        known_at: datetime | None = None,
        recorded_at: datetime | None = None,
        seat: str = DEFAULT_SEAT,
        places: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Transition]:
        """``transitions(self.read(recorded_at=...), known_at, seat)``, folded place by place
        from the read model (bounded memory); ``places``: only those places' (by name), read by
        index. ``since``/``until``: only changes whose window overlaps ``[since, until)`` are
        wanted, so on the latest knowledge and default seat only the places whose stored moves
        (or dirty marks) say they may have one are folded; all of those places' changes are
        returned (the caller keeps the period's)."""
        from control.fold.projection import place_transitions, transition_order
        from control.store import placereads

        if since is not None and placereads.as_stored(known_at, recorded_at, seat):
            self._read_model_ready()
            moved = placereads.moved_places(self, stream_key(stream_id(RECORD)), since, until)
            places = moved if places is None else set(places) & moved
        found = self._deciding(known_at, recorded_at, seat, places)
        return sorted(
            (t for g, mine in found for t in place_transitions(g, mine, seat)), key=transition_order
        )

    def _deciding(
        self,
        known_at: datetime | None,
        recorded_at: datetime | None,
        seat: str,
        places: Collection[str] | None = None,
    ) -> Iterator[tuple[Any, list[Event]]]:
        """Every place of the gazetteer (or of ``places``) with the reports that decide it (as the
        pure fold selects them), read from the read model a chunk of places at a time."""
        from control.model import gazetteer
        from control.store import placereads

        self._read_model_ready()
        stream = stream_key(stream_id(RECORD))
        chosen = [g for g in gazetteer.governorates() if places is None or g.name in places]
        return placereads.deciding_events(self, stream, chosen, known_at, recorded_at, seat)

    @own_places_gen
    def timelines(
        self,
        start: datetime,
        known_at: datetime | None = None,
        recorded_at: datetime | None = None,
        seat: str = DEFAULT_SEAT,
        places: Collection[str] | None = None,
    ) -> Iterator[tuple[Any, list[tuple[datetime, Any]]]]:
        """``place_timelines(events, start, end, known_at, False, seat)`` of the reports stored by
        ``recorded_at``, ``end`` just past their last edge (a report time, or a window's end plus
        the contest horizon: the last period is really the last), folded a chunk of places at a
        time from the read model: memory follows a chunk, not the ledger (``places``: only those,
        by name; the end is still the whole record's)."""
        from control.fold.phases import place_states
        from control.fold.projection import DEFAULT_HORIZON

        self._read_model_ready()
        stored, params = known_filter(None, recorded_at)
        reported, latest = self.recorder.query(
            f"SELECT MAX(reported_at), MAX(latest) FROM {self.recorder.table} WHERE stream = %s{stored}",
            [stream_key(stream_id(RECORD)), *params],
        )[0]
        end = start
        if reported is not None:
            end = max(datetime.fromisoformat(reported), datetime.fromisoformat(latest) + DEFAULT_HORIZON)
        last = end + timedelta(seconds=1) - timedelta(microseconds=1)  # as place_timelines' end
        for g, deciding in self._deciding(known_at, recorded_at, seat, places):
            yield g, place_states(g, deciding, start, last, seat)

    @own_places
    def phases(
        self,
        start: datetime,
        end: datetime,
        known_at: datetime | None = None,
        recorded_at: datetime | None = None,
        seat: str = DEFAULT_SEAT,
        world: Branch | None = None,
    ) -> tuple[list[tuple[Any, list[tuple[datetime, Any]]]], list[Transition]]:
        """``(capital_phases(events, start, end, known_at, seat), transitions(events, known_at,
        seat))`` of the reports stored by ``recorded_at``: what the holdings chart of another
        knowledge or seat draws, folded a chunk of places at a time from the read model (one
        read of each place's reports serves both; in worker processes for a large store, see
        :func:`control.store.states.in_chunks`). ``world``: of a what-if branch (:meth:`branch`).
        The changes come as charts draw them (:class:`control.store.states.Move`: no reports)."""
        from control.model import gazetteer
        from control.store import states

        self._read_model_ready()
        stream = stream_key(stream_id(RECORD))
        places = gazetteer.governorates()
        by_name = {g.name: g for g in places}
        steps, moves = [], []
        args = (start, end, known_at, recorded_at, seat, world)
        for found, changed in states.in_chunks(self, stream, places, "phases", args):
            steps += [(by_name[name], pairs) for name, pairs in found]
            moves += changed
        # transitions' order: ties of time are of one place, ranked by its chunk (see _phases_of)
        moves.sort(key=lambda m: (m[1].window.latest, m[1].window.earliest, m[1].governorate, m[0]))
        return steps, [m for _, m in moves]

    @own_places
    def place_events(
        self, place: str, known_at: datetime | None = None, recorded_at: datetime | None = None
    ) -> list[Event]:
        """The reports at ``place`` and every correction touching them (all a place's history
        needs), known at ``known_at`` and stored by ``recorded_at``, from the read model."""
        from control.store import placereads

        self._read_model_ready()
        found, _ = placereads.events_of(self, stream_key(stream_id(RECORD)), [place], known_at, recorded_at)
        return found

    @own_places
    def chart_inputs(
        self,
        start: datetime,
        end: datetime,
        world: Branch | None = None,
        some: bool = False,
        focus: str | None = "government",
    ) -> tuple[Any, ...]:
        """Each place's step function on ``[start, end]`` and the changes of control reaching
        into it, from the stored states (see :func:`control.store.answers.chart_inputs`;
        ``world``: a what-if branch without a cut, :meth:`branch`; ``some``: the gazetteer in use
        holds some of the store's places only; ``focus``: whose losses the moves are)."""
        from control.store import answers

        self._read_model_ready()
        return answers.chart_inputs(self, stream_key(stream_id(RECORD)), start, end, world, some, focus)

    @own_places
    def snapshot(self, at: datetime, detail: Collection[str] | None = None, since: bool = True) -> Snapshot:
        """``replay(self.read(), at)`` from the stored states (latest knowledge, default seat and
        contest horizon): one lookup per place, not a fold of the ledger (``detail``: see
        :func:`control.store.answers.snapshot`)."""
        from control.store import answers

        self._read_model_ready()
        return answers.snapshot(self, stream_key(stream_id(RECORD)), at, detail, since)
