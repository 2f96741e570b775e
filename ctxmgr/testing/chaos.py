"""Seeded race schedules against the real OpenAI realtime plugin: ctxmgr vs the naive summarizer.

Each seed draws a schedule (``Schedule.from_seed``): warm-up turns, then a
compaction raced by server-started responses whose function calls reach the
client late, responses committed while a call is pending, user turns, replies
still streaming when the summary lands, a slow or failing summarizer, late and
dropped acknowledgements, interruptions and handoffs. Every schedule runs on a
fresh emulator and ``AgentSession``, once with nobody compacting (the control)
and once per contender; the ledger (``ctxmgr.testing.ledger``) judges every client
event from the server's side, the invariant checker reads the server, the
plugin's mirror and the agent's context at the end, and a finding counts unless
the seed's control shows it too (``Excuse`` in ``_chaos_run``).

```
python -m ctxmgr.testing.chaos --seeds 1000                  # ctxmgr and naive, side by side
python -m ctxmgr.testing.chaos --seed 17 --contender ctxmgr  # replay one seed, in detail
python -m ctxmgr.testing.chaos --seeds 200 --contender all   # + guarded naive, + no compaction
```

The last line is ctxmgr's figure, ``schedules=N violations=V items_lost=L``;
the exit code is 0 iff V and L are 0. Each failing ctxmgr seed prints
``FAIL seed=S: ...`` and the one-line command that replays it. A replay runs the
seed ``--repeat`` times at once (24 by default, the load of a full run), since a
race depends on the load it ran under, and prints the three contexts of a
failing run.

Contenders: ``ctxmgr`` (a ContextManager compacts), ``naive`` (the summarizer of
the seed; it must show violations here, or the scheduler is not racing),
``guarded`` (that naive summarizer with a ContextManager attached, guarding its
update) and ``none`` (the control: nobody compacts; it must show none). What
counts and what does not is ``Excuse`` in ``_chaos_run``.

From a test::

    report = await run_chaos(range(200), "ctxmgr")
    assert (report.violations, report.items_lost) == (0, 0), report.failure_message()
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ._chaos_blame import instrument_plugin, shortened_update_wait
from ._chaos_contenders import CONTENDERS, ContenderName, naive_summarize
from ._emulator_dialects import DIALECTS, Dialect
from ._chaos_run import ChaosAgent, ScheduleResult, chaos_responder, run_schedule
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


def replay_command(
    seed: int, contender: ContenderName = "ctxmgr", dialect: Dialect = "openai"
) -> str:
    """The one-line command that replays a seed."""
    provider = "" if dialect == "openai" else f" --provider {dialect}"
    return f"python -m ctxmgr.testing.chaos --seed {seed} --contender {contender}{provider}"


@dataclass
class ChaosReport:
    """The figures of one contender over many schedules."""

    contender: ContenderName
    results: list[ScheduleResult] = field(default_factory=list)
    wall_s: float = 0.0
    dialect: Dialect = "openai"

    @property
    def schedules(self) -> int:
        """Schedules run."""
        return len(self.results)

    @property
    def violations(self) -> int:
        """Counted violations, plus one per schedule that could not be checked."""
        return sum(len(r.violations) + (r.error is not None) for r in self.results)

    @property
    def items_lost(self) -> int:
        """Counted ``item_lost`` violations."""
        return sum(r.items_lost for r in self.results)

    @property
    def errors(self) -> int:
        """Schedules that could not be played or checked."""
        return sum(r.error is not None for r in self.results)

    @property
    def failed_seeds(self) -> list[int]:
        """Seeds that broke an invariant or could not be checked."""
        return sorted(r.seed for r in self.results if r.failed)

    def by_kind(self) -> Counter[str]:
        """Counted violations by invariant."""
        return Counter(v.kind for r in self.results for v in r.violations)

    def outcomes(self) -> Counter[str]:
        """Compactions by outcome."""
        return Counter(o for r in self.results for o in r.outcomes)

    def excused(self) -> Counter[str]:
        """Findings not counted, by reason."""
        return Counter(why for r in self.results for why, _ in r.excused)

    def exercised(self) -> Counter[str]:
        """Schedules in which a compaction's delete met each kind of item in flight."""
        return Counter(kind for r in self.results for kind in r.exercised)

    def line(self) -> str:
        """``schedules=N violations=V items_lost=L``."""
        return (
            f"schedules={self.schedules} violations={self.violations} items_lost={self.items_lost}"
        )

    def summary(self) -> str:
        """The line, with the breakdown and the wall time."""
        kinds = " ".join(f"{k}={n}" for k, n in sorted(self.by_kind().items()))
        excused = " ".join(f"{k}={n}" for k, n in sorted(self.excused().items()))
        outcomes = " ".join(f"{k}={n}" for k, n in sorted(self.outcomes().items()))
        met = " ".join(
            f"{k}={n / max(1, self.schedules):.0%}" for k, n in sorted(self.exercised().items())
        )
        return (
            f"{self.contender}: {self.line()} failed_schedules={len(self.failed_seeds)}"
            f" errors={self.errors} wall={self.wall_s:.1f}s\n  counted=[{kinds}]"
            f" not_counted=[{excused}]\n  compactions=[{outcomes}]\n  deletes_met=[{met}]"
        )

    def failure_message(self, limit: int = 10) -> str:
        """Each failing seed with its violations and the command that replays it."""
        lines = []
        for r in sorted((r for r in self.results if r.failed), key=lambda r: r.seed)[:limit]:
            lines.append(f"FAIL seed={r.seed}: {describe_failure(r)}")
            lines.append(f"replay: {replay_command(r.seed, r.contender, self.dialect)}")
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
    concurrency: int = 24,
    update_wait_s: float = UPDATE_WAIT_S,
    on_result: Callable[[ScheduleResult], None] | None = None,
    controls: dict[int, ScheduleResult] | None = None,
    dialect: Dialect = "openai",
) -> ChaosReport:
    """Run one schedule per seed for ``contender``, ``concurrency`` at a time, in this loop.

    Args:
        seeds: The seeds; each is a complete schedule.
        contender: ``ctxmgr``, ``naive``, ``guarded`` or ``none``.
        concurrency: Schedules (each an emulator and a session) running at once.
        update_wait_s: The plugin's acknowledgement wait during the run (restored after).
        on_result: Called with each ``ScheduleResult`` as it completes.
        controls: The control runs (``none``) by seed, reused and filled in: each
            seed's findings are excused only when its control shows them too.
        dialect: The provider: ``openai``, ``azure`` or ``xai`` (its real plugin, the
            emulator speaking its wire variant).
    """
    report = ChaosReport(contender, dialect=dialect)
    started = time.monotonic()
    slots = asyncio.Semaphore(concurrency)
    controls = {} if controls is None else controls

    async def _one(seed: int) -> None:
        async with slots:
            schedule = Schedule.from_seed(seed)
            control = None
            if contender != "none":
                if seed not in controls:
                    controls[seed] = await run_schedule(schedule, "none", dialect=dialect)
                control = controls[seed]
            result = await run_schedule(schedule, contender, control=control, dialect=dialect)
        report.results.append(result)
        if on_result is not None:
            on_result(result)

    with instrument_plugin(update_wait_s):
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
    parser.add_argument("--seed", type=int, default=None, help="replay this seed, in detail")
    parser.add_argument(
        "--repeat",
        type=int,
        default=24,
        help="with --seed: run it this many times at once (races depend on load; default 24)",
    )
    parser.add_argument(
        "--contender",
        choices=[*CONTENDERS, "both", "all"],
        default="both",
        help="both = ctxmgr and naive (default); all = every contender",
    )
    parser.add_argument(
        "--concurrency", type=int, default=24, help="schedules at once (default 24)"
    )
    parser.add_argument(
        "--details", action="store_true", help="print the state at the check of each failure"
    )
    parser.add_argument(
        "--provider",
        choices=DIALECTS,
        default="openai",
        help="the realtime plugin and the wire variant the emulator speaks (default openai)",
    )
    parser.add_argument("--verbose", action="store_true", help="show livekit's and ctxmgr's logs")
    return parser.parse_args(argv)


def _quiet_logs(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.CRITICAL, format="%(message)s")
    if not verbose:
        for name in ("livekit", "ctxmgr", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _contenders(choice: str) -> list[ContenderName]:
    if choice == "both":
        return ["ctxmgr", "naive"]
    if choice == "all":
        return list(CONTENDERS)
    return [choice]  # type: ignore[list-item]


def _print_replay(seed: int, reports: Iterable[ChaosReport]) -> None:
    print(Schedule.from_seed(seed).describe())
    for report in reports:
        failing = [r for r in report.results if r.failed]
        shown = (failing or report.results)[0]
        if failing:
            print(f"FAIL seed={seed}: {describe_failure(shown)}")
            print(f"replay: {replay_command(seed, report.contender, report.dialect)}")
        print(
            f"{report.contender}: {len(failing)} of {report.schedules} runs failed; the state"
            f" at the check of {'a failing' if failing else 'the first'} run:"
        )
        print("\n".join(shown.views))
        for why, v in shown.excused:
            print(f"  not counted ({why}) {v.kind}: {v.message}")


async def _amain(args: argparse.Namespace) -> int:
    replay = args.seed is not None
    seeds = [args.seed] * args.repeat if replay else range(args.first, args.first + args.seeds)
    reports: dict[ContenderName, ChaosReport] = {}
    controls: dict[int, ScheduleResult] = {}  # a replay plays its control once per run
    for name in _contenders(args.contender):

        def _progress(result: ScheduleResult, name: ContenderName = name) -> None:
            # the naive summarizer is expected to fail; a replay reports once, at the end
            if result.failed and name != "naive" and not replay:
                print(f"FAIL seed={result.seed}: {describe_failure(result)}", flush=True)
                print(f"replay: {replay_command(result.seed, name, args.provider)}", flush=True)
                if args.details:
                    print("\n".join(result.views), flush=True)

        reports[name] = await run_chaos(
            seeds,
            name,
            concurrency=args.concurrency,
            on_result=_progress,
            controls=None if replay else controls,
            dialect=args.provider,
        )
    if replay:
        _print_replay(args.seed, reports.values())
    for report in reports.values():
        print(report.summary())
    if "ctxmgr" in reports and "naive" in reports:
        print(f"naive: {reports['naive'].line()}  |  ctxmgr: {reports['ctxmgr'].line()}")
    final = reports.get("ctxmgr") or next(iter(reports.values()))
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
