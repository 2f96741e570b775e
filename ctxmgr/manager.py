"""ContextManager: attach to an Agent in one line; compact in the background, safely.

```python
from ctxmgr import ContextManager

agent = MyAgent(instructions="...")
manager = ContextManager.from_settings().attach(agent)   # policy picked by settings
manager.on("compaction_applied", lambda ev: print(ev.tokens_before, "->", ev.tokens_after))
await session.start(agent=agent)
```

The manager listens to the session (items added, tools executed, agent state,
realtime usage), counts tokens incrementally, and when the trigger fires plans a
compaction and writes the summary in a background task: a reply never waits for
it. The applier then lands the plan under one lock, when the agent is quiet,
re-validated against the live context; any failure leaves the context as it was.
"""

from __future__ import annotations

import asyncio
import re
import enum
import time
import weakref
from collections.abc import Callable, Collection, Sequence
from typing import Any

from livekit import rtc
from livekit.agents import Agent, llm, utils
from livekit.agents.metrics import RealtimeModelMetrics

from ._exceptions import AttachError, SummarizerError
from . import archive as archives
from .archive import Archive, ArchivedItem, open_archive, redact
from .apply import Applier, ApplyOutcome, BeforeDelete, UpdateOutcome
from .backends import AgentBackend
from .chat_items import INSTRUCTION, MESSAGE, USER_TURN, is_instruction, is_reply, is_summary
from .compose import live_union
from .cost_trigger import CostTrigger, CutEstimate, estimate_cut, tools_tokens
from .events import (
    CompactionAppliedEvent,
    CompactionFailedEvent,
    CompactionResult,
    CompactionSkippedEvent,
    CompactionStartedEvent,
    EventTypes,
    FailureStage,
    FallbackReason,
    ManagerStats,
    ForgetResult,
    OverBudgetEvent,
    SkipReason,
    UpdateGuardedEvent,
)
from ._listeners import listener
from .log import logger
from .remote import MirrorKeeper
from .guard import TailWindow
from .handoffs import HandoffFollower
from .plan import CompactionPlan
from .policy import Policy, TrimPolicy, _TurnPolicy, policy_from_settings
from .recall import RECALL_NOTE, recall_tool
from .settings import Settings
from .signals import POLL_INTERVAL_S
from .speech_rates import SpeechRates
from .summarizer import Summarizer, summary_message
from .tally import Tally
from .telemetry import compaction_span
from .tokens import TokenCounter
from .triggers import Trigger

__all__ = ["ContextManager"]

_SESSION_EVENTS = ("conversation_item_added", "function_tools_executed", "agent_state_changed")
_WRAPPED = ("update_chat_ctx", "on_enter", "on_exit", "llm_node")
"""The agent's methods a manager stands in for while attached."""


class _State(enum.Enum):
    DETACHED = "detached"
    ATTACHED = "attached"
    CLOSED = "closed"


class ContextManager(rtc.EventEmitter[EventTypes]):
    """Keeps one agent's chat context under budget without losing an item.

    Args:
        settings: what to compact and when; ``None`` reads ``Settings()`` (env, ``.env``, preset).
        summarizer_llm: the LLM that writes summaries. ``None``: the session's LLM when
            it is a text LLM; a realtime model cannot summarize, so one must be given there.
        policy: a custom policy; ``None`` uses the one ``settings.strategy`` names.
        archive: where removed items go (the caller closes it); ``None`` opens the one
            settings describe (in memory, or SQLite at ``archive_path``; none when
            ``archive`` is off) and closes it in ``aclose()``.
        session_id: names this call in the archive; ``None`` makes a fresh one.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        summarizer_llm: llm.LLM | None = None,
        policy: Policy | None = None,
        archive: Archive | None = None,
        session_id: str | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings if settings is not None else Settings()
        self.session_id = session_id or utils.shortuuid("call_")
        """Identifies this call's items in the archive."""
        self._archive: Archive | None = (
            archive if archive is not None
            else open_archive(self._settings.archive_path) if self._settings.archive
            else None
        )
        self._owns_archive = archive is None
        self._recall_tool: llm.FunctionTool | None = None
        if summarizer_llm is not None and not isinstance(summarizer_llm, llm.LLM):
            kind = (
                "a realtime model, which cannot summarize"
                if isinstance(summarizer_llm, llm.RealtimeModel)
                else f"a {type(summarizer_llm).__name__}"
            )
            raise TypeError(
                f"summarizer_llm must be a text livekit.agents.llm.LLM instance, got {kind}"
                " (e.g. summarizer_llm=openai.LLM(model='gpt-4o-mini'))"
            )
        self._summarizer_llm = summarizer_llm
        self._custom_policy = policy
        self._policy = policy if policy is not None else policy_from_settings(self._settings)
        self._deep_policy = (
            self._policy.deepest() if isinstance(self._policy, _TurnPolicy) else self._policy
        )
        self._trim = TrimPolicy(
            target_tokens=self._settings.effective_target_tokens, tail=self._policy.tail
        )
        self._trigger = Trigger.from_settings(self._settings)
        self._cost_rule = CostTrigger.from_settings(self._settings)
        self._cost_due = False
        """The cost rule found a compaction due when the trigger was last checked."""
        self._outside: tuple[tuple[str, tuple[int, ...]], int] | None = None
        self._sent_text: int | None = None
        """Text tokens of the context last sent (what the next usage report bills)."""
        self._sent_spoken = (0, 0)
        """Transcript tokens of the user's and the agent's speech in the context last sent
        (see ``report_usage``)."""
        self._sent_ids: frozenset[str] = frozenset()
        """The items the last response was sent (fresh items: see ``estimate_cut``)."""
        self._usage_pair: tuple[int, int] | None = None
        """(text, billed) tokens of the last response reported since the last compaction."""
        self._speech = SpeechRates()
        """Billed tokens per transcript token of each speaker's turns, learnt from usage reports."""
        self._counter = TokenCounter(
            model=self._settings.model,
            encoding=self._settings.encoding,
            allow_download=self._settings.allow_encoding_download,
        )
        self._stats = ManagerStats()
        self._state = _State.DETACHED
        self._agent: Agent | None = None
        self._backend: AgentBackend | None = None
        self._applier: Applier | None = None
        self._session: Any = None
        self._rt_session: Any = None
        self._mirror_keeper: MirrorKeeper | None = None
        self._originals: dict[str, Any] = {}
        self._instance_attrs: dict[str, Any] = {}
        self._task: asyncio.Task[CompactionResult] | None = None
        self._recheck = False
        self._said_append_only = False
        """An ``append_only_model`` skip was emitted: the trigger stays quiet after it."""
        self._rearm_at: int | None = None
        self._scale = 1.0
        self._quick: tuple[list[Any], int, int, int] | None = None
        self._round_lock = asyncio.Lock()
        self._manual_rounds: set[asyncio.Task[CompactionResult]] = set()
        self._late_writes: set[asyncio.Task[None]] = set()
        """Archive writes of late transcripts (``_drop_late_arrival``) in flight."""
        self._listeners: dict[str, Callable[[Any], None]] = {}
        """The callbacks ``_bind`` gave the session and the realtime session, by event."""
        self._deferred_removals: set[str] = set()
        self._deferred_tail: TailWindow | None = None
        self._deferred_task: asyncio.Task[None] | None = None
        self._abandoned: weakref.WeakKeyDictionary[asyncio.Task[Any], CompactionResult] = (
            weakref.WeakKeyDictionary()
        )
        self._summarizer_failures = 0
        self._summarizer_rests_until = 0.0
        self._follower: HandoffFollower | None = None
        self._is_follower = False
        self._over = False
        self._summary_too_late = asyncio.Event()
        """Set when a request would go out over ``max_tokens`` and the round's summary did
        not come within ``first_reply_wait_s`` (cleared as a round starts summarizing)."""

    @classmethod
    def from_settings(
        cls, *, summarizer_llm: llm.LLM | None = None, **overrides: Any
    ) -> ContextManager:
        """A manager with ``Settings(**overrides)`` (env, ``.env`` and the preset fill the rest)."""
        return cls(Settings(**overrides), summarizer_llm=summarizer_llm)

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def counter(self) -> TokenCounter:
        """The token counter (shared with the summarizer)."""
        return self._counter

    @property
    def agent(self) -> Agent | None:
        """The agent this manager is attached to."""
        return self._agent

    @property
    def archive(self) -> Archive | None:
        """The archive of removed items (``None`` when archiving is off)."""
        return self._archive

    @property
    def followers(self) -> tuple[ContextManager, ...]:
        """The managers ``follow_handoffs`` attached to the agents handed off to, oldest first."""
        return tuple(self._follower.managers) if self._follower is not None else ()

    @property
    def stats(self) -> ManagerStats:
        """Running totals: tokens now and at peak, compactions, tokens saved, summarizer usage."""
        return self._stats

    # -- lifecycle -----------------------------------------------------------------------

    def attach(self, agent: Agent) -> ContextManager:
        """Manage ``agent``'s context, before or after ``session.start``. Returns ``self``.

        Raises:
            AttachError: this manager is already attached or closed, or ``agent`` already
                has a manager.
        """
        if self._state is _State.CLOSED:
            raise AttachError("Cannot attach a closed ContextManager.")
        if self._state is _State.ATTACHED:
            raise AttachError("Cannot attach a ContextManager more than once; detach() it first.")
        if getattr(agent, "_ctxmgr_manager", None) is not None:
            raise AttachError("This agent already has a ContextManager attached.")
        self._check_summarizer_for(_model_of(agent))
        agent._ctxmgr_manager = self  # type: ignore[attr-defined]
        self._agent = agent
        self._originals = {name: getattr(agent, name) for name in _WRAPPED}
        # set on the instance before attach (not looked up on the class): put back by detach
        self._instance_attrs = {n: agent.__dict__[n] for n in _WRAPPED if n in agent.__dict__}
        self._backend = AgentBackend(agent, self._originals["update_chat_ctx"])
        self._applier = Applier(
            self._backend,
            counter=self._counter,
            tail=self._policy.tail,
            quiescence_timeout_s=self._settings.quiescence_timeout_s,
        )
        agent.update_chat_ctx = self._guarded_update  # type: ignore[method-assign]
        if self._settings.recall and self._archive is not None:
            self._add_recall_tool(agent)
        agent.on_enter = self._wrap_on_enter(self._originals["on_enter"])  # type: ignore[method-assign]
        agent.on_exit = self._wrap_on_exit(self._originals["on_exit"])  # type: ignore[method-assign]
        agent.llm_node = self._wrap_llm_node(self._originals["llm_node"])  # type: ignore[method-assign]
        self._state = _State.ATTACHED
        if getattr(agent, "_activity", None) is not None:
            self._bind(agent._activity.session)  # type: ignore[union-attr]
        logger.debug("context manager attached", extra={"policy": self._policy.name})
        return self

    def detach(self) -> None:
        """Stop managing the agent and restore its methods; a compaction in flight is cancelled."""
        if self._state is not _State.ATTACHED or self._agent is None:
            return
        self._unbind()
        for name in _WRAPPED:
            if name in self._instance_attrs:
                setattr(self._agent, name, self._instance_attrs[name])
            else:  # looked up on the class: dropping the wrapper uncovers it
                self._agent.__dict__.pop(name, None)
        if self._recall_tool is not None:
            self._set_tools(self._agent, [t for t in self._agent.tools if t is not self._recall_tool])
            self._recall_tool = None
        self._agent._ctxmgr_manager = None  # type: ignore[attr-defined]
        self._abandon_rounds()
        self._agent = None
        self._state = _State.DETACHED

    async def aclose(self) -> None:
        """Cancel background work (the context stays as it was), detach, close the managers
        ``follow_handoffs`` attached, close the archive."""
        rounds = self._rounds_in_flight()
        self.detach()
        self._state = _State.CLOSED
        self._abandon_rounds(rounds)
        await asyncio.gather(*rounds, *self._late_writes, return_exceptions=True)
        if self._follower is not None:
            await self._follower.aclose()
        if self._archive is not None and self._owns_archive:
            await archives.close(self._archive)  # an archive passed in belongs to the caller

    def _add_recall_tool(self, agent: Agent) -> None:
        assert self._archive is not None
        self._recall_tool = recall_tool(
            self._archive,
            lambda: self.session_id,
            counter=self._counter,
            max_tokens=self._settings.recall_max_tokens,
        )
        self._set_tools(agent, [*agent.tools, self._recall_tool])

    @staticmethod
    def _set_tools(agent: Agent, tools: list[Any]) -> None:
        if getattr(agent, "_activity", None) is None:
            agent._tools = tools  # not running: update_tools would only do this
        else:
            asyncio.get_running_loop().create_task(agent.update_tools(tools))

    async def __aenter__(self) -> ContextManager:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- every update goes through the guard ----------------------------------------------

    async def _guarded_update(
        self, chat_ctx: llm.ChatContext, *, exclude_invalid_function_calls: bool = True
    ) -> None:
        """Stands in for ``agent.update_chat_ctx`` while attached: the same protection as a
        compaction for any caller (the application's summarizer, a handoff, a tool)."""
        # installed by attach(), which sets both
        assert self._applier is not None and self._backend is not None
        agent = self._agent
        activity = getattr(agent, "_activity", None) if agent is not None else None
        if activity is None:
            # not running (yet): livekit only keeps the context, and sends it when the agent
            # starts; a partial copy must not replace what filled in meanwhile (seed 569)
            await self._backend.forward(
                self._applier.without_partial_copies(chat_ctx),
                exclude_invalid_function_calls=exclude_invalid_function_calls,
            )
            return
        if exclude_invalid_function_calls:
            chat_ctx = chat_ctx.copy(tools=activity.tools)
        tail = self._policy.tail if self._settings.protect_tail_on_updates else None
        replaced = self._applier.replaces_all(chat_ctx)
        outcome = await self._applier.apply_update(chat_ctx, tail=tail)
        self._report_update(outcome, replaced)
        self._defer(outcome, tail)

    def _report_update(
        self, outcome: UpdateOutcome, replaced: bool, *, retried: bool = False
    ) -> None:
        if outcome.kept or outcome.deferred_ids or retried:
            self.emit(
                "update_guarded",
                UpdateGuardedEvent(
                    outcome.removed_ids, outcome.kept, outcome.deferred_ids, replaced
                ),
            )

    async def _remove_deferred(self) -> None:
        """Apply the removals an update deferred, at the next quiet moment (each attempt
        waits up to ``quiescence_timeout_s``), through the same guard; until they land,
        the guard stops allowing them, or the manager detaches."""
        while self._deferred_removals and self._applier is not None:
            live = self._live()
            wanted = self._deferred_removals & {i.id for i in live.items}
            self._deferred_removals.clear()
            if not wanted:
                return
            proposed = llm.ChatContext([i for i in live.items if i.id not in wanted])
            outcome = await self._applier.apply_update(proposed, tail=self._deferred_tail)
            self._report_update(outcome, replaced=False, retried=True)
            self._deferred_removals.update(outcome.deferred_ids)

    # -- session events ------------------------------------------------------------------

    def _wrap_on_enter(self, original: Any) -> Any:
        async def on_enter() -> None:
            agent = self._agent
            if agent is not None and getattr(agent, "_activity", None) is not None:
                try:
                    # the session's model is known from here on (the usual set-up passes
                    # it to AgentSession, not to the agent)
                    self._check_summarizer_for(_model_of(agent))
                except AttachError:
                    self.detach()  # the agent runs unmanaged rather than half-managed
                    await original()
                    raise
                self._bind(agent._activity.session)  # type: ignore[union-attr]
            await original()

        return on_enter

    def _wrap_llm_node(self, original: Any) -> Any:
        async def llm_node(chat_ctx: llm.ChatContext, tools: Any, model_settings: Any) -> Any:
            await self._before_request(chat_ctx)
            result = original(chat_ctx, tools, model_settings)
            return await result if asyncio.iscoroutine(result) else result

        return llm_node

    async def _before_request(self, chat_ctx: llm.ChatContext) -> None:
        """A pipeline request about to go out over ``max_tokens`` while a round is in flight
        (history preloaded over the budget, turns faster than the summarizer) waits for it,
        at most ``first_reply_wait_s`` for its summary, after which the round trims. Then
        the request, built from a copy taken before, drops what a compaction removed
        meanwhile and gets its summary."""
        applier, backend = self._applier, self._backend
        if self._state is not _State.ATTACHED or applier is None or backend is None:
            return
        if backend.two_step:
            return  # a realtime model is not sent requests this way
        self._on_response(chat_ctx)
        task, bound = self._task, self._settings.first_reply_wait_s
        if task is not None and not task.done():
            if self._counter.count(chat_ctx) > self._settings.max_tokens:
                done, _ = await asyncio.wait({task}, timeout=bound)
                if not done:
                    self._summary_too_late.set()  # the round gives its summary up and trims
                    await asyncio.wait({task}, timeout=bound)
        if applier.holds_removed(chat_ctx.items):
            chat_ctx.items[:] = [i for i in chat_ctx.items if not applier.was_removed(i.id)]
            for item in backend.read_local().items:
                if is_summary(item) and chat_ctx.get_by_id(item.id) is None:
                    chat_ctx.insert(item)

    def _wrap_on_exit(self, original: Any) -> Any:
        async def on_exit() -> None:
            self._on_session_close(None)
            await original()

        return on_exit

    def _bind(self, session: Any) -> None:
        if self._session is session:
            return
        self._unbind()
        self._session = session
        on_activity = listener(self._on_session_activity)
        self._listeners = {event: on_activity for event in _SESSION_EVENTS}
        for event in _SESSION_EVENTS:
            session.on(event, on_activity)
        session.on("close", self._on_session_close)
        activity = getattr(self._agent, "_activity", None)
        self._rt_session = activity.realtime_llm_session if activity is not None else None
        if self._rt_session is not None:
            # before our own observer: it reads the mirror's order
            self._mirror_keeper = MirrorKeeper(self._rt_session)
            # per-response usage straight from the model (the session-level event is deprecated)
            self._listeners["metrics_collected"] = listener(self._on_metrics)
            # livekit adds its placeholder for a server item on this event, before ours runs
            self._listeners["remote_item_added"] = listener(self._observe)
            for event in ("metrics_collected", "remote_item_added"):
                self._rt_session.on(event, self._listeners[event])
        self._observe(None)
        self._check_trigger()  # history it starts with (preloaded, handed over) counts too
        if self._settings.follow_handoffs and not self._is_follower and self._follower is None:
            self._follower = HandoffFollower(session, self._make_follower, self.emit)

    def _make_follower(self) -> ContextManager:
        """A manager for an agent handed off to: this one's settings, summarizer, policy,
        archive and call id."""
        follower = ContextManager(
            self._settings,
            summarizer_llm=self._summarizer_llm,
            policy=self._custom_policy,
            archive=self._archive,
            session_id=self.session_id,
        )
        follower._is_follower = True
        return follower

    def _unbind(self) -> None:
        if self._session is None:
            return
        for event in _SESSION_EVENTS:
            self._session.off(event, self._listeners[event])
        self._session.off("close", self._on_session_close)
        if self._rt_session is not None:
            for event in ("metrics_collected", "remote_item_added"):
                self._rt_session.off(event, self._listeners[event])
            self._rt_session = None
        if self._mirror_keeper is not None:
            self._mirror_keeper.close()
            self._mirror_keeper = None
        self._session = None

    def _on_session_close(self, _ev: Any) -> None:
        # the agent stops (handoff or close): a compaction in flight is abandoned and
        # the context stays as it was
        self._abandon_rounds()
        self._unbind()

    def _rounds_in_flight(self) -> set[asyncio.Task[CompactionResult]]:
        rounds = set(self._manual_rounds)
        if self._task is not None:
            rounds.add(self._task)
        return {task for task in rounds if not task.done()}

    def _abandon_rounds(self, rounds: set[asyncio.Task[CompactionResult]] | None = None) -> None:
        """Cancel every round in flight, triggered or ``compact()``: nothing is applied or
        archived after this; what a cancelled round leaves is reported (``compaction_failed``)."""
        for task in self._rounds_in_flight() if rounds is None else rounds:
            task.cancel()
        if self._deferred_task is not None:
            self._deferred_task.cancel()  # the removals an update deferred are dropped
            self._deferred_removals.clear()

    def _on_metrics(self, metrics: Any) -> None:
        self._observe(None)  # a response is done: a step waiting for a quiet moment looks now
        if isinstance(metrics, RealtimeModelMetrics) and not metrics.cancelled:
            local, tally, end = None, None, 0
            if self._cost_rule is not None and self._backend is not None:
                local = self._backend.read_local()
                tally = self._counter.tally(local.items)
                # what this usage billed: the context before the response's own output
                end = len(local.items)
                while end and _is_output(local.items[end - 1]):
                    end -= 1
                self._note_sent(tally, end)
            details = metrics.input_token_details
            self.report_usage(
                metrics.input_tokens, audio_tokens=details.audio_tokens if details else None
            )
            if local is not None:
                self._on_response(local, tally, billed=end)

    def report_usage(self, input_tokens: int, *, audio_tokens: int | None = None) -> None:
        """Tell the manager how many input tokens the model was billed for its last response.

        Realtime sessions report this on their own. The figure counts what the text
        counter cannot see (audio); the trigger uses it when it is larger, and plans
        are scaled to it. It is dropped after a compaction until the next report.
        ``audio_tokens``, the part billed as audio when the provider says, tells the cost
        rule what a transcript token of each speaker's speech bills (``SpeechRates``;
        else it learns one rate from the growth of ``input_tokens`` between responses).
        """
        self._stats.server_input_tokens = input_tokens
        if self._cost_rule is None:
            return
        user, agent = self._sent_spoken
        if audio_tokens and user + agent:
            self._speech.observe(user_tokens=user, agent_tokens=agent, audio_tokens=audio_tokens)
        else:
            self._pair_usage(input_tokens)

    def _observe(self, _ev: Any) -> None:
        if self._applier is not None:
            self._applier.observe()

    def _on_session_activity(self, ev: Any) -> None:
        if self._state is not _State.ATTACHED or self._backend is None:
            return
        kind = getattr(ev, "type", None)
        late = getattr(ev, "item", None) if kind == "conversation_item_added" else None
        if late is not None and self._applier is not None and self._applier.was_removed(late.id):
            self._drop_late_arrival(late)
        self._observe(ev)
        # agent state changes come several times a turn and add no item: they only
        # matter to retry a round that could not run or did not land
        if kind == "agent_state_changed" and not self._recheck:
            return
        self._check_trigger()

    def _check_trigger(self) -> None:
        """Count the context (stats stay true, also while a round is pending) and start a
        round when the trigger fires."""
        if self._state is not _State.ATTACHED or self._backend is None:
            return
        if not self._backend.is_running():
            # paused (an AgentTask runs), handed off, not started: nothing to evaluate
            # until it runs again (its next state change re-checks)
            self._recheck = True
            return
        local = self._backend.read_local()
        tokens = self._quick_measure(local)
        if self._task is not None and not self._task.done():
            self._recheck = True
            return
        if not self._backend.mutable and self._said_append_only:
            return  # append-only: said once, not on every item
        self._recheck = False
        if self._fires(tokens, local.items):
            self._task = asyncio.create_task(self._round(force=False), name="ctxmgr_compaction")
            self._task.add_done_callback(self._after_round)

    def _drop_late_arrival(self, item: llm.ChatItem) -> None:
        """An item a compaction folded came back: the transcript of a spoken turn folded
        while it was still untranscribed (livekit adds it under the turn's id). The server
        no longer holds the turn, so the agent's context must not either (the next update
        would create it at the end of the conversation): it goes to the archive."""
        assert self._backend is not None
        local = self._backend.read_local()
        local.items[:] = [i for i in local.items if i is not item]
        logger.info("a late transcript of a folded turn was archived", extra={"item_id": item.id})
        if self._archive is not None:
            copy = item.model_copy(update={"id": f"{item.id}_late"})
            write = asyncio.create_task(self._archive_late(self._archive, copy))
            self._late_writes.add(write)
            write.add_done_callback(self._late_writes.discard)

    async def _archive_late(self, archive: Archive, item: llm.ChatItem) -> None:
        """Archive a late transcript off the event loop; a failure is logged (the item has
        left the context already: nothing is waiting on the write)."""
        try:
            await archives.store(
                archive, self.session_id, [item], compaction_id="late_arrival", summary_id=None
            )
        except Exception:  # noqa: BLE001 - a background failure becomes a log line
            logger.warning("a late transcript could not be archived", exc_info=True)

    def _after_round(self, task: asyncio.Task[CompactionResult]) -> None:
        if task.cancelled() or task.exception() is not None or task.result().status != "applied":
            self._recheck = True

    # -- compaction ----------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while a compaction round is in flight: one the trigger started, or a
        ``compact()`` call."""
        return self._round_lock.locked() or (self._task is not None and not self._task.done())

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until no compaction round is in flight, nor an archive write of a late
        transcript (for tests and scripts).

        A round the trigger starts meanwhile is waited for too. Waiting never cancels a
        round; ``TimeoutError`` after ``timeout`` seconds (``None``: no limit).
        """

        async def idle() -> None:
            while True:
                task = self._task
                if task is not None and not task.done():
                    await asyncio.wait({task})  # unlike gather, never cancels the round
                elif self._round_lock.locked():
                    await asyncio.sleep(POLL_INTERVAL_S)
                elif self._late_writes:
                    await asyncio.wait(set(self._late_writes))
                else:
                    return

        await asyncio.wait_for(idle(), timeout)

    # -- the application's own edits, on purpose ---------------------------------------

    async def replace(self, chat_ctx: llm.ChatContext) -> UpdateOutcome:
        """Make ``chat_ctx`` the agent's context, on purpose: nothing is kept as unseen or
        as the tail window. What is in flight on a realtime session stays (after the new
        items); removals without a quiet moment are deferred (``update_guarded``)."""
        applier = self._applier_or_raise()
        outcome = await applier.apply_update(chat_ctx, tail=None, replace=True)
        self._report_update(outcome, replaced=True)
        self._defer(outcome, None)
        return outcome

    async def clear(self) -> UpdateOutcome:
        """Start over: remove every item but the instructions (what is in flight stays)."""
        return await self.replace(llm.ChatContext.empty())

    async def forget(self, item_ids: Collection[str]) -> ForgetResult:
        """Remove items on purpose (redaction): from the context, from the archive, and from
        the text of every summary that quotes them (in the context and in the archive).

        Refuses (nothing changed, ``refused`` says why) when an archive is kept and cannot
        forget. A summary that paraphrases an item rather than quoting it keeps the
        paraphrase: only verbatim quotes are found.
        """
        applier = self._applier_or_raise()
        wanted = set(item_ids)
        archive = self._archive
        if archive is not None and not callable(getattr(archive, "forget", None)):
            return ForgetResult((), (), (), 0, refused="the archive cannot forget items")
        live = self._live()
        quotes = [q for i in live.items if i.id in wanted for q in _quotes(i)]
        if archive is not None:
            quotes += [
                q for r in archive.items(self.session_id) if r.item_id in wanted
                for q in (r.text, _spoken(r), *_sentences(_spoken(r)))
            ]
        items: list[llm.ChatItem] = []
        redacted: list[str] = []
        for item in live.items:
            if item.id in wanted:
                continue
            if is_summary(item) and isinstance(item, llm.ChatMessage):
                text = item.text_content or ""
                blanked = redact(text, quotes)
                if blanked != text:
                    item = item.model_copy(update={"content": [blanked]})
                    redacted.append(item.id)
            items.append(item)
        outcome = await applier.apply_update(llm.ChatContext(items), tail=None, replace=True)
        self._report_update(outcome, replaced=False)
        self._defer(outcome, None)
        forgotten = 0
        if archive is not None:
            forgotten = archive.forget(self.session_id, wanted, quotes)  # type: ignore[attr-defined]
        kept_edits = {i for i, r in outcome.kept if r == "edit_deferred"}
        return ForgetResult(
            outcome.removed_ids,
            outcome.kept,
            tuple(i for i in redacted if i not in kept_edits),
            forgotten,
        )

    def _defer(self, outcome: UpdateOutcome, tail: TailWindow | None) -> None:
        """Retry ``outcome``'s deferred removals at the next quiet moment."""
        if not outcome.deferred_ids:
            return
        self._deferred_removals.update(outcome.deferred_ids)
        self._deferred_tail = tail
        if self._deferred_task is None or self._deferred_task.done():
            self._deferred_task = asyncio.create_task(
                self._remove_deferred(), name="ctxmgr.deferred_removals"
            )

    async def compact(self, *, force: bool = False) -> CompactionResult:
        """Run one compaction now. ``force`` compacts even below the trigger.

        Never raises for a failed compaction: the result (and an event) says what happened,
        also when ``detach()``, ``aclose()`` or the agent's exit abandons the round.
        Cancelling the caller cancels the round.
        """
        task = asyncio.create_task(self._round(force=force), name="ctxmgr_manual_compaction")
        self._manual_rounds.add(task)
        task.add_done_callback(self._manual_rounds.discard)
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task.cancelled():
            abandoned = self._abandoned.pop(task, None)
            if abandoned is not None:
                return abandoned
            return self._skip("not_running", self._stats.tokens)
        return task.result()

    def _fires(self, tokens: int, items: Sequence[llm.ChatItem]) -> bool:
        """The trigger, re-armed only once the context grew by the hysteresis gap.

        A compaction that left the context at or near the trigger (within half the
        headroom between the high-water mark and ``max_tokens``: a long protected tail,
        a large summary) would otherwise run again within a few items: the most
        expensive schedule there is. The next one then waits for the context to grow
        by (high-water - target), a normal cycle's growth, or to get three quarters of
        the way from the high-water mark to ``max_tokens``.
        """
        self._cost_due = self._cost_rule_due(items)
        if self._cost_due:
            return True
        if not self._trigger.check(tokens=tokens, items=len(items)).fire:
            return False
        return self._rearm_at is None or tokens >= self._rearm_at

    def _cost_rule_due(self, items: Sequence[llm.ChatItem]) -> bool:
        """The cost rule at the end of a turn: is a compaction folding down to the tail
        window due now, the reply that closed the turn priced as the next response would
        send it (fresh, with an empty tail window)?"""
        rule = self._cost_rule
        if rule is None or self._backend is None or not _turn_ended(items):
            return False
        return rule.due(self._price_cut(items, self._counter.tally(items)))

    def _reset_cost_rule(self) -> None:
        self._cost_due = False
        self._usage_pair = None  # the context shrank: growth is measured afresh
        if self._cost_rule is not None:
            self._cost_rule.reset()

    def _on_response(
        self, sent: llm.ChatContext, tally: Tally | None = None, billed: int | None = None
    ) -> None:
        """A response was sent ``sent`` (whose items' tally is ``tally``, when taken; its
        first ``billed`` items, when the rest is the response's own output, on a realtime
        session, which noted them before its usage report): the cost rule adds what it
        carried (see ``ctxmgr.cost_trigger``)."""
        rule = self._cost_rule
        if rule is None or self._backend is None:
            return
        if tally is None:
            tally = self._counter.tally(sent.items)
        if billed is None:
            self._note_sent(tally, len(tally.ids))
        cut = self._price_cut(sent.items, tally)
        self._sent_ids = frozenset(tally.ids[:billed])
        rule.on_response(cut)

    def _price_cut(self, items: Sequence[llm.ChatItem], tally: Tally) -> CutEstimate:
        """What the cost rule prices: a cut of ``items`` (whose tally is ``tally``) down
        to the tail window, fresh items told apart by the last response's ids."""
        assert self._backend is not None
        return estimate_cut(
            items,
            tally.counts,
            self._policy.tail,
            protected_ids=self._backend.protected_ids(),
            speech_scale=self._speech.user,
            agent_speech_scale=self._speech.agent,
            outside_tokens=self._outside_tokens(tally),
            sent_before=self._sent_ids,
            tally=tally,
        )

    def _note_sent(self, tally: Tally, end: int) -> None:
        """What the next usage report bills: the text and speech of the first ``end``
        items of ``tally`` (the context a response was sent)."""
        counts, kinds = tally.counts[:end], tally.kinds[:end]
        self._sent_text = sum(counts)
        user = sum(c for k, c in zip(kinds, counts) if k == MESSAGE | USER_TURN)
        agent = sum(c for k, c in zip(kinds, counts) if k == MESSAGE)  # the agent's speech
        self._sent_spoken = (user, agent)

    def _pair_usage(self, billed: int) -> None:
        """Learn what the provider bills per transcript token from what it reported for
        the context last sent: the growth of its count over the growth of the text count
        between two responses (the new turns; audio is billed per second)."""
        text = self._sent_text
        if text is None:
            return
        previous, self._usage_pair = self._usage_pair, (text, billed)
        if previous is None or text <= previous[0] or billed < previous[1]:
            return
        self._speech.observe_ratio((billed - previous[1]) / (text - previous[0]))

    def _outside_tokens(self, sent: Tally) -> int:
        """What the model is sent besides the items ``sent`` tallies: the tool definitions,
        and on a realtime session the instructions (not an item there). Counted once per
        change."""
        agent = self._agent
        if agent is None:
            return 0
        tools = list(agent.tools)
        has_instructions = any(kind & INSTRUCTION for kind in sent.kinds)
        instructions = "" if has_instructions else str(agent.instructions)
        key = (instructions, tuple(id(t) for t in tools))
        if self._outside is None or self._outside[0] != key:
            total = tools_tokens(tools, self._counter) + self._counter.count_text(instructions)
            self._outside = (key, total)
        return self._outside[1]

    def _planning_counter(self) -> TokenCounter:
        """The counter in the units the trigger used (the server's, when it reported more)."""
        self._scale = 1.0
        server = self._stats.server_input_tokens
        if server is None or self._backend is None:
            return self._counter
        text = self._counter.count(self._backend.read_local())
        if server > text > 0:
            self._scale = server / text
        return self._counter.scaled(self._scale)

    def _quick_measure(self, chat_ctx: llm.ChatContext) -> int:
        """``_measure``, but on the reply path: when the context only grew since the last
        count (same list, more items), count just the new items. Earlier items filled in
        place (a reply's text) are caught by a full recount every 16th time and before
        any plan, which always recounts."""
        items = chat_ctx.items
        seen = self._quick
        if seen is not None and seen[0] is items and seen[1] <= len(items) and seen[3] < 16:
            text = seen[2] + sum(self._counter.count_item(i) for i in items[seen[1]:])
            self._quick = (items, len(items), text, seen[3] + 1)
            return self._note(text)
        tokens = self._counter.count(chat_ctx)
        self._quick = (items, len(items), tokens, 0)
        return self._note(tokens)

    def _note(self, tokens: int) -> int:
        if self._stats.server_input_tokens is not None:
            # the server sees audio the text counter cannot: its figure is the truth
            tokens = max(tokens, self._stats.server_input_tokens)
        self._stats.tokens = tokens
        self._stats.peak_tokens = max(self._stats.peak_tokens, tokens)
        limit = self._settings.max_tokens
        if tokens <= limit:
            self._over = False
        elif not self._over:
            self._over = True
            self._stats.over_budget += 1
            logger.warning(
                "context over budget", extra={"tokens": tokens, "max_tokens": limit}
            )
            self.emit("over_budget", OverBudgetEvent(tokens, limit, tokens - limit, self.busy))
        return tokens

    def _measure(self, chat_ctx: llm.ChatContext) -> int:
        tokens = self._counter.count(chat_ctx)
        self._quick = (chat_ctx.items, len(chat_ctx.items), tokens, 0)
        return self._note(tokens)

    async def _round(self, *, force: bool) -> CompactionResult:
        if self._backend is None or self._state is not _State.ATTACHED:
            return self._skip("not_running", 0)
        if self._round_lock.locked():
            return self._skip("already_running", self._stats.tokens)
        async with self._round_lock:
            return await self._compact_once(force=force)

    async def _compact_once(self, *, force: bool) -> CompactionResult:
        assert self._backend is not None
        live = self._live()
        tokens = self._measure(self._backend.read_local())
        if not force and not self._fires(tokens, live.items):
            return self._skip("below_trigger", tokens)
        if not self._backend.mutable:
            said, self._said_append_only = self._said_append_only, True
            why = getattr(self._backend, "append_only_reason", None) or ""
            # said once: a compact() after a triggered round said it gets the result only
            return self._skip("append_only_model", tokens, detail=why, emit=not said)
        if not self._backend.is_running():
            return self._skip("agent_inactive", tokens)
        # the cost rule priced a cut down to the tail window: its round cuts that deep
        policy = self._deep_policy if not force and self._cost_due else self._policy
        try:
            plan = policy.plan(
                live, counter=self._planning_counter(), protected_ids=self._backend.protected_ids()
            )
        except Exception as e:  # noqa: BLE001 - a custom policy's bug is a failed round
            return self._fail(utils.shortuuid("compaction_"), "plan", e)
        if plan is None:
            self._reset_cost_rule()  # nothing to fold: a new cycle starts
            return self._skip("nothing_to_compact", tokens)
        resting = plan.action == "summarize" and time.monotonic() < self._summarizer_rests_until
        if resting and plan.fallback != "trim":
            return self._skip("summarizer_resting", tokens)
        request_id = utils.shortuuid("compaction_")
        started = time.monotonic()
        start = CompactionStartedEvent(request_id, plan.action, tokens, len(plan.remove_ids))
        self.emit("compaction_started", start)
        # current while the round runs: the summarizer's llm_request span nests in it
        with compaction_span(start) as span:
            try:
                result = await self._carry_out(live, plan, request_id, tokens, started, resting)
            except asyncio.CancelledError:
                if (task := asyncio.current_task()) is not None and task in self._abandoned:
                    span.record(self._abandoned[task].event)
                raise
            span.record(result.event)
        return result

    async def _carry_out(
        self,
        live: llm.ChatContext,
        plan: CompactionPlan,
        request_id: str,
        tokens: int,
        started: float,
        resting: bool,
    ) -> CompactionResult:
        """The started round: write the summary (or fall back to a trim), then apply."""
        if resting:  # the summarizer failed lately: the fallback runs at once
            return await self._fallback_trim(request_id, tokens, started, "summarizer_failed")
        planned = await self._applier_or_raise().digests.taken(live, plan.remove_ids)
        summary: llm.ChatMessage | None = None
        usage = (0, 0)
        try:
            if plan.action == "summarize":
                try:
                    summary, usage = await self._summarize_within_budget(live, plan, request_id)
                except SummarizerError as e:
                    self._summarizer_failed()
                    if plan.fallback != "trim":
                        return self._fail(request_id, "summarize", e)
                    return await self._fallback_trim(
                        request_id, tokens, started, "summarizer_failed", e
                    )
                except _SummaryTooLate:
                    return await self._fallback_trim(request_id, tokens, started, "over_budget")
                self._summarizer_failures = 0
            outcome = await self._applier_or_raise().apply(
                plan,
                summary=summary,
                planned_fingerprints=planned,
                before_delete=self._archiver(request_id, summary),
            )
        except asyncio.CancelledError as e:
            failed = self._fail(request_id, "summarize" if summary is None else "insert", e)
            if (task := asyncio.current_task()) is not None:
                self._abandoned[task] = failed  # what compact() returns for it
            raise
        return self._report(outcome, request_id, tokens, summary, usage, started)

    def _summarizer_failed(self) -> None:
        """Rest the summarizer: ``retry_after_s``, doubled per failure in a row, capped."""
        config = self._settings.summarizer
        self._summarizer_failures += 1
        rest = min(
            config.max_retry_after_s,
            config.retry_after_s * 2 ** min(self._summarizer_failures - 1, 32),
        )
        self._summarizer_rests_until = time.monotonic() + rest
        logger.warning(
            "the summarizer failed; resting it",
            extra={"failures_in_a_row": self._summarizer_failures, "rest_s": rest},
        )

    async def _summarize_within_budget(
        self, live: llm.ChatContext, plan: CompactionPlan, request_id: str
    ) -> tuple[llm.ChatMessage, tuple[int, int]]:
        """``_summarize``; on a pipeline, given up (``_SummaryTooLate``) when a request that
        would go out over ``max_tokens`` waited ``first_reply_wait_s`` for it
        (``_before_request``): a trim lands at once there. On a realtime model a trim waits
        for the same quiet moment the summary would, so the summary is waited for."""
        assert self._backend is not None
        if self._backend.two_step:
            return await self._summarize(live, plan, request_id)
        self._summary_too_late.clear()
        summarizing = asyncio.ensure_future(self._summarize(live, plan, request_id))
        over = asyncio.ensure_future(self._summary_too_late.wait())
        try:
            await asyncio.wait({summarizing, over}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            over.cancel()
            if not summarizing.done():
                summarizing.cancel()
                await asyncio.gather(summarizing, return_exceptions=True)
        if summarizing.cancelled():
            raise _SummaryTooLate
        return summarizing.result()

    async def _fallback_trim(
        self,
        request_id: str,
        tokens: int,
        started: float,
        reason: FallbackReason,
        error: BaseException | None = None,
    ) -> CompactionResult:
        assert self._backend is not None
        live = self._live()
        protected = self._backend.protected_ids()
        plan = self._trim.plan(live, counter=self._planning_counter(), protected_ids=protected)
        if plan is None:
            return self._skip("nothing_to_compact", tokens, request_id)
        outcome = await self._applier_or_raise().apply(
            plan,
            summary=None,
            planned_fingerprints=await self._applier_or_raise().digests.taken(
                live, plan.remove_ids
            ),
            before_delete=self._archiver(request_id, None),
        )
        return self._report(
            outcome, request_id, tokens, None, (0, 0), started, fallback=(reason, error)
        )

    async def _summarize(
        self, live: llm.ChatContext, plan: CompactionPlan, request_id: str
    ) -> tuple[llm.ChatMessage, tuple[int, int]]:
        summarizer_llm = self._resolve_summarizer_llm()
        wanted = set(plan.remove_ids)
        # no copies: the summarizer reads the span before its request, and an item that
        # changed since the plan is kept at the apply (its fingerprint tells)
        span = [i for i in live.items if i.id in wanted]
        previous = [i for i in span if isinstance(i, llm.ChatMessage) and is_summary(i)]
        items = [i for i in span if not is_summary(i)]
        summarizer = Summarizer(summarizer_llm, self._settings.summarizer, counter=self._counter)
        result = await summarizer.summarize(items, previous_summaries=previous, request_id=request_id)
        self._stats.summarizer_input_tokens += result.input_tokens
        self._stats.summarizer_output_tokens += result.output_tokens
        message = summary_message(
            result,
            role=self._summary_role(),
            created_at=time.time(),
            folded_ids=plan.remove_ids,
            note=RECALL_NOTE if self._recall_tool is not None else None,
        )
        return message, (result.input_tokens, result.output_tokens)

    def _archiver(
        self, request_id: str, summary: llm.ChatMessage | None
    ) -> BeforeDelete | None:
        """Writes the plan's items to the archive, off the event loop when the archive can;
        a failure aborts the delete."""
        archive = self._archive
        if archive is None:
            return None

        async def write(plan: CompactionPlan) -> None:
            wanted = set(plan.remove_ids)
            items = [i for i in self._live().items if i.id in wanted]
            await archives.store(
                archive,
                self.session_id,
                items,
                compaction_id=request_id,
                summary_id=summary.id if summary is not None else None,
                summary_text=summary.text_content if summary is not None else None,
            )

        return write

    def _live(self) -> llm.ChatContext:
        """The live union of the local context and the server's (server order)."""
        assert self._backend is not None
        return llm.ChatContext(live_union(self._backend.read_local(), self._backend.read_remote()))

    def _applier_or_raise(self) -> Applier:
        if self._applier is None:
            raise AttachError("The ContextManager is not attached to an agent.")
        return self._applier

    # -- summarizer and roles ------------------------------------------------------------

    def _needs_summarizer(self) -> bool:
        return self._settings.strategy != "trim"

    def _check_summarizer_for(self, model: object) -> None:
        if (
            self._needs_summarizer()
            and self._summarizer_llm is None
            and isinstance(model, llm.RealtimeModel)
        ):
            raise AttachError(
                "A realtime model cannot write summaries: pass summarizer_llm= (any text"
                " llm.LLM, e.g. openai.LLM(model='gpt-4o-mini')) or use the 'trim' policy."
            )

    def _resolve_summarizer_llm(self) -> llm.LLM:
        if self._summarizer_llm is not None:
            return self._summarizer_llm
        model = self._agent.llm if self._agent is not None else None
        if not isinstance(model, llm.LLM) and self._session is not None:
            model = self._session.llm
        if isinstance(model, llm.LLM):
            return model
        raise SummarizerError(
            "no summarizer LLM: the session's model is not a text LLM (a realtime model cannot"
            " summarize); pass summarizer_llm= to ContextManager"
        )

    def _summary_role(self) -> llm.ChatRole:
        if self._settings.summarizer.role is not None:
            return self._settings.summarizer.role
        return "system" if self._backend is not None and self._backend.two_step else "assistant"

    # -- reporting -----------------------------------------------------------------------

    def _skip(
        self,
        reason: SkipReason,
        tokens: int,
        request_id: str | None = None,
        detail: str = "",
        *,
        emit: bool = True,
    ) -> CompactionResult:
        self._stats.skipped += 1
        event = CompactionSkippedEvent(reason, tokens, request_id, detail)
        if reason not in ("below_trigger", "already_running"):
            logger.debug("compaction skipped", extra={"reason": reason, "tokens": tokens})
        if emit:
            self.emit("compaction_skipped", event)
        return CompactionResult("skipped", event)

    def _fail(
        self,
        request_id: str,
        stage: FailureStage,
        error: BaseException,
        removed_ids: tuple[str, ...] = (),
        summary_id: str | None = None,
    ) -> CompactionResult:
        self._stats.failed += 1
        event = CompactionFailedEvent(
            request_id, stage, error, type(error).__name__, removed_ids, summary_id
        )
        logger.warning(
            "compaction failed part-way; some planned items are gone (archived)"
            if removed_ids
            else "compaction failed after its summary was inserted; the span was kept"
            if summary_id is not None
            else "compaction failed; the context was left as it was",
            extra={
                "stage": stage,
                "error_type": type(error).__name__,
                "request_id": request_id,
                "removed": len(removed_ids),
            },
        )
        logger.debug("compaction failure detail", exc_info=error, extra={"request_id": request_id})
        self.emit("compaction_failed", event)
        return CompactionResult("failed", event)

    def _report(
        self,
        outcome: ApplyOutcome,
        request_id: str,
        tokens_before: int,
        summary: llm.ChatMessage | None,
        usage: tuple[int, int],
        started: float,
        *,
        fallback: tuple[FallbackReason, BaseException | None] | None = None,
    ) -> CompactionResult:
        if outcome.status == "skipped":
            assert outcome.skip_reason is not None
            return self._skip(outcome.skip_reason, tokens_before, request_id)
        if outcome.status == "failed":
            assert outcome.stage is not None and outcome.error is not None
            inserted = summary.id if summary is not None and outcome.summary_inserted else None
            return self._fail(
                request_id, outcome.stage, outcome.error, outcome.removed_ids, inserted
            )
        assert outcome.plan is not None and self._backend is not None
        self._stats.server_input_tokens = None  # stale until the next response reports
        self._reset_cost_rule()
        tokens_after = self._measure(self._backend.read_local())
        high = self._settings.high_water_tokens
        if high is not None:
            # in the units the trigger will read next (the server's, when it reports),
            # capped three quarters of the way to the budget (see _fires). What arrived
            # while the summary was written is growth since the plan, not the compaction's
            # doing: it counts toward the next round, which may then start at once
            grew = max(0, outcome.plan.tokens_before - tokens_before)
            left = int(max(0, tokens_after - grew) * self._scale)
            gap = max(1, high - self._settings.effective_target_tokens)
            limit = self._settings.max_tokens - (self._settings.max_tokens - high) // 4
            near = high - (self._settings.max_tokens - high) // 2
            self._rearm_at = None if left < near else min(left + gap, limit)
        tokens_before = outcome.plan.tokens_before  # the live count the apply started from
        self._counter.forget(set(outcome.plan.remove_ids))
        event = CompactionAppliedEvent(
            request_id=request_id,
            action=outcome.plan.action,
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            removed_ids=outcome.plan.remove_ids,
            summary_id=summary.id if summary is not None else None,
            summary_tokens=self._counter.count_item(summary) if summary is not None else 0,
            summarizer_input_tokens=usage[0],
            summarizer_output_tokens=usage[1],
            kept_ids=outcome.kept_ids,
            duration_s=time.monotonic() - started,
            fallback=fallback is not None,
            fallback_reason=fallback[0] if fallback is not None else None,
            fallback_error=fallback[1] if fallback is not None else None,
        )
        self._stats.compactions += 1
        self._stats.items_removed += len(outcome.plan.remove_ids)
        self._stats.tokens_saved += max(0, tokens_before - tokens_after)
        logger.info(
            "context compacted",
            extra={
                "action": event.action,
                "tokens_before": tokens_before,
                "tokens_after": tokens_after,
                "items_removed": len(event.removed_ids),
                "request_id": request_id,
            },
        )
        if summary is not None:
            logger.debug(
                "summary written",
                extra={"request_id": request_id, "lk.pii.summary": summary.text_content},
            )
        self.emit("compaction_applied", event)
        return CompactionResult("applied", event)


class _SummaryTooLate(Exception):
    """A request waited for the summary in vain: the context is over ``max_tokens``."""


def _turn_ended(items: Sequence[llm.ChatItem]) -> bool:
    """Whether the agent's reply closes the context (no user turn waits for one, no tool
    call for its follow-up): the moment the cost rule compacts, so a turn of several
    responses is folded whole, its reply included."""
    for item in reversed(items):
        if is_instruction(item) or is_summary(item):
            continue
        return is_reply(item)
    return False


def _is_output(item: llm.ChatItem) -> bool:
    """What a response produces: the agent's reply or a tool call it makes."""
    return isinstance(item, llm.FunctionCall) or is_reply(item)


def _model_of(agent: Agent) -> object:
    """The agent's own model, else its session's once it runs (``None`` before)."""
    if utils.is_given(agent.llm):
        return agent.llm
    activity = getattr(agent, "_activity", None)
    return activity.session.llm if activity is not None else None


def _quotes(item: llm.ChatItem) -> list[str]:
    """The texts of ``item`` a summary may quote: all of it, and each sentence or line."""
    if isinstance(item, llm.ChatMessage):
        text = item.text_content or ""
    elif isinstance(item, llm.FunctionCall):
        text = item.arguments
    elif isinstance(item, llm.FunctionCallOutput):
        text = item.output
    else:
        return []
    return [text, *_sentences(text)]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_SHORTEST_QUOTE = 12
"""Characters: a shorter sentence ("Yes, please.") is too common to blank everywhere."""


def _sentences(text: str) -> list[str]:
    """The sentences and lines of ``text`` long enough to be a quote of it."""
    parts = (p.strip() for p in _SENTENCE_END.split(text))
    return [p for p in parts if len(p) >= _SHORTEST_QUOTE]


def _spoken(row: ArchivedItem) -> str:
    """An archived call's arguments or output's text, without the name the archive adds."""
    if row.kind == "function_call_output":
        return row.text.partition(": ")[2]
    if row.kind == "function_call":
        return row.text.partition("(")[2].removesuffix(")")
    return row.text
