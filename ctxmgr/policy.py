"""Policies decide *what* to compact; every plan then passes the guard.

```python
policy = policy_from_settings(Settings(policy="summarize"))
plan = policy.plan(agent.chat_ctx, counter=TokenCounter())
```

All built-in policies cut at turn boundaries (before a user message), from the
oldest turn onwards, deep enough to reach the low-water ``target_tokens`` in one
go: each compaction rewrites the start of the context and re-bills the rest
without the prompt-cache discount, so one deep cut beats many shallow ones.
"""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections.abc import Collection
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal, Protocol, runtime_checkable

from livekit.agents import llm

from .chat_items import INSTRUCTION, STRUCTURAL, SUMMARY, USER_TURN
from .guard import Boundary, TailWindow, frozen_boundary, guard_plan
from .plan import CompactionPlan, PlanAction
from .settings import Settings
from .tally import Tally
from .tokens import REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TokenCounter

__all__ = [
    "Policy",
    "TrimPolicy",
    "SummarizePolicy",
    "TokenBudgetPolicy",
    "policy_from_settings",
]


@runtime_checkable
class Policy(Protocol):
    """Decides what to compact. Implementations must be pure (no I/O, no awaiting)."""

    @property
    def name(self) -> str:
        """Short name used in events and logs."""
        ...

    @property
    def tail(self) -> TailWindow:
        """The tail window the guard protects for this policy."""
        ...

    @property
    def summary_tokens(self) -> int:
        """Expected size of a summary (0 for policies that never summarize)."""
        ...

    def plan(
        self,
        chat_ctx: llm.ChatContext,
        *,
        counter: TokenCounter,
        protected_ids: Collection[str] = (),
    ) -> CompactionPlan | None:
        """The compaction to apply now, or ``None`` when nothing can or need be removed."""
        ...


@dataclass(frozen=True)
class _TurnPolicy:
    target_tokens: int
    tail: TailWindow = TailWindow()
    summary_tokens: int = 0
    name: str = "turns"
    action: PlanAction = "trim"
    fallback: Literal["trim"] | None = None

    def plan(
        self,
        chat_ctx: llm.ChatContext,
        *,
        counter: TokenCounter,
        protected_ids: Collection[str] = (),
    ) -> CompactionPlan | None:
        items = list(chat_ctx.items)
        tally = counter.tally(items)
        counts = tally.counts
        boundary = frozen_boundary(items, counts, self.tail, protected_ids, tally=tally)
        remove_ids, notes = self._select(tally, boundary)
        if not remove_ids:
            return None
        total = sum(counts) + REPLY_PRIMING_TOKENS
        draft = CompactionPlan(
            action=self.action,
            remove_ids=remove_ids,
            insert_after_id=None,
            tokens_before=total,
            tokens_after=total,
            fallback=self.fallback,
            notes=notes,
        )
        return guard_plan(
            items,
            draft,
            counter=counter,
            tail=self.tail,
            protected_ids=protected_ids,
            summary_tokens=self.summary_tokens,
            counts=counts,
            boundary=boundary,
            tally=tally,
        ).plan

    def deepest(self) -> _TurnPolicy:
        """This policy cutting as deep as its tail window allows (the cost rule's cut)."""
        deep = copy.copy(self)
        object.__setattr__(deep, "target_tokens", 0)
        return deep

    def _select(self, tally: Tally, boundary: Boundary) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The ids to remove: what is removable before the shallowest valid cut that reaches
        the target, else before the deepest valid cut (``target_unreachable``).

        A cut at k removes what is removable in items[:k]. Valid cuts sit at a turn start
        (or the boundary), split no call from its output, and fold some conversation:
        folding a summary alone into a new summary would only rewrite it. Only the
        removable tokens before each cut are summed over every item (at C speed); the
        cuts themselves are looked for from where the target is reached.
        """
        kinds, end = tally.kinds, boundary.index
        if end == 0:
            return (), ()
        # removable[i]: the tokens items[i] frees (0 for the items this policy keeps)
        keep = INSTRUCTION | STRUCTURAL | (0 if self.action == "summarize" else SUMMARY)
        kept = [i for i in tally.marked if kinds[i] & keep]
        removable = list(tally.counts)
        for i in kept:
            removable[i] = 0
        freed = list(accumulate(removable, initial=0))  # freed[k]: by a cut at k
        conversation = next(
            (i for i, kind in enumerate(kinds[:end]) if not kind & (keep | SUMMARY)), None
        )
        if conversation is None:
            return (), ()
        # straddle[k] > 0: some unit has members both before k and at/after k
        straddle = [0] * (len(kinds) + 2)
        for unit in tally.members().values():
            lo, hi = unit[0], unit[-1]
            if lo < hi:
                straddle[lo + 1] += 1
                straddle[hi + 1] -= 1
        straddling = list(accumulate(straddle))

        def valid(k: int) -> bool:
            at_turn = k == end or kinds[k] & USER_TURN
            return bool(at_turn) and straddling[k] == 0

        total = sum(tally.counts) + REPLY_PRIMING_TOKENS
        summary_cost = self.summary_tokens + TOKENS_PER_MESSAGE + 1
        after_fold = summary_cost if self.action == "summarize" else 0
        # a cut reaches the target once it frees total + summary - target tokens
        reach = bisect_left(freed, total + after_fold - self.target_tokens)
        first = conversation + 1
        best = next((k for k in range(max(first, reach), end + 1) if valid(k)), None)
        notes: tuple[str, ...] = ()
        if best is None:
            best = next((k for k in range(end, first - 1, -1) if valid(k)), None)
            if best is None:
                return (), ()
            notes = ("target_unreachable",) if self.target_tokens else ()
        return self._ids(tally, best, kept), notes

    @staticmethod
    def _ids(tally: Tally, k: int, kept: list[int]) -> tuple[str, ...]:
        """The ids of items[:k] but the ``kept`` indices (few: copied between them)."""
        ids: list[str] = []
        start = 0
        for i in kept:
            if i >= k:
                break
            ids += tally.ids[start:i]
            start = i + 1
        ids += tally.ids[start:k]
        return tuple(ids)


class TrimPolicy(_TurnPolicy):
    """Drops the oldest whole turns (calls with their outputs); earlier summaries stay."""

    def __init__(self, *, target_tokens: int, tail: TailWindow = TailWindow()) -> None:
        super().__init__(target_tokens=target_tokens, tail=tail, name="trim", action="trim")


class SummarizePolicy(_TurnPolicy):
    """Folds the oldest turns, and any earlier summary, into one running summary."""

    def __init__(
        self,
        *,
        target_tokens: int,
        tail: TailWindow = TailWindow(),
        summary_tokens: int = 400,
        name: str = "summarize",
        fallback: Literal["trim"] | None = None,
    ) -> None:
        super().__init__(
            target_tokens=target_tokens,
            tail=tail,
            summary_tokens=summary_tokens,
            name=name,
            action="summarize",
            fallback=fallback,
        )


class TokenBudgetPolicy(SummarizePolicy):
    """Summarizes; its plans ask for a trim when the summarizer fails or the budget still fails."""

    def __init__(
        self, *, target_tokens: int, tail: TailWindow = TailWindow(), summary_tokens: int = 400
    ) -> None:
        super().__init__(
            target_tokens=target_tokens,
            tail=tail,
            summary_tokens=summary_tokens,
            name="token_budget",
            fallback="trim",
        )


def tail_from_settings(settings: Settings) -> TailWindow:
    """The tail window a ``Settings`` describes."""
    return TailWindow(settings.keep_last_turns, settings.keep_last_tokens)


def policy_from_settings(settings: Settings) -> Policy:
    """The built-in policy for ``settings.strategy``."""
    tail = tail_from_settings(settings)
    target = settings.effective_target_tokens
    summary_tokens = settings.summarizer.max_summary_tokens
    if settings.strategy == "trim":
        return TrimPolicy(target_tokens=target, tail=tail)
    if settings.strategy == "summarize":
        return SummarizePolicy(target_tokens=target, tail=tail, summary_tokens=summary_tokens)
    return TokenBudgetPolicy(target_tokens=target, tail=tail, summary_tokens=summary_tokens)
