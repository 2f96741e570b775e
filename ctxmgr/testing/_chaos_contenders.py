"""Who compacts in a chaos schedule.

- ``ctxmgr``: a ContextManager (small tail, deep cut) compacts when scheduled, and
  when its trigger fires if the schedule arms it;
- ``naive``: the summarizer users wrote before ctxmgr, from the local copy, in one update;
- ``guarded``: that same naive summarizer, unchanged, with a ContextManager attached
  that never compacts itself: its update passes the manager's guard (DESIGN.md,
  "Every update goes through the guard");
- ``none``: nobody compacts, the control: what it shows belongs to the scheduler or to livekit.

Each records the ids it removed on purpose and what became of each compaction
(``outcomes``: ``applied``, ``skipped:<reason>``, ``failed:<stage>``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Literal, Protocol

from livekit.agents import Agent, llm

from .._exceptions import RealtimeSyncError
from ..archive import ArchivedItem
from ..archive import Compaction as ArchivedCompaction
from ..guard import TailWindow, frozen_boundary, guard_plan
from ..events import CompactionAppliedEvent, CompactionFailedEvent, CompactionSkippedEvent
from ..manager import ContextManager
from ..plan import CompactionPlan, PlanAction
from ..policy import Policy, policy_from_settings
from ..settings import Settings, SummarizerSettings, TriggerSettings
from ._chaos_schedule import Compaction
from .fake_llm import FakeLLM
from ..tokens import TokenCounter

__all__ = [
    "CONTENDERS",
    "Contender",
    "ContenderName",
    "CtxmgrContender",
    "GuardedNaiveContender",
    "NaiveContender",
    "NoCompaction",
    "SummarizerFailed",
    "make_contender",
    "naive_summarize",
]

ContenderName = Literal["ctxmgr", "naive", "guarded", "none"]
CONTENDERS: tuple[ContenderName, ...] = ("ctxmgr", "naive", "guarded", "none")


class SummarizerFailed(RuntimeError):
    """The scripted summarizer failure."""


async def naive_summarize(
    agent: Agent,
    *,
    summarizing_for: float,
    keep_last: int = 2,
    fail: bool = False,
    read_as_old: set[str] | None = None,
    wrote: list[str] | None = None,
) -> None:
    """Read the local context, summarize the old part, replace it with summary + tail.

    The summarizer users wrote before ctxmgr (tests/emulator/test_emulator_race.py),
    unchanged but for three hooks: ``fail`` raises where its LLM call would,
    ``read_as_old`` receives the ids it meant to fold and ``wrote`` its summary text.
    """
    chat_ctx = agent.chat_ctx.copy()
    split = len(chat_ctx.items) - keep_last  # keep_last 0: no tail, everything is old
    old, tail = chat_ctx.items[:split], chat_ctx.items[split:]
    await asyncio.sleep(summarizing_for)  # the summarizer LLM call
    if fail:
        raise SummarizerFailed("the summarizer LLM failed")
    if read_as_old is not None:
        read_as_old.update(i.id for i in old)
    folded = " / ".join(i.text_content or "" for i in old if i.type == "message")
    summary = llm.ChatMessage(role="system", content=[f"Summary so far: {folded}"])
    if wrote is not None:
        wrote.append(summary.text_content or "")
    await agent.update_chat_ctx(llm.ChatContext([summary, *tail]))


class ArchiveFailed(OSError):
    """Raised by a :class:`WatchedArchive` told to fail."""


class WatchedArchive:
    """The harness's own archive: remembers every item it was handed (ids, whether or not
    they have text), and raises on its first write when told to (a full disk)."""

    def __init__(self, *, fail_first: bool = False) -> None:
        self.received: set[str] = set()
        self._fail_next = fail_first

    def write(
        self,
        session_id: str,
        items: Sequence[llm.ChatItem],
        *,
        compaction_id: str,
        summary_id: str | None,
        summary_text: str | None = None,
    ) -> int:
        if self._fail_next:
            self._fail_next = False
            raise ArchiveFailed("the archive could not write")
        self.received.update(i.id for i in items)
        return len(items)

    def search(self, session_id: str, query: str, *, limit: int = 3) -> list[ArchivedItem]:
        return []

    def items(self, session_id: str) -> list[ArchivedItem]:
        return []

    def compactions(self, session_id: str) -> list[ArchivedCompaction]:
        return []

    def close(self) -> None:
        pass


class Contender(Protocol):
    """What the runner asks of a contender."""

    name: ContenderName
    folded_ids: set[str]
    """Ids removed on purpose."""
    summaries: list[str]
    """The text of every summary its summarizer returned (the ledger looks for it)."""
    outcomes: list[str]
    """What became of each compaction: ``applied``, ``skipped:<reason>``, ``failed:<stage>``."""
    unconfirmed: set[str]
    """Ids its failure reports named as sent but unconfirmed (``RealtimeSyncError``)."""
    undeleted: set[str]
    """Ids its failure reports named as deleted perhaps, though the mirror still lists
    them (``RealtimeSyncError.undeleted_ids``: the acknowledgement never came)."""

    def named(self) -> dict[str, bool]:
        """Ids an applied compaction removed: True when summarized, False when trimmed."""

    def reported(self) -> tuple[frozenset[str], frozenset[str]]:
        """What its applied compactions said they did: ids removed, summary ids inserted."""

    def attach(self, agent: Agent) -> None:
        """Start managing ``agent`` (the first one, and each handoff target)."""

    async def compact(self, agent: Agent) -> None:
        """Run the compaction on ``agent``; never raises for a scripted failure."""

    def busy(self) -> bool:
        """True while a compaction (scheduled or triggered) is in flight."""

    async def aclose(self) -> None:
        """Release everything it opened."""


class NoCompaction:
    """The control: nobody compacts. Its violations belong to the scheduler or to livekit."""

    name: ContenderName = "none"

    def __init__(self, compaction: Compaction) -> None:
        self.folded_ids: set[str] = set()
        self.summaries: list[str] = []
        self.outcomes: list[str] = []
        self.unconfirmed: set[str] = set()
        self.undeleted: set[str] = set()

    def named(self) -> dict[str, bool]:
        return {}

    def reported(self) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset(), frozenset()

    def attach(self, agent: Agent) -> None:
        return None

    async def compact(self, agent: Agent) -> None:
        return None

    def busy(self) -> bool:
        return False

    async def aclose(self) -> None:
        return None


class NaiveContender:
    """The naive summarizer: reads the local copy, writes summary + tail in one update."""

    name: ContenderName = "naive"

    def __init__(self, compaction: Compaction) -> None:
        self._compaction = compaction
        self.folded_ids: set[str] = set()
        self.summaries: list[str] = []
        self.outcomes: list[str] = []
        self.unconfirmed: set[str] = set()
        self.undeleted: set[str] = set()
        self._applied: set[str] = set()

    def named(self) -> dict[str, bool]:
        return dict.fromkeys(self._applied, True)

    def reported(self) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset(self._applied), frozenset()

    def attach(self, agent: Agent) -> None:
        return None

    async def compact(self, agent: Agent) -> None:
        c = self._compaction
        try:
            await naive_summarize(
                agent,
                summarizing_for=c.summarizer_delay,
                keep_last=2 * c.keep_last_turns,
                fail=c.summarizer_fails,
                read_as_old=self.folded_ids,
                wrote=self.summaries,
            )
        except SummarizerFailed:
            self.outcomes.append("failed:summarize")
        except (llm.RealtimeError, RuntimeError):
            # "update_chat_ctx timed out", or the agent was handed off meanwhile:
            # the naive code would log it and go on
            self.outcomes.append("failed:update")
        else:
            self._applied.update(self.folded_ids)
            self.outcomes.append("applied")

    def busy(self) -> bool:
        return False

    async def aclose(self) -> None:
        return None


class PlanSplitsAPair:
    """A policy that folds everything before the newest function output whose call came
    earlier (before the turn tail), item by item: its plan ends between the call and its
    output, as a custom policy's may, and only the guard's pair closure keeps the call."""

    def __init__(self, settings: Settings) -> None:
        self._base = policy_from_settings(settings)

    @property
    def name(self) -> str:
        return "splits_a_pair"

    @property
    def tail(self) -> TailWindow:
        return self._base.tail

    @property
    def summary_tokens(self) -> int:
        return self._base.summary_tokens

    def plan(
        self,
        chat_ctx: llm.ChatContext,
        *,
        counter: TokenCounter,
        protected_ids: Collection[str] = (),
    ) -> CompactionPlan | None:
        items = list(chat_ctx.items)
        counts = counter.count_items(items)
        turns = frozen_boundary(items, counts, self.tail).index
        calls = {i.call_id: n for n, i in enumerate(items[:turns]) if i.type == "function_call"}
        outputs = [
            n
            for n, i in enumerate(items[:turns])
            if i.type == "function_call_output" and calls.get(i.call_id, n) < n
        ]
        if not outputs:
            return self._base.plan(chat_ctx, counter=counter, protected_ids=protected_ids)
        action: PlanAction = "trim" if self._base.summary_tokens == 0 else "summarize"
        draft = CompactionPlan(action, tuple(i.id for i in items[: outputs[-1]]), None, 0, 0)
        return guard_plan(
            items,
            draft,
            counter=counter,
            tail=self.tail,
            protected_ids=protected_ids,
            summary_tokens=self.summary_tokens,
            counts=counts,
        ).plan


class CtxmgrContender:
    """ContextManager with a small tail and a deep cut, attached to every agent of the session."""

    name: ContenderName = "ctxmgr"

    def __init__(
        self,
        compaction: Compaction,
        *,
        quiescence_timeout_s: float = 2.0,
        keep_last_tokens: int = 0,
        plan_splits_a_pair: bool = False,
        archive_fails: bool = False,
    ) -> None:
        self._compaction = compaction
        self.archive = WatchedArchive(fail_first=archive_fails)
        """Shared by every manager of the session; the ledger reads what it received."""
        self._keep_last_tokens = 0 if plan_splits_a_pair else keep_last_tokens
        self._plan_splits_a_pair = plan_splits_a_pair
        self._quiescence_timeout_s = quiescence_timeout_s
        fail = (
            SummarizerFailed("the summarizer LLM failed") if compaction.summarizer_fails else None
        )
        self.summaries: list[str] = []
        self.summarizer = FakeLLM(
            self._verbatim_summary, delay_s=compaction.summarizer_delay, fail_with=fail
        )
        self.managers: dict[int, ContextManager] = {}
        self.folded_ids: set[str] = set()
        self.outcomes: list[str] = []
        self.unconfirmed: set[str] = set()
        self.undeleted: set[str] = set()
        self.applied: list[CompactionAppliedEvent] = []
        self.cut_short: list[CompactionFailedEvent] = []
        """Failed compactions that had removed some items (``removed_ids``)."""
        self.trimmed_unsure: set[str] = set()
        """Ids a failed trim's report named as perhaps deleted (``undeleted_ids``)."""

    def _verbatim_summary(self, chat_ctx: llm.ChatContext, tools: object) -> str:
        """The whole transcript it was sent, so every folded item is in the summary."""
        last = chat_ctx.items[-1]
        text = last.text_content if isinstance(last, llm.ChatMessage) else None
        self.summaries.append(text or "")
        return text or ""

    def named(self) -> dict[str, bool]:
        named = {i: False for event in self.cut_short for i in event.removed_ids}
        # a trim cut short whose report names items the server may have deleted (their
        # acknowledgement never came): dropped on purpose, and said so (seed 176)
        named.update(dict.fromkeys(self.trimmed_unsure, False))
        named.update(
            {i: event.summary_id is not None for event in self.applied for i in event.removed_ids}
        )
        return named

    def reported(self) -> tuple[frozenset[str], frozenset[str]]:
        removed = frozenset(i for event in self.applied for i in event.removed_ids)
        summaries = frozenset(e.summary_id for e in self.applied if e.summary_id is not None)
        return removed, summaries

    def _settings(self, agent: Agent, *, arm_trigger: bool) -> Settings:
        c = self._compaction
        items = 100_000  # effectively never
        if arm_trigger and c.auto_trigger is not None:
            items = len(agent.chat_ctx.items) + c.auto_trigger
        return Settings(
            policy="realtime",
            strategy=c.strategy,  # type: ignore[arg-type]
            max_tokens=8000,
            target_tokens=10,  # deep: fold everything the tail and the guard allow
            keep_last_turns=c.keep_last_turns,
            keep_last_tokens=self._keep_last_tokens,
            trigger=TriggerSettings(budget_fraction=None, items=items),
            quiescence_timeout_s=self._quiescence_timeout_s,
            # the verbatim summary is the whole span: never cut (the ledger finds each item)
            summarizer=SummarizerSettings(max_summary_tokens=8000),
        )

    def attach(self, agent: Agent, *, arm_trigger: bool = True) -> None:
        settings = self._settings(agent, arm_trigger=arm_trigger)
        policy = PlanSplitsAPair(settings) if self._plan_splits_a_pair else None
        manager = ContextManager(
            settings, summarizer_llm=self.summarizer, policy=policy, archive=self.archive
        )
        manager.on("compaction_applied", self._on_applied)
        manager.on("compaction_skipped", self._on_skipped)
        manager.on("compaction_failed", self._on_failed)
        self.managers[id(agent)] = manager.attach(agent)

    def _on_applied(self, event: CompactionAppliedEvent) -> None:
        self.applied.append(event)
        self.folded_ids.update(event.removed_ids)
        self.outcomes.append("applied")

    def _on_skipped(self, event: CompactionSkippedEvent) -> None:
        if event.reason not in ("below_trigger", "already_running"):
            self.outcomes.append(f"skipped:{event.reason}")

    def _on_failed(self, event: CompactionFailedEvent) -> None:
        if isinstance(event.error, RealtimeSyncError):
            self.unconfirmed.update(event.error.unconfirmed_ids)
            self.undeleted.update(event.error.undeleted_ids)
            if event.summary_id is None:
                self.trimmed_unsure.update(event.error.undeleted_ids)
        if event.removed_ids:
            self.cut_short.append(event)
        self.outcomes.append(f"failed:{event.stage}")

    async def compact(self, agent: Agent) -> None:
        manager = self.managers.get(id(agent))
        if manager is not None:
            await manager.compact(force=True)

    def busy(self) -> bool:
        return any(m.busy for m in self.managers.values())

    async def aclose(self) -> None:
        for manager in self.managers.values():
            await manager.aclose()
        await self.summarizer.aclose()


class GuardedNaiveContender(CtxmgrContender):
    """The naive summarizer, unchanged, on agents whose ``update_chat_ctx`` a manager guards."""

    name: ContenderName = "guarded"

    def __init__(self, compaction: Compaction) -> None:
        super().__init__(compaction)
        self._naive = NaiveContender(compaction)
        self.folded_ids = self._naive.folded_ids
        self.summaries = self._naive.summaries
        self.outcomes = self._naive.outcomes

    def named(self) -> dict[str, bool]:
        return self._naive.named()

    def reported(self) -> tuple[frozenset[str], frozenset[str]]:
        return self._naive.reported()

    def attach(self, agent: Agent, *, arm_trigger: bool = False) -> None:
        super().attach(agent, arm_trigger=False)  # the manager only guards: it never compacts

    async def compact(self, agent: Agent) -> None:
        await self._naive.compact(agent)


def make_contender(
    name: ContenderName,
    compaction: Compaction,
    *,
    keep_last_tokens: int = 0,
    plan_splits_a_pair: bool = False,
    archive_fails: bool = False,
) -> Contender:
    """The contender called ``name`` for this schedule's compaction (``keep_last_tokens``:
    ctxmgr's token tail; ``plan_splits_a_pair``: ``PlanSplitsAPair``; ``archive_fails``:
    ctxmgr's archive fails its first write)."""
    if name == "ctxmgr":
        return CtxmgrContender(
            compaction,
            keep_last_tokens=keep_last_tokens,
            plan_splits_a_pair=plan_splits_a_pair,
            archive_fails=archive_fails,
        )
    if name == "naive":
        return NaiveContender(compaction)
    if name == "guarded":
        return GuardedNaiveContender(compaction)
    return NoCompaction(compaction)
