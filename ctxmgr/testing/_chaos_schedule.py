"""Race schedules drawn from a seed: what happens around a compaction, and when.

Pure and synchronous: ``Schedule.from_seed(seed)`` draws everything from
``random.Random(seed)``, so a seed is a complete, replayable description. Times
are seconds from the start of the race phase, on the seed's timeline (livekit/agents
PR 5021) halved: there a function call is announced 82 ms into a compaction, its
tool starts 1,057 ms in, and a response committed behind it streams at 2,474 ms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Literal

from ._emulator_script import AckKind

__all__ = [
    "AckFault",
    "AppEdit",
    "Compaction",
    "Event",
    "FollowUp",
    "Handoff",
    "Interrupt",
    "LateResponse",
    "Refusal",
    "Residue",
    "Schedule",
    "StreamingReply",
    "ToolResponse",
    "UserTurn",
]


@dataclass(frozen=True)
class FollowUp:
    """While a call is pending, the server commits the next response (chained to the call)."""

    after: float
    """Seconds after the call is announced."""
    start_delay: float
    """Seconds from the commit to the response's first event."""
    user_speech: bool
    """The user's committed audio turn comes first (the response then chains to it)."""
    chunks: int
    """Deltas of the reply text."""
    chunk_delay: float
    """Seconds between deltas."""


@dataclass(frozen=True)
class ToolResponse:
    """The server (VAD) starts a response that calls the tool; the client learns it late."""

    at: float
    dispatch_delay: float
    """Seconds between the call's announcement and its finished arguments."""
    calls: int
    """Parallel calls in the response (1 or 2)."""
    lead_text: bool
    """A short message before the call(s)."""
    user_speech: bool
    """The user's committed audio turn comes first."""
    follow_up: FollowUp | None
    """A second response committed while the call is pending."""


@dataclass(frozen=True)
class UserTurn:
    """The user types a turn (``session.generate_reply(user_input=...)``)."""

    at: float
    tool: bool
    """The reply calls the tool."""


@dataclass(frozen=True)
class StreamingReply:
    """The server starts a slow reply, so it is still streaming when the summary lands."""

    at: float
    chunks: int
    chunk_delay: float
    user_speech: bool


@dataclass(frozen=True)
class AckFault:
    """The server applies the next creates/deletes but acknowledges them late, or never."""

    at: float
    kind: AckKind
    drop: bool
    """Never acknowledge (else: late by ``delay``)."""
    delay: float
    count: int
    """How many acknowledgements the fault applies to."""


@dataclass(frozen=True)
class Interrupt:
    """``session.interrupt()``: the reply in progress is cancelled."""

    at: float


@dataclass(frozen=True)
class AppEdit:
    """The application copies the agent's context, then writes the copy back with one
    message added (a retrieval result): ``agent.update_chat_ctx(copy)``, the way
    livekit's docs inject context. Everything that happened between the copy and the
    write (a summary, a reply that finished streaming, a new turn) is missing from the
    copy, or in it as it was then; the application means to remove nothing."""

    at: float
    write_after: float
    """Seconds between the copy and the write."""
    deep: bool = False
    """The copy is deep (as when the application stores it and reads it back):
    ``ChatContext.copy()`` shares the item objects, so a reply still streaming or a turn
    awaiting its transcript fills in inside the copy too; a deep copy keeps them as they
    were, partial."""
    forgets_first_turn: bool = False
    """The copy is written back without the first warm-up turn's messages (the user's and
    the reply quoting it): the application removes them on purpose. No summary may
    quote them unless a compaction folded them first."""


@dataclass(frozen=True)
class Handoff:
    """``session.update_agent(...)`` to a new agent carrying the current context."""

    at: float


@dataclass(frozen=True)
class Compaction:
    """The contender's compaction of the current agent's context."""

    at: float
    summarizer_delay: float
    """Seconds the summarizer takes."""
    summarizer_fails: bool
    """The summarizer raises (after its delay)."""
    keep_last_turns: int
    """Tail kept: turns for ctxmgr, ``2 * keep_last_turns`` items for the naive summarizer
    (0: no tail window at all)."""
    strategy: str
    """ctxmgr's strategy: ``summarize`` or ``token_budget`` (trims when the summarizer fails)."""
    auto_trigger: int | None
    """ctxmgr also arms its trigger to fire this many items past the warm-up."""


@dataclass(frozen=True)
class Residue:
    """Once the race settled, a second compaction of what it left behind.

    A real call compacts again later, at a quiet moment, over what earlier races
    left in the context: placeholders that never resolve (audio turns livekit never
    got a transcript for), calls an interruption left without output, items whose
    acknowledgement was lost, a summary among them. Only the realtime protection
    stands between those and the delete.
    """

    turn_during: float | None
    """A typed turn arrives this many seconds into the compaction (back to back with
    it), instead of the final turn before it; ``None``: no turn during it."""
    turn_refused: bool = False
    """With no turn during it: the server refuses the final turn's first two creates
    (livekit's, and the one the summary's insert re-sends). The agent holds a turn the
    server never got, which must not count toward the tail the deletes keep."""
    app_forgets: bool = False
    """Halfway through writing its summary, the application removes the oldest typed
    turn still in the context (its message and the reply echoing it) on purpose: the
    summary, written from it, must not land."""


@dataclass(frozen=True)
class LateResponse:
    """The server (VAD) commits a response and announces it only ``start_delay`` later.

    Its first item is anchored now, to the server's last item: a delete of that item in
    between leaves the response chained to a deleted item (the seed's failure). Played
    only when no other response is on the server (else nothing happens).
    """

    at: float
    start_delay: float


@dataclass(frozen=True)
class Refusal:
    """The server fails the next creates or deletes (``server_error``), leaving them undone.

    Armed once the compaction's summary is written (its summarizer delay after the
    compaction starts), so the next change is usually the compaction's own: a refused
    summary insert, or a refused delete. The plugin only logs a refused change and
    returns as if it had worked (livekit/agents 7073): what the compaction then
    reports is checked against the server.
    """

    during: Literal["race", "residue"]
    """Which compaction it meets: the race's, or the residue's (when there is one)."""
    kind: Literal["create", "delete"]
    count: int | None
    """How many are refused; ``None``: every one from then on (a server that keeps failing)."""


Event = (
    ToolResponse
    | UserTurn
    | StreamingReply
    | AckFault
    | Interrupt
    | Handoff
    | LateResponse
    | AppEdit
)
"""One thing that happens during the race."""


@dataclass(frozen=True)
class Schedule:
    """One race: warm-up turns, then the compaction and the events around it."""

    seed: int
    warmup: tuple[bool, ...]
    """One entry per warm-up turn: whether it calls the tool."""
    compaction: Compaction
    events: tuple[Event, ...]
    """In time order."""
    final_turn: bool
    """A typed turn after everything settled, to exercise the state the race left."""
    reject_stale_anchors: bool = False
    """The emulator rejects a response item whose anchor was deleted (else it appends it)."""
    residue: Residue | None = None
    """A second compaction once everything settled (after the final turn, or with it)."""
    refusal: Refusal | None = None
    """The server refuses the compaction's next creates or deletes."""
    transcription_delay: float | None = None
    """Seconds until a user audio turn's transcript arrives (the server transcribes
    asynchronously; until then livekit holds a placeholder with no text)."""
    tool_delay: float = 0.0
    """Seconds the tool takes to run (its call is in the agent's context meanwhile, with
    no output)."""
    keep_last_tokens: int = 0
    """ctxmgr's token tail (0: none): its boundary can fall between a call and its
    output, where only pair closure keeps the call."""
    plan_splits_a_pair: bool = False
    """ctxmgr plans with ``PlanSplitsAPair`` (item by item, ending between a call and its
    output) instead of its turn-based policy, and without the token tail."""
    residue_late_response: float | None = None
    """The server commits a response without a word as the residue compaction's summary
    is written, and announces it this many seconds later."""
    archive_fails: bool = False
    """ctxmgr's archive raises on its first write: that compaction must delete nothing."""
    compact_on_handoff: bool = False
    """The agent a handoff switches to is compacted at once, while the handoff is still
    pending (its manager's trigger can fire on the session's events then)."""

    @classmethod
    def from_seed(cls, seed: int) -> Schedule:
        """Draw a schedule; the same seed always gives the same schedule."""
        rng = random.Random(seed)
        warmup = tuple(rng.random() < 0.3 for _ in range(rng.randint(3, 6)))
        compaction = Compaction(
            at=_ms(rng, 0, 300),
            summarizer_delay=rng.choice(
                [0.0, _ms(rng, 20, 350), _ms(rng, 20, 350), _ms(rng, 350, 800)]
            ),
            summarizer_fails=rng.random() < 0.15,
            # no tail in half the schedules: there only the realtime protection bounds the
            # plan (with a tail, the tail alone bounds it in nine schedules of ten)
            keep_last_turns=rng.choice([0, 0, 1, 2]),
            strategy=rng.choice(["summarize", "token_budget"]),
            auto_trigger=rng.randint(1, 4) if rng.random() < 0.3 else None,
        )
        events: list[Event] = []
        for _ in range(rng.choices([0, 1, 2], weights=[1, 5, 2])[0]):
            events.append(_tool_response(rng))
        if rng.random() < 0.4:
            events.append(UserTurn(at=_ms(rng, 0, 600), tool=rng.random() < 0.3))
        if rng.random() < 0.35:
            events.append(
                StreamingReply(
                    at=_ms(rng, 0, 400),
                    chunks=rng.randint(3, 8),
                    chunk_delay=_ms(rng, 20, 100),
                    user_speech=rng.random() < 0.5,
                )
            )
        if rng.random() < 0.35:
            events.append(
                AckFault(
                    at=_ms(rng, 0, 500),
                    kind=rng.choice(["create", "delete", "all"]),
                    drop=rng.random() < 0.35,
                    delay=_ms(rng, 50, 400),
                    count=rng.randint(1, 3),
                )
            )
        if rng.random() < 0.2:
            events.append(Interrupt(at=_ms(rng, 50, 800)))
        if rng.random() < 0.15:
            events.append(Handoff(at=_ms(rng, 0, 600)))
        events.sort(key=lambda e: e.at)
        schedule = cls(
            seed=seed,
            warmup=warmup,
            compaction=compaction,
            events=tuple(events),
            final_turn=rng.random() < 0.5,
            reject_stale_anchors=rng.random() < 0.25,
            # drawn last: the draws above, and so every earlier schedule, stay as they were
            residue=(
                Residue(turn_during=_ms(rng, 0, 300) if rng.random() < 0.5 else None)
                if rng.random() < 0.7
                else None
            ),
            # drawn after the residue: every schedule up to it stays as it was
            refusal=(
                Refusal(
                    during=rng.choice(["race", "residue"]),
                    kind=rng.choice(["create", "delete"]),
                    count=rng.choice([1, 2, None]),
                )
                if rng.random() < 0.4
                else None
            ),
            # short, as long as a reply, or longer than the race
            transcription_delay=rng.choice(
                [_ms(rng, 20, 200), _ms(rng, 200, 800), _ms(rng, 800, 2000)]
            ),
            tool_delay=rng.choice([0.0, 0.0, _ms(rng, 100, 1500)]),
            keep_last_tokens=rng.choice([0, 0, 0, rng.randint(20, 300)]),
        )
        if rng.random() < 0.5:
            # around the moment the summary is written, so that it straddles the apply
            ready = compaction.at + compaction.summarizer_delay
            late = LateResponse(
                at=max(0.0, ready + _ms(rng, -100, 50)), start_delay=_ms(rng, 200, 900)
            )
            schedule = replace(schedule, events=tuple(sorted((*events, late), key=lambda e: e.at)))
        if schedule.residue is not None and rng.random() < 0.5:
            schedule = replace(schedule, residue_late_response=_ms(rng, 200, 900))
        residue = schedule.residue
        if residue is not None and residue.turn_during is None and schedule.final_turn:
            if rng.random() < 0.6:
                schedule = replace(schedule, residue=replace(residue, turn_refused=True))
        # a turn-based policy never splits a pair: only such a plan exercises pair closure
        if schedule.keep_last_tokens and rng.random() < 0.6:
            schedule = replace(schedule, plan_splits_a_pair=True)
        if rng.random() < 0.4:
            # copied during the race, written back during it or once a reply is done
            edit = AppEdit(
                at=_ms(rng, 0, 500),
                write_after=rng.choice([_ms(rng, 50, 400), _ms(rng, 400, 1500)]),
                deep=rng.random() < 0.5,
            )
            events = sorted((*schedule.events, edit), key=lambda e: e.at)
            schedule = replace(schedule, events=tuple(events))
        if rng.random() < 0.2:  # drawn last: every earlier draw stays as it was
            schedule = replace(schedule, archive_fails=True)
        if any(isinstance(e, Handoff) for e in schedule.events) and rng.random() < 0.6:
            schedule = replace(schedule, compact_on_handoff=True)
        schedule = _forget_on_purpose(_copy_while_filling_in(schedule, rng), rng)
        residue = schedule.residue
        if residue is not None and compaction.summarizer_delay > 0.05 and rng.random() < 0.5:
            schedule = replace(schedule, residue=replace(residue, app_forgets=True))
        return schedule

    def describe(self) -> str:
        """The schedule, one event per line, for a failure report."""
        lines = [
            f"seed {self.seed}: warm-up {len(self.warmup)} turns ({sum(self.warmup)} call a tool)",
            f"  {_describe(self.compaction)}",
            *(f"  {_describe(e)}" for e in self.events),
        ]
        if self.final_turn:
            refused = self.residue is not None and self.residue.turn_refused
            lines.append(
                "  then a typed turn once settled"
                + (" (the server refuses its first two creates)" if refused else "")
            )
        if self.reject_stale_anchors:
            lines.append("  the server rejects items chained to a deleted item")
        if self.residue is not None:
            during = self.residue.turn_during
            lines.append(
                "  then a second compaction of what the race left"
                + (f", a typed turn {during * 1000:.0f} ms into it" if during is not None else "")
                + (
                    ", the application removing the oldest turn as its summary is written"
                    if self.residue.app_forgets
                    else ""
                )
                + ", then a typed turn"
            )
        if self.transcription_delay is not None:
            late_ms = self.transcription_delay * 1000
            lines.append(f"  user audio is transcribed {late_ms:.0f} ms late")
        if self.residue_late_response is not None:
            lines.append(
                "  a response committed silently as the residue's summary is written,"
                f" announced {self.residue_late_response * 1000:.0f} ms later"
            )
        if self.plan_splits_a_pair:
            lines.append("  ctxmgr's policy plans to end between a call and its output")
        elif self.keep_last_tokens:
            lines.append(f"  ctxmgr keeps the last {self.keep_last_tokens} tokens too")
        if self.tool_delay:
            lines.append(f"  the tool takes {self.tool_delay * 1000:.0f} ms")
        if self.archive_fails:
            lines.append("  ctxmgr's archive fails its first write")
        if self.compact_on_handoff:
            lines.append("  the agent handed off to is compacted while the handoff is pending")
        if self.refusal is not None:
            r = self.refusal
            lines.append(
                f"  the server refuses {f'the next {r.count}' if r.count else 'every'}"
                f" {r.kind} once the"
                f" {r.during} compaction's summary is written"
            )
        return "\n".join(lines)


def _ms(rng: random.Random, lo: float, hi: float) -> float:
    return round(rng.uniform(lo, hi)) / 1000


def _copy_while_filling_in(schedule: Schedule, rng: random.Random) -> Schedule:
    """Most deep copies are taken while a placeholder fills in (a reply streaming, a user
    turn awaiting its transcript) and written back once it has: the copy then holds the
    item partial, and only the guard's partial-copy rule keeps its text. Drawn last, and
    only for a deep copy: every other schedule stays as it was."""
    edit = next((e for e in schedule.events if isinstance(e, AppEdit) and e.deep), None)
    hosts = [
        e
        for e in schedule.events
        if isinstance(e, StreamingReply) or (isinstance(e, ToolResponse) and e.user_speech)
    ]
    if edit is None or not hosts or rng.random() >= 0.8:
        return schedule
    host = rng.choice(hosts)
    filled = 0.0
    if host.user_speech:
        filled = schedule.transcription_delay or 0.0
    if isinstance(host, StreamingReply):
        filled = max(filled, host.chunks * host.chunk_delay)
    retimed = replace(
        edit, at=host.at + _ms(rng, 30, 150), write_after=filled + _ms(rng, 100, 600)
    )
    events = sorted((retimed if e is edit else e for e in schedule.events), key=lambda e: e.at)
    return replace(schedule, events=tuple(events))


def _forget_on_purpose(schedule: Schedule, rng: random.Random) -> Schedule:
    """Four edits of five also remove the first turn, those of a shallow copy
    while the summary is being written (drawn last, and only for a schedule with an
    edit: every other schedule stays as it was)."""
    edit = next((e for e in schedule.events if isinstance(e, AppEdit)), None)
    if edit is None or rng.random() >= 0.8:
        return schedule
    forgetting = replace(edit, forgets_first_turn=True)
    compaction = schedule.compaction
    if not edit.deep and compaction.summarizer_delay > 0.05:
        # written back while the summary is being written, from a copy taken just before
        copied = max(0.0, compaction.at - _ms(rng, 0, 100))
        lands = compaction.at + compaction.summarizer_delay * rng.uniform(0.2, 0.9)
        forgetting = replace(forgetting, at=copied, write_after=round(lands - copied, 3))
    events = sorted((forgetting if e is edit else e for e in schedule.events), key=lambda e: e.at)
    return replace(schedule, events=tuple(events))


def _tool_response(rng: random.Random) -> ToolResponse:
    follow_up = None
    if rng.random() < 0.6:
        follow_up = FollowUp(
            after=_ms(rng, 0, 200),
            start_delay=_ms(rng, 0, 800),
            user_speech=rng.random() < 0.7,
            chunks=rng.randint(1, 4),
            chunk_delay=_ms(rng, 0, 60),
        )
    return ToolResponse(
        at=_ms(rng, 0, 500),
        dispatch_delay=_ms(rng, 0, 700),
        calls=1 if rng.random() < 0.8 else 2,
        lead_text=rng.random() < 0.3,
        user_speech=rng.random() < 0.5,
        follow_up=follow_up,
    )


def _describe(event: Event | Compaction) -> str:
    fields = ", ".join(f"{k}={v}" for k, v in vars(event).items() if k != "at")
    return f"T+{event.at * 1000:.0f} ms {type(event).__name__}({fields})"
