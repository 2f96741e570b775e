"""Plan + guard time as the context grows, and where the time goes at the largest size."""

from __future__ import annotations

import cProfile
import os
import pstats

import tiktoken
from _data import best_of, call_items, fmt_s
from _markdown import Section, Target
from livekit.agents import llm

from ctxmgr import Settings, TokenCounter, guard_plan, policy_from_settings

SIZES = (100, 300, 1_000, 3_000, 10_000)
TARGET_ITEMS = 10_000
TARGET_S = 5e-3


def section(encoding: tiktoken.Encoding) -> Section:
    """Time ``policy.plan`` (which guards its plan) on a warm counter at every size."""
    s = Section(
        title="Plan + guard",
        intro=(
            "`policy.plan(ctx, counter=...)` of the default preset (`token-budget`) on a context"
            " sitting at its trigger (budget = tokens / 0.8, so the plan cuts to the preset's target,"
            " 10% of the budget), with a warm counter as in the manager. The plan includes `guard_plan`;"
            " *guard alone* re-guards the finished plan. *growth* is the time ratio over the"
            " previous size divided by the size ratio: 1.0 is linear, above 1 super-linear."
        ),
        header=(
            "items",
            "tokens",
            "items folded",
            "plan + guard",
            "guard alone",
            "per item",
            "growth vs previous",
        ),
    )
    previous: tuple[int, float] | None = None
    timings: dict[int, float] = {}
    for n in SIZES:
        ctx = llm.ChatContext(call_items(n))
        counter = TokenCounter(encoding=encoding)
        tokens = counter.count(ctx)
        settings = Settings(policy="token-budget", max_tokens=int(tokens / 0.8) + 1)
        policy = policy_from_settings(settings)
        plan = policy.plan(ctx, counter=counter)
        assert plan is not None
        reps = 3 if n >= 3_000 else 9
        elapsed = best_of(lambda: policy.plan(ctx, counter=counter), reps=reps)
        guard = best_of(
            lambda: guard_plan(
                ctx, plan, counter=counter, tail=policy.tail, summary_tokens=policy.summary_tokens
            ),
            reps=reps,
        )
        growth = "" if previous is None else f"{(elapsed / previous[1]) / (n / previous[0]):.2f}"
        s.rows.append(
            (
                f"{n:,}",
                f"{tokens:,}",
                f"{len(plan.remove_ids):,}",
                fmt_s(elapsed),
                fmt_s(guard),
                f"{elapsed / n * 1e6:.2f} µs",
                growth,
            )
        )
        timings[n] = elapsed
        previous = (n, elapsed)
        if n == TARGET_ITEMS:
            s.extra_tables.append(_profile(policy, ctx, counter))
    measured = timings[TARGET_ITEMS]
    s.targets.append(
        Target(
            "plan+guard at 10,000 items",
            "< 5 ms",
            fmt_s(measured),
            measured < TARGET_S,
        )
    )
    s.notes += [
        "The profile splits one plan at 10,000 items by function (own time, under cProfile,"
        " whose overhead inflates the total but not much the shares).",
        "A warm counter keeps the tally of the list it counted last (`TokenCounter.tally`):"
        " each plan checks that the items are the same objects with the same content (a few"
        " passes at C speed) rather than looking each one up; every fact the policy and the"
        " guard read (counts, kinds, calls) comes from it. The manager counts the context"
        " right before it plans, as here.",
    ]
    return s


def _profile(
    policy: object, ctx: llm.ChatContext, counter: TokenCounter
) -> tuple[str, tuple[str, ...], list[tuple[str, ...]]]:
    profiler = cProfile.Profile()
    profiler.enable()
    policy.plan(ctx, counter=counter)  # type: ignore[attr-defined]
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in entries.values())
    top = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:6]
    rows = []
    for (filename, line, func), (_, calls, tt, _, _) in top:
        where = f"{os.path.basename(filename)}:{line} `{func}`" if line else f"`{func}`"
        rows.append((where, f"{calls:,}", f"{tt / total:.0%}"))
    return (
        f"Where one plan's time goes at {TARGET_ITEMS:,} items (own time, top 6 functions):",
        ("function", "calls", "share of own time"),
        rows,
    )
