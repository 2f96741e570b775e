"""The README's race figures: 1,000 schedules, three times, written between its markers.

Runs the same seeds three ways: as is, with a CPU-bound process competing for the
cores, and at twice the concurrency. Each run plays every seed with nobody
compacting (the control), then with ctxmgr and with the naive summarizer, each
judged against the control of its own seed. The table goes into README.md between
``<!-- chaos-figures:begin -->`` and ``<!-- chaos-figures:end -->``, with the commit,
exactly as printed here. ::

    python tools/chaos_figures.py             # make chaos-figures
    python tools/chaos_figures.py --seeds 100 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mutants import commit_label  # tools/ is on the path when run as a script

from ctxmgr.testing.chaos import ChaosReport, ScheduleResult, run_chaos

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- chaos-figures:begin -->", "<!-- chaos-figures:end -->"
SHARES = ("in_flight", "remote_only", "placeholder", "pending_ack", "streaming", "archive_failed")


@contextmanager
def _competitor(on: bool) -> Iterator[None]:
    if not on:
        yield
        return
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        busy.kill()
        busy.wait()


async def _run(seeds: range, concurrency: int) -> list[ChaosReport]:
    controls: dict[int, ScheduleResult] = {}
    ctxmgr = await run_chaos(seeds, "ctxmgr", concurrency=concurrency, controls=controls)
    naive = await run_chaos(seeds, "naive", concurrency=concurrency, controls=controls)
    control = ChaosReport("none", sorted(controls.values(), key=lambda r: r.seed))
    return [ctxmgr, naive, control]


def _rows(label: str, reports: list[ChaosReport]) -> list[str]:
    rows = []
    for r in reports:
        counts = sorted(r.by_kind().items()) + ([("unchecked", r.errors)] if r.errors else [])
        kinds = ", ".join(f"{k} {n}" for k, n in counts) or "-"
        rows.append(
            f"| {label} | {r.contender} | {r.violations} | {r.items_lost} |"
            f" {len(r.failed_seeds)} | {kinds} |"
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    for name in ("livekit", "ctxmgr", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    seeds = range(args.seeds)
    runs = (
        (f"concurrency {args.concurrency}", args.concurrency, False),
        (f"concurrency {args.concurrency} + a CPU-bound process", args.concurrency, True),
        (f"concurrency {2 * args.concurrency}", 2 * args.concurrency, False),
    )
    lines = [
        f"Printed by `python tools/chaos_figures.py --seeds {args.seeds}` at commit {commit_label()}"
        f" (seeds 0-{args.seeds - 1}, each judged against its own no-compaction run).",
        "",
        "| run | contender | counted findings | items lost | schedules failing | by kind |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    shares: list[str] = []
    failing: list[str] = []
    ctxmgr_failed = False
    for label, concurrency, busy in runs:
        with _competitor(busy):
            reports = asyncio.run(_run(seeds, concurrency))
        lines += _rows(label, reports)
        ctxmgr_failed |= reports[0].violations > 0
        if reports[0].failed_seeds:
            failing.append(f"- {label}: seeds {reports[0].failed_seeds}")
            failing += [
                f"  - seed {r.seed} could not be checked: {r.error}"
                for r in reports[0].results
                if r.error is not None
            ]
            failing += [  # what it showed, for a schedule that may not fail again
                f"  - seed {r.seed}: {v.kind}: {v.message[:240]}"
                for r in reports[0].results
                for v in r.violations
            ]
        met = reports[0].exercised()
        shares.append(
            f"| {label} | "
            + " | ".join(f"{met[k] / max(1, reports[0].schedules):.0%}" for k in SHARES)
            + " |"
        )
        print("\n".join(lines[-3:]), flush=True)
    lines += [
        "",
        "Share of schedules in which a ctxmgr delete met each kind of item in flight"
        " (archive_failed: a compaction met a failing archive write):",
        "",
        "| run | " + " | ".join(SHARES) + " |",
        "| --- |" + " ---: |" * len(SHARES),
        *shares,
    ]
    if failing:
        lines += [
            "",
            "Schedules ctxmgr failed (replay: `python -m ctxmgr.testing.chaos --seed S"
            " --contender ctxmgr`):",
            "",
            *failing,
        ]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        readme = ROOT / "README.md"
        text = readme.read_text()
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        readme.write_text(f"{text[:start]}\n{table}\n{text[end:]}")
    return 1 if ctxmgr_failed else 0


if __name__ == "__main__":
    sys.exit(main())
