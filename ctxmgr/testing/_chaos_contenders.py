"""Who compacts in a chaos schedule: ctxmgr's ContextManager, the naive summarizer, or nobody.

Each contender records the ids it removed on purpose (folded into a summary or
trimmed as old): the checker's ``item_lost`` for those is a fold, not a loss.
Items a contender deleted only because it never saw them are not recorded, so
their loss counts.
"""

from __future__ import annotations

import asyncio
from typing import Literal, Protocol

from livekit.agents import Agent, llm

from ..events import CompactionAppliedEvent
from ..manager import ContextManager
from ..settings import Settings, TriggerSettings
from ._chaos_schedule import Compaction
from .fake_llm import FakeLLM

__all__ = [
    "CONTENDERS",
    "ContenderName",
    "CtxmgrContender",
    "NaiveContender",
    "NoCompaction",
    "naive_summarize",
]

ContenderName = Literal["ctxmgr", "naive", "none"]
CONTENDERS: tuple[ContenderName, ...] = ("ctxmgr", "naive", "none")


class SummarizerFailed(RuntimeError):
    """The scripted summarizer failure."""


async def naive_summarize(
    agent: Agent,
    *,
    summarizing_for: float,
    keep_last: int = 2,
    fail: bool = False,
    read_as_old: set[str] | None = None,
) -> None:
    """Read the local context, summarize the old part, replace it with summary + tail.

    The summarizer users wrote before ctxmgr (tests/emulator/test_emulator_race.py),
    unchanged but for two hooks: ``fail`` raises where its LLM call would, and
    ``read_as_old`` receives the ids it meant to fold.
    """
    chat_ctx = agent.chat_ctx.copy()
    old, tail = chat_ctx.items[:-keep_last], chat_ctx.items[-keep_last:]
    await asyncio.sleep(summarizing_for)  # the summarizer LLM call
    if fail:
        raise SummarizerFailed("the summarizer LLM failed")
    if read_as_old is not None:
        read_as_old.update(i.id for i in old)
    folded = " / ".join(i.text_content or "" for i in old if i.type == "message")
    summary = llm.ChatMessage(role="system", content=[f"Summary so far: {folded}"])
    await agent.update_chat_ctx(llm.ChatContext([summary, *tail]))


class Contender(Protocol):
    """What the runner asks of a contender."""

    name: ContenderName
    folded_ids: set[str]
    """Ids removed on purpose."""
    compactions: int
    """Compactions that reached the server."""

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
        self.compactions = 0

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
        self.compactions = 0

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
            )
        except SummarizerFailed:
            return
        except llm.RealtimeError:
            return  # "update_chat_ctx timed out": the naive code would log it and go on
        self.compactions += 1

    def busy(self) -> bool:
        return False

    async def aclose(self) -> None:
        return None


class CtxmgrContender:
    """ContextManager with a small tail, attached to every agent of the session."""

    name: ContenderName = "ctxmgr"

    def __init__(self, compaction: Compaction, *, quiescence_timeout_s: float = 2.0) -> None:
        self._compaction = compaction
        self._quiescence_timeout_s = quiescence_timeout_s
        fail = SummarizerFailed("the summarizer LLM failed") if compaction.summarizer_fails else None
        self.summarizer = FakeLLM(delay_s=compaction.summarizer_delay, fail_with=fail)
        self.managers: dict[int, ContextManager] = {}
        self.folded_ids: set[str] = set()
        self.applied: list[CompactionAppliedEvent] = []

    def _settings(self, agent: Agent) -> Settings:
        c = self._compaction
        trigger = TriggerSettings(budget_fraction=None, items=4096)
        if c.auto_trigger is not None:
            trigger = TriggerSettings(budget_fraction=None, items=len(agent.chat_ctx.items) + c.auto_trigger)
        return Settings(
            policy="realtime",
            strategy=c.strategy,  # type: ignore[arg-type]
            max_tokens=8000,
            target_tokens=10,  # deep: fold everything the tail and the guard allow
            keep_last_turns=c.keep_last_turns,
            trigger=trigger,
            quiescence_timeout_s=self._quiescence_timeout_s,
        )

    def attach(self, agent: Agent) -> None:
        manager = ContextManager(self._settings(agent), summarizer_llm=self.summarizer)
        manager.on("compaction_applied", self._on_applied)
        self.managers[id(agent)] = manager.attach(agent)

    def _on_applied(self, event: CompactionAppliedEvent) -> None:
        self.applied.append(event)
        self.folded_ids.update(event.removed_ids)

    @property
    def compactions(self) -> int:
        return len(self.applied)

    async def compact(self, agent: Agent) -> None:
        manager = self.managers.get(id(agent))
        if manager is not None:
            await manager.compact(force=True)

    def busy(self) -> bool:
        return any(m._task is not None and not m._task.done() for m in self.managers.values())

    async def aclose(self) -> None:
        for manager in self.managers.values():
            await manager.aclose()
        await self.summarizer.aclose()


def make_contender(name: ContenderName, compaction: Compaction) -> Contender:
    """The contender called ``name`` for this schedule's compaction."""
    if name == "ctxmgr":
        return CtxmgrContender(compaction)
    if name == "naive":
        return NaiveContender(compaction)
    return NoCompaction(compaction)
