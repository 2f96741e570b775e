"""Seeded race schedules against the real OpenAI realtime plugin: ctxmgr vs the naive summarizer.

Each seed draws a schedule (``Schedule.from_seed``): warm-up turns, then a
compaction raced by server-started responses whose function calls reach the
client late, responses committed while a call is pending, user turns, replies
still streaming when the summary lands, a slow or failing summarizer, late and
dropped acknowledgements, interruptions and handoffs. Every schedule runs on a
fresh emulator and ``AgentSession``; the invariant checker then reads the
server, the plugin's mirror and the agent's context.

```
python -m ctxmgr.testing.chaos --seeds 1000                 # ctxmgr and naive, side by side
python -m ctxmgr.testing.chaos --seed 17 --contender ctxmgr # replay one seed, with details
```

The last line is ctxmgr's figure, ``schedules=N violations=V items_lost=L``;
the exit code is 0 iff V and L are 0. The naive summarizer must show
violations on the same schedules, or the scheduler is not exercising the race;
``--contender none`` (nobody compacts) is the control and must show none.

From a test::

    report = await run_chaos(range(200), "ctxmgr", concurrency=12)
    assert report.violations == 0, report.failure_message()
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ._chaos_contenders import CONTENDERS, ContenderName, naive_summarize
from ._chaos_run import (
    ChaosAgent,
    ScheduleResult,
    chaos_responder,
    run_schedule,
    shortened_update_wait,
)
from ._chaos_schedule import Schedule

__all__ = [
    "ChaosAgent",
    "ChaosReport",
    "Schedule",
    "ScheduleResult",
    "chaos_responder",
    "main",
    "naive_summarize",
    "replay_command",
    "run_chaos",
    "run_schedule",
    "shortened_update_wait",
]

UPDATE_WAIT_S = 1.0
"""The plugin's 5 s acknowledgement wait, shortened so a dropped ack times out quickly."""


def replay_command(seed: int, contender: ContenderName = "ctxmgr") -> str:
    """The one-line command that replays a seed."""
    return f"python -m ctxmgr.testing.chaos --seed {seed} --contender {contender}"


@dataclass
class ChaosReport:
    """The figures of one contender over many schedules."""

    contender: ContenderName
    results: list[ScheduleResult] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def schedules(self) -> int:
        return len(self.results)

    @property
    def violations(self) -> int:
        """Counted violations, plus one per schedule that could not be checked."""
        return sum(len(r.violations) + (r.error is not None) for r in self.results)

    @property
    def items_lost(self) -> int:
        return sum(r.items_lost for r in self.results)

    @property
    def errors(self) -> int:
        """Schedules that could not be played or checked."""
        return sum(r.error is not None for r in self.results)

    @property
    def failed_seeds(self) -> list[int]:
        return sorted(r.seed for r in self.results if r.failed)

    def by_kind(self) -> Counter[str]:
        """Counted violations by invariant."""
        return Counter(v.kind for r in self.results for v in r.violations)

    def excused(self) -> Counter[str]:
        """Findings not counted, by reason."""
        return Counter(why for r in self.results for why, _ in r.excused)

    def line(self) -> str:
        """``schedules=N violations=V items_lost=L``."""
        return f"schedules={self.schedules} violations={self.violations} items_lost={self.items_lost}"

    def summary(self) -> str:
        """The line, with the breakdown and the wall time."""
        kinds = " ".join(f"{k}={n}" for k, n in sorted(self.by_kind().items()))
        excused = " ".join(f"{k}={n}" for k, n in sorted(self.excused().items()))
        compactions = sum(r.compactions for r in self.results)
        return (
            f"{self.contender}: {self.line()} failed_schedules={len(self.failed_seeds)}"
            f" errors={self.errors} compactions={compactions} wall={self.wall_s:.1f}s"
            f" counted=[{kinds}] not_counted=[{excused}]"
        )

    def failure_message(self, limit: int = 10) -> str:
        """Each failing seed with its violations and the command that replays it."""
        lines = []
        for r in sorted((r for r in self.results if r.failed), key=lambda r: r.seed)[:limit]:
            lines.append(f"FAIL seed={r.seed}: {describe_failure(r)}")
            lines.append(f"replay: {replay_command(r.seed, r.contender)}")
        hidden = len(self.failed_seeds) - limit
        if hidden > 0:
            lines.append(f"... and {hidden} more failing seeds: {self.failed_seeds[limit:]}")
        return "\n".join(lines)


def describe_failure(result: ScheduleResult) -> str:
    """One line: each violation's kind and message, or the harness error."""
    parts = [f"{v.kind}: {v.message}" for v in result.violations]
    if result.error is not None:
        parts.append(f"unchecked: {result.error}")
    return "; ".join(parts)


async def run_chaos(
    seeds: Iterable[int],
    contender: ContenderName,
    *,
    concurrency: int = 12,
    update_wait_s: float = UPDATE_WAIT_S,
    on_result: object = None,
) -> ChaosReport:
    """Run one schedule per seed for ``contender``, ``concurrency`` at a time, in this loop.

    Args:
        seeds: The seeds; each is a complete schedule.
        contender: ``ctxmgr``, ``naive`` or ``none``.
        concurrency: Schedules (each an emulator and a session) running at once.
        update_wait_s: The plugin's acknowledgement wait during the run (restored after).
        on_result: Called with each ``ScheduleResult`` as it completes.
    """
    report = ChaosReport(contender)
    started = time.monotonic()
    slots = asyncio.Semaphore(concurrency)

    async def _one(seed: int) -> None:
        async with slots:
            result = await run_schedule(Schedule.from_seed(seed), contender)
        report.results.append(result)
        if callable(on_result):
            on_result(result)

    with shortened_update_wait(update_wait_s):
        await asyncio.gather(*(_one(s) for s in seeds))
    report.results.sort(key=lambda r: r.seed)
    report.wall_s = time.monotonic() - started
    return report


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ctxmgr.testing.chaos",
        description="Race compactions against the real realtime plugin on seeded schedules.",
    )
    parser.add_argument("--seeds", type=int, default=200, help="number of seeds (default 200)")
    parser.add_argument("--first", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--seed", type=int, default=None, help="run only this seed, in detail")
    parser.add_argument(
        "--contender", choices=[*CONTENDERS, "both"], default="both", help="default: both"
    )
    parser.add_argument("--concurrency", type=int, default=12, help="schedules at once")
    parser.add_argument("--verbose", action="store_true", help="show livekit's and ctxmgr's logs")
    return parser.parse_args(argv)


def _quiet_logs(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.CRITICAL, format="%(message)s")
    if not verbose:
        for name in ("livekit", "ctxmgr", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


async def _amain(args: argparse.Namespace) -> int:
    names: list[ContenderName] = (
        ["ctxmgr", "naive"] if args.contender == "both" else [args.contender]
    )
    seeds = [args.seed] if args.seed is not None else range(args.first, args.first + args.seeds)
    reports: dict[ContenderName, ChaosReport] = {}
    for name in names:

        def _progress(result: ScheduleResult, name: ContenderName = name) -> None:
            if result.failed and (name == "ctxmgr" or args.seed is not None):
                print(f"FAIL seed={result.seed}: {describe_failure(result)}", flush=True)
                print(f"replay: {replay_command(result.seed, name)}", flush=True)

        reports[name] = await run_chaos(seeds, name, concurrency=args.concurrency, on_result=_progress)
    if args.seed is not None:
        print(Schedule.from_seed(args.seed).describe())
        for report in reports.values():
            for r in report.results:
                print(f"{report.contender} at the check:")
                print("\n".join(r.views))
                for why, v in r.excused:
                    print(f"  not counted ({why}) {v.kind}: {v.message}")
    for report in reports.values():
        print(report.summary())
    final = reports.get("ctxmgr") or next(iter(reports.values()))
    if "ctxmgr" in reports and "naive" in reports:
        print(f"naive: {reports['naive'].line()}  |  ctxmgr: {reports['ctxmgr'].line()}")
    print(final.line())
    if final.contender != "ctxmgr":
        return 0
    return 0 if final.violations == 0 and final.items_lost == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chaos schedules from the command line; returns the exit code."""
    args = _parse(argv)
    _quiet_logs(args.verbose)
    return asyncio.run(_amain(args))


if __name__ == "__main__":
    sys.exit(main())
