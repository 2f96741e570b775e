"""Play one chaos schedule against the real OpenAI realtime plugin and check the invariants.

Each schedule gets its own emulator on 127.0.0.1:0, the real
``livekit.plugins.openai.realtime.RealtimeModel`` in a text-mode ``AgentSession``
and an agent with one tool; warm-up turns run first, then the race, then the
session settles and :func:`check_realtime_invariants` reads the three copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from livekit.agents import Agent, AgentSession, function_tool, llm

from ._chaos_blame import ChangeLog, LivekitPath
from ._chaos_contenders import Contender, ContenderName, CtxmgrContender, make_contender
from ._chaos_schedule import (
    AckFault,
    AppEdit,
    Event,
    Handoff,
    Interrupt,
    LateResponse,
    Refusal,
    Schedule,
    StreamingReply,
    ToolResponse,
    UserTurn,
)
from .checker import Fingerprint, Violation, check_realtime_invariants, fingerprint
from .emulator import (
    CallTool,
    Dialect,
    RealtimeServerEmulator,
    ResponsePlan,
    ResponseRequest,
    Say,
    StaleAnchorPolicy,
    echo_responder,
    plugin_model,
)
from .ledger import Ledger

__all__ = ["ChaosAgent", "Excuse", "ScheduleResult", "chaos_responder", "run_schedule"]

Excuse = Literal[
    "ack_dropped",
    "control",
    "local_order",
    "refused",
    "reported",
    "unannounced",
    "unplaced",
    LivekitPath,
]
"""Why a finding does not count; nothing else excuses one, for any contender.

- ``control``: the same seed played with nobody compacting (``none``) shows the
  same finding (same kind) on the same items (same fingerprints): it belongs to
  the scheduler or to livekit, not to the compaction.
- ``ack_dropped``: ``mirror_diverged`` for items whose create or delete the server
  applied but, by the schedule's fault, never acknowledged: the plugin cannot know;
  and for the items the server then chained to one of them, which the plugin appends;
  and ``order_changed`` where the earlier user message a new one went before is such an
  item, still unknown to the plugin (the client placed the new one after the last item
  it knew of, seed 159). Only what the client could not know is excused: every item
  still counts, and so does an order the client could have kept.
- ``refused``: the items behind the finding are ones whose create or delete the
  server refused by the schedule's fault (``Refusal``), livekit's own items (first
  created by livekit, never deleted by the contender) or the application's (its
  ``AppEdit`` note): livekit only logs a refusal and never sends the change again.
  A refusal of the contender's own change counts: it must notice and repair.
- ``reported``: the contender's own summary left in the agent's context only, by an
  insert whose failure report named it unconfirmed (``RealtimeSyncError``): the
  server refused it or never acknowledged it, nothing was folded into it, and the
  report says so; or an item the contender deleted into a summary already on the
  server, still in the agent's context because the delete's acknowledgement never
  came, which the failure report named as perhaps deleted (``undeleted_ids``; seed
  603: neither the plugin nor ctxmgr can learn what the server did); or one a trim
  dropped on purpose that the trim's failure report named the same way (seed 176).
- ``unannounced``: ``orphaned_previous_item_id`` for a response the server committed
  without a word (``LateResponse``) to an item that was no longer the server's last
  when it was deleted: the client cannot know of the response, and the design
  protects only the last item (a response committed silently chains to it); a delete
  of the anchor while it was still the last counts.
- ``unplaced``: on a server that announces items without their place (the ``xai``
  dialect), a ``mirror_diverged`` order: the plugin appends each item it is told of,
  and nothing tells the client that the server chained a response to an earlier tail
  or put two creates after the same anchor. ctxmgr puts the items the client created
  where their create asked (``MirrorKeeper``), but the mirror's order stays
  approximate there, so it is not judged on xAI; the server's own order is
  (``order_changed``), and so are items lost, missing or extra in the mirror, except
  after a delete acknowledgement the schedule dropped: xAI's carry no id, so the
  plugin (and ctxmgr) take each later one for the oldest delete still awaited, and
  the mirror keeps or loses the wrong items; the client cannot tell.
- ``local_order``: ``order_diverged``, the agent's local copy ordered otherwise than
  the server. livekit orders the local context by creation time (a call joins when
  its tool starts, a reply after playout) and the server by arrival; the control
  shows it in half the schedules, at timings a compaction shifts. The server's own
  order is judged by the ledger (``order_changed``), and that counts.
- ``livekit:handoff`` / ``livekit:interruption``: a forbidden delete livekit itself
  sent (judged per delete: the same item may be deleted again later by the contender);
  or the item behind the finding was deleted by livekit itself (the call stack of the
  plugin's send, see ``_chaos_blame``), from a copy of the local context, when a handoff started the
  next agent or an interruption synced; never an item the contender folded. These
  paths call the realtime session directly, past any ``Agent.update_chat_ctx``.
- ``app``: the application's own update (``AppEdit``: a copy written back) deleted or
  placed the item, straight through livekit, with no contender code on the way: only
  for the contenders that do not guard updates (``none``, ``naive``). With ctxmgr
  attached the same update passes through ctxmgr and counts as its own.
"""

SETTLE_QUIET_S = 0.3
"""The session counts as settled after this long with no event and nothing in flight."""
SETTLE_TIMEOUT_S = 15.0
SCHEDULE_TIMEOUT_S = 45.0


class ChaosAgent(Agent):
    """An agent with one tool."""

    def __init__(
        self, *, chat_ctx: llm.ChatContext | None = None, tool_delay: float = 0.0
    ) -> None:
        super().__init__(instructions="You are terse.", chat_ctx=chat_ctx)
        self.lookups: list[str] = []
        self.tool_delay = tool_delay
        """Seconds each lookup takes."""

    @function_tool
    async def lookup(self, query: str) -> str:
        """Look a fact up.

        Args:
            query: What to look up.
        """
        self.lookups.append(query)
        if self.tool_delay:
            await asyncio.sleep(self.tool_delay)
        return f"fact about {query}"


def chaos_responder(request: ResponseRequest) -> ResponsePlan:
    """Plans client-requested responses: answer a tool result, call the tool when asked."""
    last = request.conversation[-1] if request.conversation else None
    if last is not None and last.type == "function_call_output":
        return ResponsePlan.say(f"Found it: {last.output}.")
    can_call = "lookup" in request.tool_names and request.tool_choice != "none"
    if last is not None and last.role == "user" and "look up" in last.text and can_call:
        return ResponsePlan.call("lookup", json.dumps({"query": last.text[-12:]}))
    return echo_responder(request)


_TURN = re.compile(r"^Turn \d+:")
"""How a typed turn starts: each says its number once (and the reply echoing it)."""
_SUMMARY_TAG = "<chat_history_summary>"


def _user_line(n: int, tool: bool) -> str:
    if tool:
        return f"Turn {n}: please look up order {4400 + n} for Ada Lovelace."
    return f"Turn {n}: my name is Ada Lovelace and I live at {n + 10} Baker Street."


@dataclass(frozen=True)
class ScheduleResult:
    """What one schedule showed for one contender."""

    seed: int
    contender: ContenderName
    violations: tuple[Violation, ...] = ()
    """Broken invariants that count."""
    excused: tuple[tuple[Excuse, Violation], ...] = ()
    """Checker findings that do not count, and why (see ``Excuse``)."""
    error: str | None = None
    """The schedule could not be played or checked (a harness failure)."""
    outcomes: tuple[str, ...] = ()
    """What became of each compaction: ``applied``, ``skipped:<reason>``, ``failed:<stage>``."""
    duration_s: float = 0.0
    views: tuple[str, ...] = ()
    """The server, mirror and local contexts when checked, one line per item, for a replay."""
    findings: tuple[Violation, ...] = ()
    """Every finding, counted or not (the per-seed control of another run compares these)."""
    exercised: frozenset[str] = frozenset()
    """What a compaction's deletes met (``Ledger.exercised``), and ``archive_failed``
    when an archive write failed under a compaction."""
    app_caused: frozenset[tuple[str, frozenset[Fingerprint]]] = frozenset()
    """The keys of findings on items the application's own update deleted or created:
    no excuse for a contender that guards updates, whatever excused them here."""

    @property
    def items_lost(self) -> int:
        """Counted ``item_lost`` violations."""
        return sum(1 for v in self.violations if v.kind == "item_lost")

    @property
    def failed(self) -> bool:
        """True when the schedule broke an invariant or could not be checked."""
        return bool(self.violations) or self.error is not None


@dataclass
class _Race:
    schedule: Schedule
    contender: Contender
    emulator: RealtimeServerEmulator
    session: AgentSession[None]
    changes: ChangeLog
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    app_items: set[str] = field(default_factory=set)
    """Items the application wrote (``AppEdit``)."""
    app_forgot: dict[str, str] = field(default_factory=dict)
    """Items the application removed on purpose (``AppEdit.forgets_first_turn``,
    ``Residue.app_forgets``), each with what only that turn says (``"Turn 3:"``)."""

    @property
    def agent(self) -> Agent:
        return self.session.current_agent

    def spawn(self, coro: Coroutine[Any, Any, Any], at: float, t0: float) -> None:
        async def _run() -> None:
            try:
                await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
            except asyncio.CancelledError:
                coro.close()  # never started: not a "never awaited" warning
                raise
            await coro

        self.tasks.append(asyncio.create_task(_run(), name="ctxmgr.chaos.event"))

    async def play(self) -> None:
        for n, tool in enumerate(self.schedule.warmup):
            await self.session.run(user_input=_user_line(n, tool))
        self.contender.attach(self.agent)
        t0 = time.monotonic()
        compaction = self.schedule.compaction
        self.spawn(self._compact(), compaction.at, t0)
        if (refusal := self._refusal("race")) is not None:
            self.spawn(self._refuse(refusal), compaction.at + compaction.summarizer_delay, t0)
        for event in self.schedule.events:
            self.spawn(self._event(event), event.at, t0)
        for result in await asyncio.gather(*self.tasks, return_exceptions=True):
            if isinstance(result, BaseException):
                self.errors.append(f"{type(result).__name__}: {result}")
        await self.settle()
        residue = self.schedule.residue
        if self.schedule.final_turn and (residue is None or residue.turn_during is None):
            if residue is not None and residue.turn_refused:
                # its create, and the one the residue's summary insert re-sends: the
                # residue plans with it and deletes while the server still lacks it
                self.emulator.refuse_changes("create", count=2, role="user")
            await self.session.run(user_input=_user_line(99, tool=False))
            await self.settle()
        if residue is not None:
            await self._compact_residue(residue.turn_during)
            await self.settle()
            # the call goes on: the next turn is placed by what the compaction left behind
            with contextlib.suppress(RuntimeError, llm.RealtimeError):
                await self.session.run(user_input=_user_line(98, tool=False))
            await self.settle()

    async def _compact_residue(self, turn_during: float | None) -> None:
        compaction = asyncio.create_task(self._compact(), name="ctxmgr.chaos.residue")
        now = time.monotonic()
        ready = self.schedule.compaction.summarizer_delay
        if (refusal := self._refusal("residue")) is not None:
            self.spawn(self._refuse(refusal), ready, now)
        if (start_delay := self.schedule.residue_late_response) is not None:
            self.spawn(self._event(LateResponse(ready, start_delay)), max(0.0, ready - 0.02), now)
        if self.schedule.residue is not None and self.schedule.residue.app_forgets:
            self.spawn(self._app_forgets_during(ready * 0.5), 0.0, now)
        if turn_during is not None:
            await asyncio.sleep(turn_during)
            # the server refuses a reply while the schedule's silently committed response is
            # still active (seed 13, under load): livekit raises, and the turn goes unanswered
            with contextlib.suppress(RuntimeError, llm.RealtimeError):
                await self.session.run(user_input=_user_line(99, tool=False))
        await compaction

    async def _compact(self) -> None:
        await self.contender.compact(self.agent)

    def _refusal(self, during: str) -> Refusal | None:
        """The schedule's refusal if it meets this compaction (the race's, when no residue)."""
        refusal = self.schedule.refusal
        if refusal is None:
            return None
        if refusal.during == "residue" and self.schedule.residue is None:
            return refusal if during == "race" else None
        return refusal if refusal.during == during else None

    async def _refuse(self, refusal: Refusal) -> None:
        self.emulator.refuse_changes(refusal.kind, count=refusal.count)

    async def _event(self, event: Event) -> None:
        if isinstance(event, ToolResponse):
            await self._tool_response(event)
        elif isinstance(event, UserTurn):
            # refused while a handoff drains the old agent: the turn is dropped, as livekit does
            with contextlib.suppress(RuntimeError):
                self.session.generate_reply(user_input=_user_line(50, event.tool))
        elif isinstance(event, StreamingReply):
            say = Say("Let me explain this slowly, step by step.", event.chunks, event.chunk_delay)
            self.emulator.commit_response(
                ResponsePlan(outputs=(say,)),
                user_transcript="Explain it again." if event.user_speech else None,
            )
        elif isinstance(event, AckFault):
            if event.drop:
                self.emulator.drop_acks(event.kind, count=event.count)
            else:
                self.emulator.delay_acks(event.delay, event.kind, count=event.count)
        elif isinstance(event, Interrupt):
            with contextlib.suppress(RuntimeError):
                await asyncio.wait_for(self.session.interrupt(), 5.0)
        elif isinstance(event, LateResponse):
            # only on an idle server: the real one starts a committed response at once (the
            # delay is the network's), never behind another while items pile up after its anchor
            if all(r.done.is_set() for r in self.emulator.responses):
                say = Say("Also, one more thing.")
                self.emulator.commit_response(
                    ResponsePlan(outputs=(say,), start_delay=event.start_delay)
                )
        elif isinstance(event, AppEdit):
            await self.app_writes_back(event)
        elif isinstance(event, Handoff):
            target = ChaosAgent(chat_ctx=self.agent.chat_ctx, tool_delay=self.schedule.tool_delay)
            self.contender.attach(target)
            self.session.update_agent(target)
            if self.schedule.compact_on_handoff:
                await self.contender.compact(target)

    async def app_writes_back(self, event: AppEdit) -> None:
        """The application's edit (its deletes are tagged ``app`` by the call stack)."""
        agent = self.agent
        copy = agent.chat_ctx.copy()
        if event.deep:
            copy = llm.ChatContext(
                [i.model_copy(deep=True) if i.type == "message" else i for i in copy.items]
            )
        if event.forgets_first_turn:
            copy = self._without_oldest_turn(copy)
        await asyncio.sleep(event.write_after)
        note = copy.add_message(
            role="assistant", content="Retrieved note: the warehouse is in Leeds."
        )
        self.app_items.add(note.id)
        # an agent a handoff replaced takes it locally only; livekit refuses it mid-handoff,
        # and raises when the server never acknowledges a change (the schedule's AckFault)
        with contextlib.suppress(RuntimeError, llm.RealtimeError):
            await agent.update_chat_ctx(copy)

    def _without_oldest_turn(self, copy: llm.ChatContext) -> llm.ChatContext:
        """``copy`` without its oldest typed turn (the user's message and the reply
        echoing it), noted as removed on purpose."""
        turn = next(
            (
                match.group()
                for i in copy.items
                if isinstance(i, llm.ChatMessage) and i.role == "user"
                if (match := _TURN.match(i.text_content or "")) is not None
            ),
            None,
        )
        if turn is None:
            return copy
        gone = {
            i.id
            for i in copy.items
            if isinstance(i, llm.ChatMessage)
            and i.role in ("user", "assistant")
            and turn in (i.text_content or "")
            and _SUMMARY_TAG not in (i.text_content or "")
        }
        self.app_forgot.update(dict.fromkeys(gone, turn))
        return llm.ChatContext([i for i in copy.items if i.id not in gone])

    async def _app_forgets_during(self, after: float) -> None:
        """The application removes the oldest turn ``after`` seconds into a compaction."""
        await asyncio.sleep(after)
        copy = self._without_oldest_turn(self.agent.chat_ctx.copy())
        with contextlib.suppress(RuntimeError, llm.RealtimeError):
            await self.agent.update_chat_ctx(copy)

    async def _tool_response(self, event: ToolResponse) -> None:
        outputs: list[Say | CallTool] = [Say("One moment.")] if event.lead_text else []
        outputs += [
            CallTool(
                "lookup", json.dumps({"query": f"fact {n}"}), dispatch_delay=event.dispatch_delay
            )
            for n in range(event.calls)
        ]
        response = self.emulator.commit_response(
            ResponsePlan(outputs=tuple(outputs)),
            user_transcript="What is the weather?" if event.user_speech else None,
        )
        follow_up = event.follow_up
        if follow_up is None:
            return
        call_id = response.item_ids[-event.calls]
        await self.emulator.wait_until(
            lambda: call_id in self.emulator.item_ids or response.done.is_set(), timeout=10.0
        )
        await asyncio.sleep(follow_up.after)
        say = Say("As I was saying, about that.", follow_up.chunks, follow_up.chunk_delay)
        self.emulator.commit_response(
            ResponsePlan(outputs=(say,), start_delay=follow_up.start_delay),
            user_transcript="And tomorrow?" if follow_up.user_speech else None,
        )

    def _in_flight(self) -> str | None:
        """What is still in flight, or None."""
        if self.contender.busy():
            return "a compaction"
        if self.emulator.transcribing:
            return "a transcription"
        for server in self.emulator.server_sessions:
            if any(not r.done.is_set() for r in server.responses):
                return "a server response"
        task = getattr(self.session, "_update_activity_atask", None)
        activity = getattr(self.agent, "_activity", None)
        if activity is None or (task is not None and not task.done()):
            return "a handoff"
        # not agent_state: livekit can leave it at "thinking" with nothing left to do (after
        # a handoff raced by an interruption); these are what a reply actually holds
        if activity._speech_q or activity._current_speech is not None:
            return "a speech"
        if getattr(activity, "_background_speeches", None):
            return "a speech awaiting its tools"
        rt = self._rt_session()
        if getattr(rt, "has_active_generation", False):
            return "a generation"
        if getattr(rt, "_item_create_future", None) or getattr(rt, "_item_delete_future", None):
            return "an update_chat_ctx"
        return None

    async def settle(self) -> None:
        """Wait until nothing is in flight and no event has passed for ``SETTLE_QUIET_S``."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        seen, quiet_since = -1, time.monotonic()
        while True:
            now = time.monotonic()
            count = len(self.emulator.server_events) + len(self.emulator.client_events)
            busy = self._in_flight()
            if count != seen or busy is not None:
                seen, quiet_since = count, now
            elif now - quiet_since >= SETTLE_QUIET_S:
                return
            if now >= deadline:
                raise TimeoutError(f"the session did not settle: {busy or 'events'} in flight")
            await asyncio.sleep(0.02)

    def copies(self) -> tuple[llm.ChatContext | None, llm.ChatContext | None]:
        """The plugin's mirror and the agent's context, right now (for the ledger)."""
        rt = self._rt_session()
        mirror = rt.chat_ctx if rt is not None else None
        try:
            local = self.agent.chat_ctx
        except RuntimeError:
            local = None
        return mirror, local

    def _rt_session(self) -> Any:
        activity = getattr(self.agent, "_activity", None)
        return activity.realtime_llm_session if activity is not None else None

    def views(self) -> tuple[str, ...]:
        agent = self.agent
        rt = self._rt_session()
        lines = ["server:"]
        for item in self.emulator.conversation:
            what = item.role or item.name or item.call_id or ""
            stale = " (stale anchor)" if item.stale_anchor else ""
            lines.append(f"  {item.id} {item.type} {what} {item.text[:40]!r}{stale}")
        lines.append("deleted on the server (by):")
        deleted_by = self.changes.deleted_by
        lines += [f"  {i} ({deleted_by.get(i, '?')})" for i in self.emulator.deleted_ids]
        if self.contender.folded_ids:
            lines.append(f"folded on purpose: {sorted(self.contender.folded_ids)}")
        for label, ctx in (
            ("mirror:", rt.chat_ctx if rt is not None else None),
            ("local:", agent.chat_ctx),
        ):
            lines.append(label)
            for chat_item in ctx.items if ctx is not None else ():
                lines.append(f"  {_describe_item(chat_item)}")
        return tuple(lines)

    def check(
        self, ledger: Ledger, control: ScheduleResult | None
    ) -> tuple[list[Violation], list[tuple[Excuse, Violation]], list[Violation]]:
        """Counted findings, excused ones, and all of them."""
        agent = self.agent
        rt = self._rt_session()
        found = check_realtime_invariants(
            self.emulator.conversation,
            rt.chat_ctx if rt is not None else None,
            agent.chat_ctx,
            deleted_ids=self.emulator.deleted_ids,
        )
        known: dict[str, Any] = {i.id: i for i in agent.chat_ctx.items}
        if rt is not None:
            known.update({i.id: i for i in rt.chat_ctx.items})
        known.update(ledger.seen)
        found = [
            dataclasses.replace(
                v, fingerprints=frozenset(fingerprint(known[i]) for i in v.item_ids if i in known)
            )
            for v in found
        ]
        found += ledger.findings()
        found += self._deletes_during_generations(known)
        found += self._revived(known)
        unacked = _unacknowledged_ids(self.emulator)
        # what the application's own unguarded update did in the control is no excuse: a
        # contender guarding updates must not do the same
        in_control = (
            {v.key for v in control.findings}
            - {v.key for why, v in control.excused if why == "app"}
            - control.app_caused
            if control is not None
            else set()
        )
        counted: list[Violation] = []
        excused: list[tuple[Excuse, Violation]] = []
        for v in found:
            ids = set(v.item_ids)
            if v.kind == "mirror_diverged" and (
                (ids and ids <= unacked) or self._reordered_by_unacked(v, unacked, rt)
            ):
                excused.append(("ack_dropped", v))
            elif v.kind == "order_changed" and self._placed_before_unacked(v, unacked, rt):
                excused.append(("ack_dropped", v))
            elif self._server_items_unplaced(v):
                excused.append(("unplaced", v))
            elif v.kind == "order_diverged":
                excused.append(("local_order", v))
            elif v.kind == "forbidden_delete" and v.culprit in (
                "livekit:handoff",
                "livekit:interruption",
                "app",
            ):
                excused.append((v.culprit, v))  # type: ignore[arg-type]
            elif self._refused_livekit_change(v):
                excused.append(("refused", v))
            elif self._reported_unconfirmed_summary(v, known) or self._reported_undeleted(
                v, ledger
            ):
                excused.append(("reported", v))
            elif v.kind == "orphaned_previous_item_id" and self._anchor_was_not_last(v, ledger):
                excused.append(("unannounced", v))
            elif v.key in in_control:
                excused.append(("control", v))
            elif (
                culprit := self.changes.livekit_caused(
                    v, self.emulator, self.contender.folded_ids, ledger.placed_by
                )
            ) is not None:
                excused.append((culprit, v))
            else:
                counted.append(v)
        return counted, excused, found

    def app_touched(self, violation: Violation) -> bool:
        """The application's own update deleted or created an item behind ``violation``."""
        return any(
            "app" in self.changes.delete_senders.get(i, ())
            or "app" in self.changes.created_by.get(i, ())
            for i in violation.item_ids
        )

    def _refused_livekit_change(self, violation: Violation) -> bool:
        ids = set(violation.item_ids)
        refused = set(self.emulator.refused)
        # livekit's item or the application's, whichever code passed its create on: a
        # contender sends the items the agent's context holds and the server lacks (a tool
        # output livekit added but had not sent yet), so its create may come first (seed
        # 406); only a summary is the contender's own, and a delete it sent is its doing
        return bool(ids) and ids <= refused and not any(
            self._contenders_own(i) or self.changes.culprit_of(i, 0) == "contender"
            for i in ids
        )

    def _contenders_own(self, item_id: str) -> bool:
        """The contender wrote the item (a summary), rather than forwarded it."""
        for event in self.emulator.client_events:
            item = event.get("item") or {}
            if event.get("type") == "conversation.item.create" and item.get("id") == item_id:
                text = "".join(str(p.get("text") or "") for p in item.get("content") or [])
                return "<chat_history_summary>" in text
        return False  # never sent, so never refused

    def _reported_unconfirmed_summary(self, violation: Violation, known: dict[str, Any]) -> bool:
        ids = set(violation.item_ids)
        texts = [t for t in self.contender.summaries if t]
        return (
            violation.kind == "item_lost"
            and bool(ids)
            and ids <= self.contender.unconfirmed
            and all(
                isinstance(known.get(i), llm.ChatMessage)
                and any(t in (known[i].text_content or "") for t in texts)
                for i in ids
            )
        )

    def _reported_undeleted(self, violation: Violation, ledger: Ledger) -> bool:
        ids = set(violation.item_ids)
        return (
            violation.kind == "item_lost"
            and bool(ids)
            and ids <= self.contender.undeleted
            and all(ledger.folded(i) or self.contender.named().get(i) is False for i in ids)
        )

    def _anchor_was_not_last(self, violation: Violation, ledger: Ledger) -> bool:
        anchor = violation.item_ids[-1]
        deletes = [d for d in ledger.deletes if d.item.id == anchor]
        return bool(deletes) and all(
            d.server_order and d.server_order[-1] != anchor for d in deletes
        )

    def _revived(self, known: dict[str, Any]) -> list[Violation]:
        """An applied compaction's summary, still on the server, quotes the turn the
        application removed on purpose from that compaction's span before it was folded
        (the event's ``kept_ids``: planned, not removed by it), its delete sent before the
        summary's create: written from the span as planned, the summary brought the turn
        back (issue 12, item 8). A summary created before the removal (an earlier
        compaction's, or one whose apply kept the turn in the tail window) is no revival:
        its text was there first (seed 590 at concurrency 48)."""
        forgot = self.app_forgot.keys() & self.changes.app_deleted  # the removal was sent
        if not forgot:
            return []
        server = {i.id: i for i in self.emulator.conversation}
        sent = self.changes.first_sent
        found = []
        for event in getattr(self.contender, "applied", ()):
            summary = server.get(event.summary_id) if event.summary_id else None
            if summary is None:
                continue
            created = sent.get(("create", summary.id), -1)
            quoted = sorted(
                i
                for i in forgot & set(event.kept_ids)
                if self.app_forgot[i] in summary.text and sent[("app_delete", i)] < created
            )
            if quoted:
                found.append(
                    Violation(
                        "item_revived",
                        f"summary {summary.id} quotes {', '.join(quoted)}, which the"
                        " application removed from its span before it was folded",
                        (summary.id, *quoted),
                        frozenset(fingerprint(known[i]) for i in quoted if i in known),
                    )
                )
        return found

    def _deletes_during_generations(self, known: dict[str, Any]) -> list[Violation]:
        """Invariant 5, judged from the plugin's state when each delete left: no delete of
        the contender's while a response was in progress."""
        return [
            Violation(
                "forbidden_delete",
                f"the client deleted {item_id} while a response was in progress or a tool ran",
                (item_id,),
                frozenset({fingerprint(known[item_id])}) if item_id in known else frozenset(),
            )
            for item_id in dict.fromkeys(self.changes.deleted_in_generation)
        ]

    def _placed_before_unacked(self, violation: Violation, unacked: set[str], rt: Any) -> bool:
        """The earlier user message the new one went before is one whose create the
        server applied but never acknowledged, and the plugin never learned of: the
        client placed the new message after the last item it knew there."""
        if rt is None or len(violation.item_ids) < 2:
            return False
        earlier = violation.item_ids[1]
        return earlier in unacked and rt.chat_ctx.get_by_id(earlier) is None

    def _server_items_unplaced(self, violation: Violation) -> bool:
        """A mirror order finding on a server that never says where an item went (xAI),
        or any mirror finding there once a delete's anonymous acknowledgement was dropped."""
        if self.emulator.dialect != "xai" or violation.kind != "mirror_diverged":
            return False
        dropped_delete = any(
            e.get("type") == "conversation.item.deleted" for e in self.emulator.dropped_acks
        )
        return dropped_delete or violation.message.startswith("mirror order")

    def _reordered_by_unacked(self, violation: Violation, unacked: set[str], rt: Any) -> bool:
        """The mirror's order differs only where the server chained an item to one it never
        acknowledged: the plugin, not knowing that anchor, appended the item instead, and
        the items the server chained after that one went with it (seed 906: a reply to a
        typed turn whose acknowledgement was dropped)."""
        if not violation.message.startswith("mirror order") or rt is None:
            return False
        server = self.emulator.conversation
        displaced: set[str] = set()
        for item in server:  # in server order: a run chained to a displaced item follows it
            if item.previous_item_id in unacked or item.previous_item_id in displaced:
                displaced.add(item.id)
        mirror_ids = {i.id for i in rt.chat_ctx.items}
        server_order = [i.id for i in server if i.id in mirror_ids and i.id not in displaced]
        shared = set(server_order)
        return bool(displaced) and [i.id for i in rt.chat_ctx.items if i.id in shared] == (
            server_order
        )


def _describe_item(item: llm.ChatItem) -> str:
    if isinstance(item, llm.ChatMessage):
        return f"{item.id} message {item.role} {(item.text_content or '')[:40]!r}"
    if isinstance(item, (llm.FunctionCall, llm.FunctionCallOutput)):
        return f"{item.id} {item.type} {item.call_id}"
    return f"{item.id} {item.type}"


def _unacknowledged_ids(emulator: RealtimeServerEmulator) -> set[str]:
    """Items whose create or delete the server applied but never acknowledged."""
    ids: set[str] = set()
    for event in emulator.dropped_acks:
        item = event.get("item")
        ids.add(item["id"] if isinstance(item, dict) else event.get("item_id", ""))
    return ids


async def run_schedule(
    schedule: Schedule,
    contender_name: ContenderName,
    *,
    control: ScheduleResult | None = None,
    dialect: Dialect = "openai",
) -> ScheduleResult:
    """Play ``schedule`` with one contender on a fresh emulator and session; check the result.

    ``control`` is the same schedule played by ``none``: a finding it shows too, on
    the same items, is excused. Never raises for what happens inside the schedule:
    a harness failure is returned as ``ScheduleResult.error``. ``dialect`` picks the
    provider: the emulator speaks its wire variant and the session runs its real plugin.
    """
    started = time.monotonic()
    contender = make_contender(
        contender_name,
        schedule.compaction,
        keep_last_tokens=schedule.keep_last_tokens,
        plan_splits_a_pair=schedule.plan_splits_a_pair,
        archive_fails=schedule.archive_fails,
    )
    changes = ChangeLog()
    policy: StaleAnchorPolicy = "reject" if schedule.reject_stale_anchors else "append"
    try:
        with changes.active():
            async with RealtimeServerEmulator(
                responder=chaos_responder, stale_anchor_policy=policy, dialect=dialect
            ) as emulator:
                emulator.transcription_delay = schedule.transcription_delay
                model = plugin_model(emulator)
                session: AgentSession[None] = AgentSession(llm=model)
                race = _Race(schedule, contender, emulator, session, changes)
                ledger = Ledger(
                    emulator,
                    state=race.copies,
                    keep_last_turns=schedule.compaction.keep_last_turns,
                    summaries=lambda: contender.summaries,
                    named=contender.named,
                    reported=contender.reported,
                    culprit_of=changes.culprit_of,
                    forgotten=lambda: race.app_forgot.keys() & changes.app_deleted,
                    # only ctxmgr archives: the guarded naive summarizer deletes itself
                    archived=(
                        (lambda: contender.archive.received)
                        if isinstance(contender, CtxmgrContender) and contender.name == "ctxmgr"
                        else None
                    ),
                )
                changes.before_update.append(ledger.before_update)
                try:
                    await session.start(ChaosAgent(tool_delay=schedule.tool_delay))
                    await asyncio.wait_for(race.play(), SCHEDULE_TIMEOUT_S)
                    counted, excused, found = race.check(ledger, control)
                    views = race.views()
                    error = "; ".join(race.errors + emulator.observer_errors) or None
                finally:
                    for task in race.tasks:
                        task.cancel()
                    await asyncio.gather(*race.tasks, return_exceptions=True)
                    await session.aclose()
                    await model.aclose()
    except Exception as e:  # noqa: BLE001 - a broken schedule is a result, not a crash
        return ScheduleResult(
            schedule.seed,
            contender_name,
            error=f"{type(e).__name__}: {e}",
            duration_s=time.monotonic() - started,
        )
    finally:
        await contender.aclose()
    return ScheduleResult(
        schedule.seed,
        contender_name,
        violations=tuple(counted),
        excused=tuple(excused),
        error=error,
        outcomes=tuple(contender.outcomes),
        duration_s=time.monotonic() - started,
        views=views,
        findings=tuple(found),
        app_caused=frozenset(v.key for v in found if race.app_touched(v)),
        exercised=frozenset(
            ledger.exercised
            | ({"archive_failed"} if "failed:archive" in contender.outcomes else set())
        ),
    )
