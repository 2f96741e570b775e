"""Token counting: incremental recount vs full recount vs raw tiktoken, side by side."""

from __future__ import annotations

import statistics
import time

import tiktoken
from _data import call_items, fmt_ratio, fmt_s, item_texts, side_by_side, turn_items
from _markdown import Section
from livekit.agents import llm

from ctxmgr import TokenCounter

SIZES = (100, 1_000, 10_000)


def section(encoding: tiktoken.Encoding) -> Section:
    """Measure each way of counting at every size, in this process, one after the other."""
    s = Section(
        title="Token counting",
        intro=(
            "A context of N items (a support call: user, reply, a tool call every 6th turn)."
            " *Full* counts it with a fresh `TokenCounter`; *incremental* recounts with a warm"
            " counter after one new item was appended (what the manager does on every event);"
            " *raw* is `tiktoken.encode_ordinary` over exactly the texts each way encodes"
            " (all items, or the one new item). Medians of repeated runs."
        ),
        header=(
            "items",
            "tokens",
            "full recount",
            "raw encode, all items",
            "full / raw",
            "incremental (+1 item)",
            "raw encode, new item",
            "encodes per recount",
            "incremental / full",
            "incremental / raw new item",
            "per-item residual",
        ),
    )
    for n in SIZES:
        items = call_items(n)
        ctx = llm.ChatContext(list(items))
        reps = 3 if n >= 10_000 else 7
        texts = [t for item in items for t in item_texts(item)]
        full, raw_all = side_by_side(
            (
                lambda: TokenCounter(encoding=encoding).count(ctx),
                lambda: sum(len(encoding.encode_ordinary(t)) for t in texts),
            ),
            reps=reps,
        )

        counter = TokenCounter(encoding=encoding)
        tokens = counter.count(ctx)
        incremental, raw_new, encodes = _incremental(counter, ctx, encoding, n, reps=15)
        residual = max(0.0, incremental - raw_new) / n
        s.rows.append(
            (
                f"{n:,}",
                f"{tokens:,}",
                fmt_s(full),
                fmt_s(raw_all),
                fmt_ratio(full / raw_all),
                fmt_s(incremental),
                fmt_s(raw_new),
                f"{encodes:g}",
                f"1/{full / incremental:.0f}",
                fmt_ratio(incremental / raw_new),
                f"{residual * 1e9:.0f} ns",
            )
        )
    s.notes += [
        "*encodes per recount*: texts tiktoken encoded by the incremental recount (the new"
        " item's parts): the cache works, only the new item is encoded.",
        "*per-item residual*: (incremental - raw new item) / items. It is the cost of"
        " validating every cached entry on each `count()` (a dict lookup and a content key"
        " per item): the recount encodes O(new items) but still walks O(items), and the walk"
        " dominates from about 1,000 items on.",
    ]
    return s


def _incremental(
    counter: TokenCounter,
    ctx: llm.ChatContext,
    encoding: tiktoken.Encoding,
    n: int,
    *,
    reps: int,
) -> tuple[float, float, float]:
    """Median time of ``count`` after appending one new item; raw encode of that item."""
    times: list[float] = []
    raws: list[float] = []
    encodes: list[int] = []
    for r in range(reps + 1):
        new = turn_items(100_000 + n + r)[-1]  # an assistant reply, unique text
        ctx.items.append(new)
        before = counter.encode_calls
        t0 = time.perf_counter()
        counter.count(ctx)
        elapsed = time.perf_counter() - t0
        texts = item_texts(new)
        t0 = time.perf_counter()
        for text in texts:
            encoding.encode_ordinary(text)
        raw = time.perf_counter() - t0
        if r:  # the first is a warm-up
            times.append(elapsed)
            raws.append(raw)
            encodes.append(counter.encode_calls - before)
    return statistics.median(times), statistics.median(raws), statistics.median(encodes)
