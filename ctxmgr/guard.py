"""The guard: invariants 1-4 of DESIGN.md, applied to every plan of every policy.

Pure functions over chat items. ``guard_plan`` repairs a plan (drops what it may
not touch) or rejects it (returns no plan); it never lets a violation through:

1. the tail window (last N turns, last K tokens) is never touched;
2. protected ids (remote-only items, placeholders) and everything after the
   oldest of them are never touched; neither is a call in progress (no output
   yet, or livekit's running placeholder) nor anything after it;
3. a call and its output (and parallel calls sharing a ``group_id``) go
   together or not at all;
4. instructions and local bookkeeping are never touched; earlier summaries are
   only ever folded into a new summary, never trimmed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from livekit.agents import llm

from .chat_items import (
    group_units,
    is_instruction,
    is_structural,
    is_summary,
    is_user_turn_start,
    oldest_in_progress_index,
)
from .plan import CompactionPlan
from .tokens import REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TokenCounter

__all__ = [
    "TailWindow",
    "Boundary",
    "GuardResult",
    "KeepReason",
    "frozen_boundary",
    "guard_plan",
    "guard_removals",
]

KeepReason = Literal[
    "tail_turns",
    "tail_tokens",
    "protected",
    "in_progress",
    "instruction",
    "structural",
    "summary",
    "pair",
    "not_contiguous",
    "missing",
]


@dataclass(frozen=True)
class TailWindow:
    """The end of the context that is never compacted."""

    keep_last_turns: int = 4
    """The last N user turns, and everything after the oldest of them."""

    keep_last_tokens: int = 0
    """The last K tokens of the context."""


@dataclass(frozen=True)
class Boundary:
    """Items at ``index`` and after are untouchable, for ``reason``."""

    index: int
    reason: KeepReason | None
    """Which rule set the boundary; ``None`` when nothing is frozen (index is the length)."""


@dataclass(frozen=True)
class GuardResult:
    """A guarded plan, and what the guard kept against the plan's wish."""

    plan: CompactionPlan | None
    """The repaired plan, or ``None`` when nothing may be removed."""

    kept: tuple[tuple[str, KeepReason], ...]
    """``(item id, reason)`` for every id the plan named and the guard kept."""


def frozen_boundary(
    items: Sequence[llm.ChatItem],
    counts: Sequence[int],
    tail: TailWindow,
    protected_ids: Collection[str] = (),
) -> Boundary:
    """The first index no compaction may touch, and the rule that put it there."""
    candidates: list[tuple[int, KeepReason]] = []
    if tail.keep_last_turns > 0:
        # from the end: only the tail is walked
        seen, start = 0, 0
        for i in range(len(items) - 1, -1, -1):
            if is_user_turn_start(items[i]):
                seen += 1
                if seen == tail.keep_last_turns:
                    start = i
                    break
        candidates.append((start, "tail_turns"))
    if tail.keep_last_tokens > 0:
        total, index = 0, len(items)
        while index > 0 and total < tail.keep_last_tokens:
            index -= 1
            total += counts[index]
        candidates.append((index, "tail_tokens"))
    if protected_ids:
        first = next((i for i, item in enumerate(items) if item.id in protected_ids), None)
        if first is not None:
            candidates.append((first, "protected"))
    in_progress = oldest_in_progress_index(items)
    if in_progress is not None:
        candidates.append((in_progress, "in_progress"))
    if not candidates:
        return Boundary(len(items), None)
    index, reason = min(candidates, key=lambda c: c[0])
    return Boundary(index, reason)


def guard_plan(
    chat_ctx: llm.ChatContext | Sequence[llm.ChatItem],
    plan: CompactionPlan,
    *,
    counter: TokenCounter,
    tail: TailWindow,
    protected_ids: Collection[str] = (),
    summary_tokens: int = 0,
    counts: Sequence[int] | None = None,
    boundary: Boundary | None = None,
) -> GuardResult:
    """Check ``plan`` against the live items; return the largest safe part of it.

    Args:
        chat_ctx: the context the plan will be applied to, read right now.
        plan: what a policy (or any caller) wants removed.
        counter: the token counter (for the token tail and the new estimate).
        tail: the tail window.
        protected_ids: ids that must not be touched, nor anything after the oldest.
        summary_tokens: expected size of the new summary, for ``tokens_after``.
        counts: per-item token counts of ``chat_ctx`` when the caller has them already.
        boundary: ``frozen_boundary`` of ``chat_ctx`` with the same arguments, likewise.
    """
    items = list(chat_ctx.items if isinstance(chat_ctx, llm.ChatContext) else chat_ctx)
    if counts is None:
        counts = counter.count_items(items)
    index_of = {item.id: i for i, item in enumerate(items)}

    def policy_rule(item: llm.ChatItem) -> KeepReason | None:
        if is_instruction(item):
            return "instruction"
        if is_structural(item):
            return "structural"
        if is_summary(item) and plan.action == "trim":
            return "summary"
        return None

    ordered, kept = _allowed(
        items,
        counts,
        index_of,
        plan.remove_ids,
        boundary if boundary is not None else frozen_boundary(items, counts, tail, protected_ids),
        rule=policy_rule,
        contiguous=plan.action == "summarize",
    )
    if not ordered:
        return GuardResult(None, kept)

    first = index_of[ordered[0]]
    removed_tokens = sum(counts[index_of[i]] for i in ordered)
    tokens_before = sum(counts) + REPLY_PRIMING_TOKENS
    tokens_after = tokens_before - removed_tokens
    if plan.action == "summarize":
        tokens_after += summary_tokens + TOKENS_PER_MESSAGE + 1
    guarded = replace(
        plan,
        remove_ids=tuple(ordered),
        insert_after_id=items[first - 1].id if first > 0 else None,
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        folded_summary_ids=tuple(i for i in ordered if is_summary(items[index_of[i]])),
    )
    return GuardResult(guarded, kept)


def guard_removals(
    chat_ctx: llm.ChatContext | Sequence[llm.ChatItem],
    remove_ids: Collection[str],
    *,
    counter: TokenCounter,
    tail: TailWindow,
    protected_ids: Collection[str] = (),
    boundary: Boundary | None = None,
) -> tuple[frozenset[str], tuple[tuple[str, KeepReason], ...]]:
    """The removals any caller's update may make: invariants 1-3 only.

    For updates ctxmgr did not plan (the application's own summarizer, a handoff,
    a tool): protected and in-flight items, pairs and the tail window are kept;
    instructions and summaries are the caller's business.

    Args:
        boundary: the first index no removal may touch, when the caller knows better
            (the tail counted over confirmed items); by default ``frozen_boundary``.

    Returns:
        The ids that may go, and ``(id, reason)`` for each id kept.
    """
    items = list(chat_ctx.items if isinstance(chat_ctx, llm.ChatContext) else chat_ctx)
    counts = counter.count_items(items)
    index_of = {item.id: i for i, item in enumerate(items)}
    wanted = [item.id for item in items if item.id in set(remove_ids)]
    ordered, kept = _allowed(
        items,
        counts,
        index_of,
        wanted,
        boundary if boundary is not None else frozen_boundary(items, counts, tail, protected_ids),
        rule=lambda item: None,
        contiguous=False,
    )
    return frozenset(ordered), kept


def _allowed(
    items: Sequence[llm.ChatItem],
    counts: Sequence[int],
    index_of: dict[str, int],
    wanted: Sequence[str],
    boundary: Boundary,
    *,
    rule: Callable[[llm.ChatItem], KeepReason | None],
    contiguous: bool,
) -> tuple[list[str], tuple[tuple[str, KeepReason], ...]]:
    kept: dict[str, KeepReason] = {}
    removable: set[str] = set()
    for item_id in wanted:
        i = index_of.get(item_id)
        if i is None:
            kept[item_id] = "missing"
            continue
        reason = boundary.reason if i >= boundary.index else rule(items[i])
        if reason is not None:
            kept[item_id] = reason
        else:
            removable.add(item_id)

    units = group_units(items)
    members: dict[str, list[str]] = {}
    for member_id, unit_id in units.items():
        members.setdefault(unit_id, []).append(member_id)
    # Pair closure and (for a summary) contiguity each shrink the set; repeat until
    # neither changes it, so that neither can undo the other.
    while True:
        size = len(removable)
        for item_id in list(removable):
            unit = units.get(item_id)
            if unit is not None and not all(m in removable for m in members[unit]):
                removable.discard(item_id)
                kept[item_id] = "pair"
        ordered = [item.id for item in items if item.id in removable]
        if contiguous and ordered:
            ordered = _contiguous_prefix(items, index_of, ordered, removable, kept)
            removable = set(ordered)
        if len(removable) == size:
            return ordered, tuple(kept.items())


def _contiguous_prefix(
    items: Sequence[llm.ChatItem],
    index_of: dict[str, int],
    ordered: list[str],
    removable: set[str],
    kept: dict[str, KeepReason],
) -> list[str]:
    # A summary replaces one span: a kept conversational item inside it would end up
    # after the summary of things said later, so the span stops there.
    span: list[str] = []
    for item in items[index_of[ordered[0]] :]:
        if item.id in removable:
            span.append(item.id)
        elif is_instruction(item) or is_structural(item):
            continue
        else:
            break
    in_span = set(span)
    for item_id in ordered:
        if item_id not in in_span:
            kept[item_id] = "not_contiguous"
    return span
