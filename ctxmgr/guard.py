"""The guard: invariants 1-4 of DESIGN.md, applied to every plan of every policy.

Pure functions over chat items. ``guard_plan`` repairs a plan (drops what it may
not touch) or rejects it (returns no plan); it never lets a violation through:

1. the tail window (last N turns, last K tokens) is never touched; with no tail
   window, the turn being answered (a user turn no reply follows yet) still is not;
2. protected ids (remote-only items, placeholders) and everything after the
   oldest of them are never touched; neither is a call in progress (no output
   yet, or livekit's running placeholder) nor anything after it;
3. a call and its output (and parallel calls sharing a ``group_id``) go
   together or not at all;
4. instructions and local bookkeeping are never touched; earlier summaries are
   only ever folded into a new summary, never trimmed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from livekit.agents import llm

from .chat_items import (
    INSTRUCTION,
    STRUCTURAL,
    SUMMARY,
    USER_TURN,
    is_reply,
    is_user_turn_start,
    oldest_in_progress_index,
)
from .plan import CompactionPlan
from .tally import Tally
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


def _unanswered_turn(items: Sequence[llm.ChatItem]) -> int | None:
    """Index of the last user turn when no reply follows it: the turn being answered,
    which even an empty tail window keeps."""
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if is_reply(item):
            return None
        if is_user_turn_start(item):
            return i
    return None


def frozen_boundary(
    items: Sequence[llm.ChatItem],
    counts: Sequence[int],
    tail: TailWindow,
    protected_ids: Collection[str] = (),
    *,
    tally: Tally | None = None,
) -> Boundary:
    """The first index no compaction may touch, and the rule that put it there.

    Args:
        tally: ``items``' tally, when the caller has one: its facts are read instead of
            the items (the same answer, faster).
    """
    candidates: list[tuple[int, KeepReason]] = []
    if tail.keep_last_turns > 0:
        # from the end: only the tail is walked
        seen, start = 0, 0
        for i in range(len(items) - 1, -1, -1):
            if tally.kinds[i] & USER_TURN if tally is not None else is_user_turn_start(items[i]):
                seen += 1
                if seen == tail.keep_last_turns:
                    start = i
                    break
        candidates.append((start, "tail_turns"))
    elif (unanswered := _unanswered_turn(items)) is not None:
        candidates.append((unanswered, "tail_turns"))
    if tail.keep_last_tokens > 0:
        total, index = 0, len(items)
        while index > 0 and total < tail.keep_last_tokens:
            index -= 1
            total += counts[index]
        candidates.append((index, "tail_tokens"))
    if protected_ids:
        ids = tally.ids if tally is not None else [item.id for item in items]
        first = next((i for i, item_id in enumerate(ids) if item_id in protected_ids), None)
        if first is not None:
            candidates.append((first, "protected"))
    in_progress = tally.oldest_in_progress() if tally is not None else oldest_in_progress_index(items)
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
    tally: Tally | None = None,
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
        tally: ``counter.tally`` of ``chat_ctx``, likewise.
    """
    items = list(chat_ctx.items if isinstance(chat_ctx, llm.ChatContext) else chat_ctx)
    if tally is None:
        tally = counter.tally(items)
    if counts is None:
        counts = tally.counts
    if boundary is None:
        boundary = frozen_boundary(items, counts, tail, protected_ids, tally=tally)
    # invariant 4: what no plan touches, and summaries, which only a summary may fold
    forbidden = INSTRUCTION | STRUCTURAL | (SUMMARY if plan.action == "trim" else 0)
    ordered, kept = _allowed(
        tally, plan.remove_ids, boundary, forbidden=forbidden, contiguous=plan.action == "summarize"
    )
    if not ordered:
        return GuardResult(None, kept)

    ids = tally.ids
    first = ordered[0]
    if isinstance(ordered, range):
        removed_tokens = sum(counts[first : ordered.stop])
    else:
        removed_tokens = sum(map(counts.__getitem__, ordered))
    tokens_before = sum(counts) + REPLY_PRIMING_TOKENS
    tokens_after = tokens_before - removed_tokens
    if plan.action == "summarize":
        tokens_after += summary_tokens + TOKENS_PER_MESSAGE + 1
    inside = _members(ordered)
    guarded = replace(
        plan,
        remove_ids=(
            ids[first : ordered.stop]
            if isinstance(ordered, range)
            else tuple(map(ids.__getitem__, ordered))
        ),
        insert_after_id=ids[first - 1] if first > 0 else None,
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        folded_summary_ids=tuple(
            ids[i] for i in tally.marked if tally.kinds[i] & SUMMARY and i in inside
        ),
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
    tally = counter.tally(items)
    wanted_set = set(remove_ids)
    wanted = [item_id for item_id in tally.ids if item_id in wanted_set]
    if boundary is None:
        boundary = frozen_boundary(items, tally.counts, tail, protected_ids, tally=tally)
    ordered, kept = _allowed(tally, wanted, boundary, forbidden=0, contiguous=False)
    return frozenset(map(tally.ids.__getitem__, ordered)), kept


_Indices = range | list[int]
"""Item indices in context order: a ``range`` when they are one run (the usual plan)."""


def _allowed(
    tally: Tally,
    wanted: Sequence[str],
    boundary: Boundary,
    *,
    forbidden: int,
    contiguous: bool,
) -> tuple[_Indices, tuple[tuple[str, KeepReason], ...]]:
    """The indices of ``wanted`` that may go, in context order, and why each other was kept.

    ``forbidden``: the kinds (``chat_items`` flags) a plan may not remove.
    """
    ids, kinds = tally.ids, tally.kinds
    refused: dict[str, KeepReason] = {}
    at = _positions(ids, wanted)
    if len(at) < len(wanted):
        present = {ids[i] for i in at}
        refused.update((item_id, "missing") for item_id in wanted if item_id not in present)
    cut = bisect_left(at, boundary.index)
    for i in at[cut:]:
        assert boundary.reason is not None  # an index past the boundary: one was set
        refused[ids[i]] = boundary.reason
    ordered: _Indices = at[:cut]
    if forbidden:
        inside = _members(ordered)
        ruled = [i for i in tally.marked if kinds[i] & forbidden and i in inside]
        refused.update((ids[i], _rule(kinds[i])) for i in ruled)
        ordered = _without(ordered, ruled)
    # reported in the order the caller named them
    kept = {i: refused[i] for i in wanted if i in refused} if refused else {}

    members = tally.members()
    # Pair closure and (for a summary) contiguity each shrink the set; repeat until
    # neither changes it, so that neither can undo the other.
    while True:
        size = len(ordered)
        inside = _members(ordered)
        split = []
        for group in members.values():
            going = [m for m in group if m in inside]
            if going and len(going) < len(group):
                split += going
        for i in split:
            kept[ids[i]] = "pair"
        ordered = _without(ordered, split)
        if contiguous and ordered:
            ordered = _contiguous_prefix(tally, ordered, kept)
        if len(ordered) == size:
            return ordered, tuple(kept.items())


def _positions(ids: Sequence[str], wanted: Sequence[str]) -> _Indices:
    """Where ``wanted``'s ids are in ``ids``, in context order (the absent ones left out)."""
    if wanted and wanted[0] in ids:
        # the usual plan names one run of the context: two scans at C speed find it
        start = ids.index(wanted[0])
        if tuple(ids[start : start + len(wanted)]) == tuple(wanted):
            return range(start, start + len(wanted))
    wanted_set = set(wanted)
    return [i for i, item_id in enumerate(ids) if item_id in wanted_set]


def _members(indices: _Indices) -> Collection[int]:
    """``indices`` for membership tests (a range answers them as it is)."""
    return indices if isinstance(indices, range) else set(indices)


def _without(indices: _Indices, dropped: Collection[int]) -> _Indices:
    if not dropped:
        return indices
    gone = set(dropped)
    return [i for i in indices if i not in gone]


def _rule(kind: int) -> KeepReason:
    if kind & INSTRUCTION:
        return "instruction"
    if kind & STRUCTURAL:
        return "structural"
    return "summary"


def _contiguous_prefix(
    tally: Tally, ordered: _Indices, kept: dict[str, KeepReason]
) -> _Indices:
    # A summary replaces one span: a kept conversational item inside it would end up
    # after the summary of things said later, so the span stops there. Instructions and
    # bookkeeping inside it stay where they are.
    if isinstance(ordered, range):
        return ordered
    kinds = tally.kinds
    for j in range(1, len(ordered)):
        before, at = ordered[j - 1], ordered[j]
        if at > before + 1 and any(
            not kinds[i] & (INSTRUCTION | STRUCTURAL) for i in range(before + 1, at)
        ):
            for i in ordered[j:]:
                kept[tally.ids[i]] = "not_contiguous"
            return ordered[:j]
    return ordered
