"""Per-turn overhead of an attached manager in a real text-mode ``AgentSession``."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _data import BenchAgent, call_items, fmt_ratio, fmt_s, responder, user_text
from _markdown import Section, Target
from livekit.agents import AgentSession, llm

from ctxmgr import ContextManager, Settings
from ctxmgr.testing.fake_llm import FakeLLM

SIZES = ((100, 40), (1_000, 40), (10_000, 10))
"""(items in the context, measured turns per session)."""
TARGET_ITEMS = 1_000
TARGET_S = 1e-3
WARMUP_TURNS = 2


@dataclass
class _HandlerTimer:
    """Wraps the manager's session-event handler to add up its CPU time (this thread)."""

    calls: int = 0
    cpu_s: float = 0.0
    _handler: Callable[[Any], None] | None = field(default=None, repr=False)

    def install(self, manager: ContextManager) -> None:
        # before attach: the manager subscribes this instance attribute to the session
        self._handler = manager._on_session_activity

        def timed(ev: Any) -> None:
            assert self._handler is not None
            t0 = time.thread_time()
            self._handler(ev)
            self.cpu_s += time.thread_time() - t0
            self.calls += 1

        manager._on_session_activity = timed  # type: ignore[method-assign]

    def reset(self) -> None:
        self.calls, self.cpu_s = 0, 0.0


@dataclass
class _Result:
    start_items: int
    items: int
    turns: int
    cpu_plain: float
    cpu_managed: float
    wall_plain: float
    wall_managed: float
    handler_cpu_per_turn: float
    handler_calls_per_turn: float


def new_session() -> AgentSession:
    """A text-mode session on a scripted LLM: no audio, no VAD, no turn detector."""
    return AgentSession(
        llm=FakeLLM(responder), vad=None, turn_handling={"turn_detection": None}
    )


async def _measure(n: int, turns: int) -> _Result:
    plain = BenchAgent(chat_ctx=llm.ChatContext(call_items(n)[1:]))
    managed = BenchAgent(chat_ctx=llm.ChatContext(call_items(n)[1:]))
    # the trigger never fires: this is the cost of every turn, not of a compaction
    manager = ContextManager(
        Settings(policy="token-budget", max_tokens=1_000_000_000), summarizer_llm=FakeLLM()
    )
    timer = _HandlerTimer()
    timer.install(manager)
    manager.attach(managed)
    sessions = {"plain": new_session(), "managed": new_session()}
    await sessions["plain"].start(plain)
    await sessions["managed"].start(managed)
    cpu: dict[str, list[float]] = {"plain": [], "managed": []}
    wall: dict[str, list[float]] = {"plain": [], "managed": []}
    for t in range(WARMUP_TURNS + turns):
        if t == WARMUP_TURNS:
            timer.reset()
        # ABBA order, so that neither side always runs first
        order = ("plain", "managed") if t % 2 == 0 else ("managed", "plain")
        for name in order:
            c0, w0 = time.thread_time(), time.perf_counter()
            await sessions[name].run(user_input=user_text(n + t))
            c1, w1 = time.thread_time(), time.perf_counter()
            await asyncio.sleep(0)  # let the turn's last events land before the next one
            if t >= WARMUP_TURNS:
                cpu[name].append(c1 - c0)
                wall[name].append(w1 - w0)
    result = _Result(
        start_items=n,
        items=len(managed.chat_ctx.items),
        turns=turns,
        cpu_plain=statistics.median(cpu["plain"]),
        cpu_managed=statistics.median(cpu["managed"]),
        wall_plain=statistics.median(wall["plain"]),
        wall_managed=statistics.median(wall["managed"]),
        handler_cpu_per_turn=timer.cpu_s / turns,
        handler_calls_per_turn=timer.calls / turns,
    )
    for session in sessions.values():
        await session.aclose()
    await manager.aclose()
    return result


def section() -> Section:
    """Two sessions side by side, one with a manager, turns interleaved."""
    s = Section(
        title="Per-turn overhead in a real AgentSession",
        intro=(
            "Two text-mode `AgentSession`s on the same scripted `FakeLLM` responder, each agent"
            " preloaded with the same N-item call, one with a `ContextManager` attached (budget"
            " out of reach: no compaction, only the work every turn pays). Turns alternate between"
            " the two (ABBA). *manager handler* is the CPU time spent inside the manager's"
            " session-event handler, summed over the run and divided by turns: the overhead,"
            " measured directly. *Δ median turn* is the same overhead seen from outside (noisier)."
        ),
        header=(
            "items",
            "turns",
            "turn CPU, no manager",
            "turn CPU, manager",
            "Δ median turn CPU",
            "manager handler per turn",
            "handler calls per turn",
            "handler / turn without manager",
            "turn wall, no manager",
            "turn wall, manager",
        ),
    )
    results = [asyncio.run(_measure(n, turns)) for n, turns in SIZES]
    for r in results:
        s.rows.append(
            (
                f"{r.start_items:,} → {r.items:,}",
                str(r.turns),
                fmt_s(r.cpu_plain),
                fmt_s(r.cpu_managed),
                fmt_s(r.cpu_managed - r.cpu_plain),
                fmt_s(r.handler_cpu_per_turn),
                f"{r.handler_calls_per_turn:.1f}",
                fmt_ratio(r.handler_cpu_per_turn / r.cpu_plain),
                fmt_s(r.wall_plain),
                fmt_s(r.wall_managed),
            )
        )
    at_target = next(r for r in results if r.start_items == TARGET_ITEMS)
    s.targets.append(
        Target(
            "per-turn overhead at 1,000 items",
            "< 1 ms",
            f"{fmt_s(at_target.handler_cpu_per_turn)} (Δ median turn"
            f" {fmt_s(at_target.cpu_managed - at_target.cpu_plain)})",
            at_target.handler_cpu_per_turn < TARGET_S,
        )
    )
    s.notes += [
        "*items*: the preloaded call → the context after the measured turns (2-4 items a turn).",
        "The handler runs on every `conversation_item_added`, `function_tools_executed` and"
        " `agent_state_changed` (*handler calls per turn*). A state change returns at once"
        " unless a round is waiting to be retried; an item counts only the new items when the"
        " context only grew, and recounts it whole (O(items)) every 16th time.",
    ]
    return s
