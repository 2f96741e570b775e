"""200 concurrent sessions in one process: CPU per turn and memory per attached manager.

A LiveKit worker runs many calls at once. Each variant runs in a fresh process (clean
RSS) and prints one JSON line; ``section()`` runs them one after the other::

    python bench/fleet.py --variant manager --sessions 200 --turns 5

Variants: ``none`` (no manager), ``manager`` (one attached per agent; the context stays
below the trigger), ``compacting`` (preloaded near the trigger: most sessions compact once,
summaries from a shared ``FakeLLM``). Memory per manager: the bytes reachable from it
and not from its agent or session (``retained_bytes``), and RSS from /proc/self/statm.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import subprocess
import sys
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _data import BenchAgent, call_items, fmt_ratio, fmt_s, rss_bytes, user_text
from _markdown import Section, Target
from livekit.agents import AgentSession, llm
from turns import new_session

from ctxmgr import ContextManager, Settings, TokenCounter
from ctxmgr.testing.fake_llm import FakeLLM

SESSIONS = 200
TURNS = 10
PRELOAD_ITEMS = 200
"""A call some 15 minutes in: ~8k tokens, below the default preset's 12.8k trigger."""
COMPACTING_PRELOAD_ITEMS = 340
"""Just past the default trigger: the first turns compact."""
PAUSE_S = 0.1
"""A caller's pause between turns (sleeping costs no CPU; it lets compactions land)."""
ROUNDS = 3
TARGET_RATIO = 1.03
"""Runs of the no-manager and manager variants each, alternating."""


@dataclass(frozen=True)
class Variant:
    """One run of the fleet."""

    label: str
    manager: bool
    preload: int


VARIANTS = {
    "none": Variant("no manager", manager=False, preload=PRELOAD_ITEMS),
    "manager": Variant("manager attached", manager=True, preload=PRELOAD_ITEMS),
    "compacting": Variant(
        f"manager, preloaded {COMPACTING_PRELOAD_ITEMS} items (compacts)",
        manager=True,
        preload=COMPACTING_PRELOAD_ITEMS,
    ),
}


async def run_variant(name: str, sessions: int, turns: int) -> dict[str, Any]:
    """Run one variant in this process; return its figures."""
    variant = VARIANTS[name]
    logging.getLogger("ctxmgr").setLevel(logging.ERROR)
    rss_start = rss_bytes()
    TokenCounter()  # loads the encoding once per process (shared by every counter)
    encoding_rss = rss_bytes() - rss_start

    preload = variant.preload
    agents = [
        BenchAgent(chat_ctx=llm.ChatContext(call_items(preload)[1:])) for _ in range(sessions)
    ]
    live: list[AgentSession] = [new_session() for _ in range(sessions)]
    await asyncio.gather(*(s.start(a) for s, a in zip(live, agents)))
    await asyncio.gather(*(s.run(user_input=user_text(0)) for s in live))  # warm-up turn
    gc.collect()
    rss_sessions = rss_bytes()

    managers: list[ContextManager] = []
    if variant.manager:
        summarizer = FakeLLM()  # one summarizer LLM for the process, as a worker would share
        settings = Settings(policy="token-budget")
        managers = [
            ContextManager(settings, summarizer_llm=summarizer).attach(a) for a in agents
        ]
    gc.collect()
    rss_attached = rss_bytes()

    async def drive(session: AgentSession, k: int) -> None:
        for t in range(turns):
            await session.run(user_input=user_text(1 + t + k))
            await asyncio.sleep(PAUSE_S)

    collections = _Collections()
    gc.callbacks.append(collections.note)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(drive(s, k) for k, s in enumerate(live)))
    tasks = [m._task for m in managers if m._task is not None]
    await asyncio.gather(*tasks, return_exceptions=True)  # compactions the turns started
    cpu1, wall1 = time.process_time(), time.perf_counter()
    gc.callbacks.remove(collections.note)
    gc.collect()
    rss_after = rss_bytes()

    figures: dict[str, Any] = {
        "variant": name,
        "sessions": sessions,
        "turns": turns,
        "preload_items": preload,
        "items_after": len(agents[0].chat_ctx.items),
        "cpu_per_turn_s": (cpu1 - cpu0) / (sessions * turns),
        "gc_per_turn_s": collections.cpu_s / (sessions * turns),
        "full_collections": collections.full,
        "wall_s": wall1 - wall0,
        "encoding_rss": encoding_rss,
        "rss_sessions": rss_sessions,
        "rss_attached": rss_attached,
        "rss_after": rss_after,
        "compactions": sum(m.stats.compactions for m in managers),
        "failed": sum(m.stats.failed for m in managers),
        "cached_items": sum(m.counter.cached_items for m in managers),
    }
    if managers:
        shared = [summarizer, settings, managers[0].counter._encoding]
        sizes = [
            retained_bytes(m, owned_elsewhere=[m.agent, m._session, *shared]) for m in managers
        ]
        figures["retained_bytes"] = sum(sizes) / len(sizes)
        figures["settings_bytes"] = retained_bytes(settings, owned_elsewhere=[])
    await asyncio.gather(*(s.aclose() for s in live))
    for m in managers:
        await m.aclose()
    return figures


@dataclass
class _Collections:
    """CPU time the garbage collector takes (``gc.callbacks``), and its full collections."""

    cpu_s: float = 0.0
    full: int = 0
    _started: float = 0.0

    def note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
            return
        self.cpu_s += time.process_time() - self._started
        self.full += info["generation"] == 2


def retained_bytes(root: object, *, owned_elsewhere: Sequence[object]) -> int:
    """Bytes of the objects reachable from ``root`` and not through ``owned_elsewhere``.

    For a manager: its counter cache, archive, applier, events; not its agent (and the
    agent's chat items), its session, or objects every manager shares.
    """
    seen = {id(obj) for obj in owned_elsewhere}
    for obj in owned_elsewhere:  # the agent's chat items, down to their strings
        chat_ctx = getattr(obj, "_chat_ctx", None)
        level = list(chat_ctx.items) if chat_ctx is not None else []
        for _ in range(4):
            level = [o for o in level if id(o) not in seen and not isinstance(o, _NOT_OWNED)]
            seen.update(id(o) for o in level)
            level = gc.get_referents(*level)
    total, stack = 0, [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _NOT_OWNED):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


_NOT_OWNED = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.CodeType,
    logging.Logger,
    asyncio.AbstractEventLoop,
)


def _spawn(variant: str, sessions: int, turns: int) -> dict[str, Any]:
    return _spawn_together((variant,), sessions, turns)[0]


def _spawn_together(variants: Sequence[str], sessions: int, turns: int) -> list[dict[str, Any]]:
    """Run ``variants`` at the same time, each in a fresh process: the machine's load at
    that moment weighs on all of them alike."""
    warnings = [f"-W{option}" for option in sys.warnoptions]  # e.g. -W error, as the parent
    procs = [
        subprocess.Popen(
            [
                sys.executable, *warnings, str(Path(__file__)),
                "--variant", variant, "--sessions", str(sessions), "--turns", str(turns),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for variant in variants
    ]
    figures = []
    for variant, proc in zip(variants, procs):
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"fleet variant {variant} failed:\n{err[-4000:]}")
        figures.append(json.loads(out.strip().splitlines()[-1]))
    return figures


def section(sessions: int = SESSIONS, turns: int = TURNS, rounds: int = ROUNDS) -> Section:
    """Spawn every variant; compare CPU per turn and memory with the no-manager baseline.

    ``none`` and ``manager`` run side by side (two processes at once), ``rounds`` times:
    the round with the median ratio is shown (a shared machine's load moves a single
    run's CPU per turn by 10%, and moves two runs at once alike).
    """
    pairs = sorted(
        (_spawn_together(("none", "manager"), sessions, turns) for _ in range(rounds)),
        key=lambda pair: pair[1]["cpu_per_turn_s"] / pair[0]["cpu_per_turn_s"],
    )
    runs = dict(zip(("none", "manager"), pairs[len(pairs) // 2]))
    runs["compacting"] = _spawn("compacting", sessions, turns)
    ratios = [pair[1]["cpu_per_turn_s"] / pair[0]["cpu_per_turn_s"] for pair in pairs]
    base = runs["none"]
    s = Section(
        title=f"{sessions} concurrent sessions in one process",
        intro=(
            f"{sessions} real text-mode `AgentSession`s with `FakeLLM`, in one event loop, each"
            f" agent preloaded with a call of {PRELOAD_ITEMS} items (~15 minutes in), driven"
            f" through {turns} turns each, all sessions at once, {PAUSE_S:g} s pause between a"
            " session's turns. Each variant runs in a fresh process; *no manager* and *manager"
            f" attached* run side by side (at the same time), {rounds} times, and the pair"
            " with the median ratio is shown. *CPU per turn* is the"
            " process's CPU time (every session, the managers, livekit) over all turns,"
            " compactions those turns started included, divided by sessions x turns."
        ),
        header=(
            "variant",
            "items per context",
            "CPU per turn",
            "vs no manager",
            "Δ per turn",
            "compactions",
            "RSS with sessions started",
            "RSS growth over the turns",
            "wall",
        ),
    )
    for name, variant in VARIANTS.items():
        r = runs[name]
        s.rows.append(
            (
                variant.label,
                f"{r['preload_items']} → {r['items_after']}",
                fmt_s(r["cpu_per_turn_s"]),
                "" if name == "none" else fmt_ratio(r["cpu_per_turn_s"] / base["cpu_per_turn_s"]),
                "" if name == "none" else fmt_s(r["cpu_per_turn_s"] - base["cpu_per_turn_s"]),
                str(r["compactions"]) + (f" ({r['failed']} failed)" if r["failed"] else ""),
                f"{r['rss_sessions'] / 2**20:.0f} MiB",
                f"{(r['rss_after'] - r['rss_sessions']) / 2**20:+.1f} MiB",
                f"{r['wall_s']:.1f} s",
            )
        )
    ratio = runs["manager"]["cpu_per_turn_s"] / base["cpu_per_turn_s"]
    s.targets.append(
        Target(
            f"CPU per turn with a manager, {sessions} concurrent sessions",
            f"<= {TARGET_RATIO:g}x without",
            f"{fmt_ratio(ratio)} ({fmt_s(runs['manager']['cpu_per_turn_s'] - base['cpu_per_turn_s'])}"
            " a turn)",
            ratio <= TARGET_RATIO,
        )
    )
    base_growth = base["rss_after"] - base["rss_sessions"]
    memory_rows = []
    for name in ("manager", "compacting"):
        r = runs[name]
        extra_rss = (r["rss_after"] - r["rss_sessions"] - base_growth) / sessions
        memory_rows.append(
            (
                VARIANTS[name].label,
                f"{r['retained_bytes'] / 1024:.1f} KiB",
                f"{(r['rss_attached'] - r['rss_sessions']) / sessions / 1024:.1f} KiB",
                f"{extra_rss / 1024:+.0f} KiB",
                f"{r['cached_items'] / sessions:.0f}",
            )
        )
    s.extra_tables.append(
        (
            "Memory per attached manager (after the turns):",
            (
                "variant",
                "retained by the manager",
                "RSS at attach",
                "RSS growth vs no manager",
                "cached item counts",
            ),
            memory_rows,
        )
    )
    m, c = runs["manager"], runs["compacting"]
    if c["compactions"]:
        per_compaction = (
            (c["cpu_per_turn_s"] - m["cpu_per_turn_s"]) * sessions * turns / c["compactions"]
        )
        s.notes.append(
            f"A compaction costs about {fmt_s(per_compaction)} of CPU: the compacting run's"
            " CPU over the manager run's, per compaction (an upper bound: its contexts are"
            " larger). Plan, summary request and apply included; the summary itself comes from"
            " `FakeLLM` in this process, a real summarizer LLM runs remotely."
        )
    s.notes.append(
        "CPU per turn with a manager over without, in each side-by-side pair: "
        + ", ".join(fmt_ratio(r) for r in ratios)
        + " (wall times are of two runs sharing the machine). Of the CPU per turn, the"
        " garbage collector took "
        + ", ".join(
            f"{fmt_s(runs[name]['gc_per_turn_s'])} ({runs[name]['full_collections']} full"
            f" collections) {VARIANTS[name].label}"
            for name in ("none", "manager")
        )
        + ": a full collection walks every object of the process (200 sessions' worth),"
        " and whether one more falls inside the measured turns moves a run by several percent."
    )
    s.notes += [
        "*retained by the manager*: bytes of the objects reachable from the manager and not"
        " through its agent, the agent's chat items, its session or objects every manager"
        " shares (`sys.getsizeof` over `gc.get_referents`): the token-count cache, the"
        " archive of compacted items (in memory by default), applier, backend, events.",
        f"Shared per process, not per manager: the tiktoken encoding"
        f" ({m['encoding_rss'] / 2**20:.0f} MiB RSS when first loaded) and here one `Settings`"
        f" object ({m['settings_bytes'] / 1024:.1f} KiB; `from_settings()` makes one per manager).",
        "*RSS growth vs no manager*: (RSS growth over the turns with managers - without) /"
        " sessions, from /proc/self/statm; it also holds what the compacting run's summaries"
        " and `FakeLLM` prompt records cost, and allocator noise.",
    ]
    return s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--turns", type=int, default=TURNS)
    args = parser.parse_args(argv)
    figures = asyncio.run(run_variant(args.variant, args.sessions, args.turns))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
