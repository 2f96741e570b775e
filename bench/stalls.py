"""Event-loop stalls during a compaction: a 1 ms lag sampler beside a real session.

Every session of a worker shares one event loop: while ctxmgr holds it, no other
session hears, speaks or answers. A sampler task sleeps 1 ms at a time and records how
late it wakes (the loop's lag); each loop step a ctxmgr task runs, and each call of the
manager's session-event handler, is timed as well, which says which stalls are
ctxmgr's own.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _data import BenchAgent, call_items, fmt_s, user_text
from _markdown import Section, Target
from livekit.agents import AgentSession, llm
from turns import new_session

import ctxmgr
from ctxmgr import ContextManager, Settings, TokenCounter
from ctxmgr.testing.fake_llm import FakeLLM, FakeReply

SIZES = (340, 1_000, 3_000)
"""Items preloaded: a call of ~15 minutes (the default budget's trigger), ~1 hour, ~3 hours."""
TARGET_SIZES = (340, 1_000)
"""Where the target is checked (the longest call is shown for what it costs)."""
RUNS = 3
ARCHIVE = True
"""Runs of each variant per size, alternating; the table shows the median run."""
TURNS = 4
PAUSE_S = 0.1
SAMPLE_S = 1e-3
TARGET_S = 5e-3
SUMMARY = "Ana Lopez asked about order 4417; it is with DHL and arrives within two days."
SUMMARY_DELAY_S = 0.05
"""The stand-in summarizer answers after this, as a remote model would (its in-process
work is livekit's stream plumbing only)."""

_CTXMGR = Path(ctxmgr.__file__).parent
_TESTING = _CTXMGR / "testing"


@dataclass
class _Run:
    lags: list[tuple[float, float]] = field(default_factory=list)
    """(when the sampler went to sleep, how late it woke), seconds."""
    steps: list[tuple[float, float, float]] = field(default_factory=list)
    """(start, duration, CPU time) of each ctxmgr step and handler call."""
    windows: list[tuple[float, float]] = field(default_factory=list)
    """(start, end) of each compaction."""
    compactions: int = 0

    def max_lag(self) -> float:
        return max((lag for _, lag in self.lags), default=0.0)

    def p99_lag(self) -> float:
        lags = sorted(lag for _, lag in self.lags)
        return lags[int(0.99 * (len(lags) - 1))] if lags else 0.0

    def max_lag_compacting(self) -> float:
        return max(
            (lag for at, lag in self.lags if self._overlaps(at, at + SAMPLE_S + lag)), default=0.0
        )

    def longest_step(self, *, compacting: bool, cpu: bool = False) -> float:
        return max(
            (
                cpu_s if cpu else d
                for at, d, cpu_s in self.steps
                if not compacting or self._overlaps(at, at + d)
            ),
            default=0.0,
        )

    def _overlaps(self, start: float, end: float) -> bool:
        return any(start < b and a < end for a, b in self.windows)


@contextmanager
def _timed_steps(run: _Run) -> Iterator[None]:
    """Time every loop step that runs a task ctxmgr started (not its test fakes)."""
    original = asyncio.events.Handle._run

    def timed(handle: asyncio.Handle) -> None:
        owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
        code = getattr(owner.get_coro(), "cr_code", None) if isinstance(owner, asyncio.Task) else None
        path = Path(code.co_filename) if code is not None else None
        if path is None or _CTXMGR not in path.parents or _TESTING in path.parents:
            original(handle)
            return
        t0, c0 = time.perf_counter(), time.thread_time()
        original(handle)
        run.steps.append((t0, time.perf_counter() - t0, time.thread_time() - c0))

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]


def _timed_handler(manager: ContextManager, run: _Run) -> None:
    # before attach: the manager subscribes this instance attribute to the session
    handler = manager._on_session_activity

    def timed(ev: Any) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        handler(ev)
        run.steps.append((t0, time.perf_counter() - t0, time.thread_time() - c0))

    manager._on_session_activity = timed  # type: ignore[method-assign]


async def _sample(run: _Run, stop: asyncio.Event) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(SAMPLE_S)
        run.lags.append((t0, time.perf_counter() - t0 - SAMPLE_S))


async def _one_run(n: int, managed: bool) -> _Run:
    run = _Run()
    items = call_items(n)[1:]
    agent = BenchAgent(chat_ctx=llm.ChatContext(items))
    manager: ContextManager | None = None
    if managed:
        # the trigger (80% of the budget) sits one turn above the preloaded call
        tokens = TokenCounter().count(items)
        settings = Settings(policy="token-budget", max_tokens=int((tokens + 60) / 0.8), archive=ARCHIVE, recall=ARCHIVE)
        summarizer = FakeLLM(lambda _ctx, _tools: FakeReply(SUMMARY), delay_s=SUMMARY_DELAY_S)
        manager = ContextManager(settings, summarizer_llm=summarizer)
        manager.on("compaction_started", lambda _ev: run.windows.append((time.perf_counter(), 0.0)))
        for ending in ("compaction_applied", "compaction_failed", "compaction_skipped"):
            manager.on(ending, lambda _ev: _close_window(run))
        _timed_handler(manager, run)
        manager.attach(agent)
    session: AgentSession = new_session()
    await session.start(agent)
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample(run, stop))
    with _timed_steps(run):
        for t in range(TURNS):
            await session.run(user_input=user_text(n + t))
            await asyncio.sleep(PAUSE_S)
        if manager is not None:
            await manager.wait_idle()
            run.compactions = manager.stats.compactions
    stop.set()
    await sampler
    await session.aclose()
    if manager is not None:
        await manager.aclose()
    return run


def _close_window(run: _Run) -> None:
    if run.windows and run.windows[-1][1] == 0.0:
        run.windows[-1] = (run.windows[-1][0], time.perf_counter())


def _median(runs: list[_Run], figure: Any) -> float:
    return statistics.median(figure(r) for r in runs)


def section() -> Section:
    """Each size: the session alone, then with a manager that compacts, alternating."""
    s = Section(
        title="Event-loop stalls during a compaction",
        intro=(
            "One text-mode `AgentSession` (`FakeLLM`) preloaded with an N-item call, driven"
            f" through {TURNS} turns ({PAUSE_S:g} s apart), with a task beside it that sleeps"
            f" {SAMPLE_S * 1e3:g} ms at a time and records how late it wakes: the loop's lag,"
            " what every other session on the loop waits. *manager* attaches a `ContextManager`"
            " whose trigger the first turn crosses, so it compacts once (summary from a"
            f" stand-in that answers after {SUMMARY_DELAY_S * 1e3:g} ms, as a remote model would;"
            " archive in memory, the default). The variants alternate, each run in a fresh"
            f" event loop, {RUNS} runs each; the median run is shown. *ctxmgr step*: the"
            " longest loop step of a task ctxmgr runs, or call of its session-event handler,"
            " timed directly: the stalls that are ctxmgr's own."
        ),
        header=(
            "items",
            "variant",
            "compactions",
            "max lag",
            "p99 lag",
            "max lag while compacting",
            "max lag vs no manager",
            "longest ctxmgr step while compacting (CPU)",
            "same, wall",
            "longest ctxmgr step (CPU)",
        ),
    )
    worst_in_target = 0.0
    for n in SIZES:
        runs: dict[bool, list[_Run]] = {False: [], True: []}
        for _ in range(RUNS):
            for managed in (False, True):
                gc.collect()
                runs[managed].append(asyncio.run(_one_run(n, managed)))
        plain, managed_runs = runs[False], runs[True]
        base_max = _median(plain, _Run.max_lag)
        s.rows.append(
            (
                f"{n:,}", "no manager", "0",
                fmt_s(base_max), fmt_s(_median(plain, _Run.p99_lag)), "", "", "", "", "",
            )
        )
        compacting_step = _median(
            managed_runs, lambda r: r.longest_step(compacting=True, cpu=True)
        )
        managed_max = _median(managed_runs, _Run.max_lag)
        s.rows.append(
            (
                f"{n:,}",
                "manager",
                f"{_median(managed_runs, lambda r: r.compactions):g}",
                fmt_s(managed_max),
                fmt_s(_median(managed_runs, _Run.p99_lag)),
                fmt_s(_median(managed_runs, _Run.max_lag_compacting)),
                f"{(managed_max - base_max) * 1e3:+.1f} ms",
                fmt_s(compacting_step),
                fmt_s(_median(managed_runs, lambda r: r.longest_step(compacting=True))),
                fmt_s(_median(managed_runs, lambda r: r.longest_step(compacting=False, cpu=True))),
            )
        )
        if n in TARGET_SIZES:
            worst_in_target = max(worst_in_target, compacting_step)
    sizes = " and ".join(f"{n:,}" for n in TARGET_SIZES)
    s.targets.append(
        Target(
            f"longest loop stall from ctxmgr during a compaction ({sizes} items)",
            "< 5 ms",
            fmt_s(worst_in_target),
            worst_in_target < TARGET_S,
        )
    )
    s.notes += [
        "*max lag* and *p99 lag*: over the whole run (turns, pauses and, with a manager, the"
        " compaction); *while compacting*: the lags of the samples that overlap a compaction"
        " (from `compaction_started` to its result). The lag includes the whole loop: the"
        " session's own turns (livekit copies and sends the context each turn), garbage"
        " collection, and the machine's other load.",
        "*max lag vs no manager*: the median run's worst lag with a manager minus without:"
        " what the manager adds to the worst stall, seen from outside (a stall of ctxmgr's"
        " that is shorter than the session's own does not show here; the steps column shows it).",
        "Archive writes run in ctxmgr's archive thread: their time is in neither the loop's"
        " steps nor the lag, unless they hold the GIL (then the sampler sees it).",
    ]
    return s
