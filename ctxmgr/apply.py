"""The applier: lock -> quiescent -> re-read -> insert summary -> confirm -> delete -> verify.

One code path for every backend (DESIGN.md invariants 5-8):

- every apply holds one lock and starts only when no response is in progress
  (bounded wait; on timeout the round is skipped, never forced);
- the plan is re-validated against the live context right before each step:
  items that arrived, changed or became protected since the plan was made are kept;
- on a backend that reaches a server (``two_step``), the summary is inserted
  first and confirmed in the remote mirror before the folded span is deleted; a
  failure between the steps leaves both, never neither. A local-only backend
  gets one update, which is atomic;
- the result is verified against the live context (and the remote mirror).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Literal

from livekit.agents import llm

from .backends.base import Backend
from .events import FailureStage, SkipReason
from .guard import TailWindow, guard_plan
from .plan import CompactionPlan
from .signals import POLL_INTERVAL_S, wait_quiescent
from .tokens import TokenCounter

__all__ = ["Applier", "ApplyOutcome", "fingerprints"]


def fingerprints(chat_ctx: llm.ChatContext, ids: Collection[str]) -> dict[str, bytes]:
    """Content digests of ``ids`` now, to recognise items that change before the apply."""
    wanted = set(ids)
    return {item.id: item._fingerprint() for item in chat_ctx.items if item.id in wanted}


@dataclass(frozen=True)
class ApplyOutcome:
    """What an apply did."""

    status: Literal["applied", "skipped", "failed"]
    plan: CompactionPlan | None = None
    """The plan as applied (after re-validation), when applied."""
    kept_ids: tuple[str, ...] = ()
    """Ids the original plan named that the apply kept."""
    skip_reason: SkipReason | None = None
    stage: FailureStage | None = None
    error: BaseException | None = None


class _Skip(Exception):
    def __init__(self, reason: SkipReason) -> None:
        self.reason = reason


class _Fail(Exception):
    def __init__(self, stage: FailureStage, error: BaseException) -> None:
        self.stage = stage
        self.error = error


class Applier:
    """Applies plans to one backend, one at a time."""

    def __init__(
        self,
        backend: Backend,
        *,
        counter: TokenCounter,
        tail: TailWindow,
        quiescence_timeout_s: float,
        confirm_timeout_s: float = 5.0,
        protected_ids: Callable[[], Collection[str]] = frozenset,
    ) -> None:
        self.backend = backend
        self.lock = asyncio.Lock()
        """Shared by every apply and every guarded foreign update."""
        self._counter = counter
        self._tail = tail
        self._quiescence_timeout_s = quiescence_timeout_s
        self._confirm_timeout_s = confirm_timeout_s
        self._protected_ids = protected_ids

    async def apply(
        self,
        plan: CompactionPlan,
        *,
        summary: llm.ChatMessage | None,
        planned_fingerprints: dict[str, bytes],
        before_delete: Callable[[CompactionPlan], None] | None = None,
    ) -> ApplyOutcome:
        """Apply ``plan`` (with ``summary`` for a summarize plan) safely, or leave the context.

        Args:
            plan: the plan as made from an earlier snapshot.
            summary: the summary message replacing the span, ``None`` for a trim.
            planned_fingerprints: content digests of the planned items at plan time;
                an item whose content changed since is kept.
            before_delete: called with the final plan right before anything is deleted
                (e.g. to archive the items); an exception aborts the delete.
        """
        async with self.lock:
            try:
                final = await self._apply_locked(plan, summary, planned_fingerprints, before_delete)
            except _Skip as skip:
                return ApplyOutcome("skipped", skip_reason=skip.reason)
            except _Fail as fail:
                return ApplyOutcome("failed", stage=fail.stage, error=fail.error)
        kept = tuple(i for i in plan.remove_ids if i not in set(final.remove_ids))
        return ApplyOutcome("applied", plan=final, kept_ids=kept)

    async def _apply_locked(
        self,
        plan: CompactionPlan,
        summary: llm.ChatMessage | None,
        planned_fingerprints: dict[str, bytes],
        before_delete: Callable[[CompactionPlan], None] | None,
    ) -> CompactionPlan:
        await self._wait_quiescent()
        current = self._revalidate(plan, planned_fingerprints, summary)
        before = [self._ids(self.backend.read_local()), self._ids(self.backend.read_remote())]
        if summary is not None and self.backend.two_step:
            await self._step(self._with_summary(current, summary, remove=False), "insert")
            await self._confirm(summary.id)
            await self._wait_quiescent(stage="delete")
            current = self._revalidate(current, planned_fingerprints, summary)
            self._archive(before_delete, current)
            await self._step(self._without(current.remove_ids), "delete")
        else:
            self._archive(before_delete, current)
            if summary is not None:
                await self._step(self._with_summary(current, summary, remove=True), "insert")
            else:
                await self._step(self._without(current.remove_ids), "delete")
        self._verify(current, summary, before)
        return current

    async def _wait_quiescent(self, stage: FailureStage | None = None) -> None:
        if await wait_quiescent(self.backend.is_quiescent, self._quiescence_timeout_s):
            return
        if stage is None:
            raise _Skip("not_quiescent")
        raise _Fail(stage, TimeoutError("no quiet moment to delete the summarized span"))

    def _revalidate(
        self,
        plan: CompactionPlan,
        planned_fingerprints: dict[str, bytes],
        summary: llm.ChatMessage | None,
    ) -> CompactionPlan:
        live = self.backend.read_local()
        now = fingerprints(live, plan.remove_ids)
        unchanged = tuple(i for i in plan.remove_ids if now.get(i) == planned_fingerprints.get(i))
        if not unchanged:
            raise _Skip("plan_went_stale")
        items = [i for i in live.items if summary is None or i.id != summary.id]
        result = guard_plan(
            items,
            replace(plan, remove_ids=unchanged),
            counter=self._counter,
            tail=self._tail,
            protected_ids=self._protected_ids(),
        )
        if result.plan is None:
            raise _Skip("plan_went_stale")
        return result.plan

    def _with_summary(
        self, plan: CompactionPlan, summary: llm.ChatMessage, *, remove: bool
    ) -> llm.ChatContext:
        items = list(self.backend.read_local().items)
        ids = [i.id for i in items]
        first = ids.index(plan.remove_ids[0])
        at = ids.index(plan.insert_after_id) + 1 if plan.insert_after_id in ids else first
        # order by creation time like livekit does: just before the first folded item
        placed = summary.model_copy(update={"created_at": items[first].created_at - 1e-6})
        items.insert(at, placed)
        if remove:
            gone = set(plan.remove_ids)
            items = [i for i in items if i.id not in gone]
        return llm.ChatContext(items)

    def _without(self, remove_ids: Collection[str]) -> llm.ChatContext:
        gone = set(remove_ids)
        return llm.ChatContext([i for i in self.backend.read_local().items if i.id not in gone])

    async def _step(self, chat_ctx: llm.ChatContext, stage: FailureStage) -> None:
        try:
            await self.backend.update(chat_ctx)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - every failure is reported, none is lost
            raise _Fail(stage, e) from e

    async def _confirm(self, summary_id: str) -> None:
        deadline = time.monotonic() + self._confirm_timeout_s
        while True:
            remote = self.backend.read_remote()
            local_ok = self.backend.read_local().get_by_id(summary_id) is not None
            if local_ok and (remote is None or remote.get_by_id(summary_id) is not None):
                return
            if time.monotonic() >= deadline:
                raise _Fail("confirm", TimeoutError("the summary was not confirmed by the server"))
            await asyncio.sleep(POLL_INTERVAL_S)

    def _archive(
        self, before_delete: Callable[[CompactionPlan], None] | None, plan: CompactionPlan
    ) -> None:
        if before_delete is None:
            return
        try:
            before_delete(plan)
        except Exception as e:  # noqa: BLE001
            raise _Fail("archive", e) from e

    @staticmethod
    def _ids(chat_ctx: llm.ChatContext | None) -> set[str] | None:
        return None if chat_ctx is None else {i.id for i in chat_ctx.items}

    def _verify(
        self,
        plan: CompactionPlan,
        summary: llm.ChatMessage | None,
        before: list[set[str] | None],
    ) -> None:
        gone = set(plan.remove_ids)
        views = (self.backend.read_local(), self.backend.read_remote())
        for view, ids_before in zip(views, before):
            ids = self._ids(view)
            if ids is None or ids_before is None:
                continue
            if ids & gone:
                raise _Fail("verify", RuntimeError("folded items are still in the context"))
            if summary is not None and summary.id not in ids:
                raise _Fail("verify", RuntimeError("the summary is missing from the context"))
            if (ids_before - gone) - ids:
                raise _Fail("verify", RuntimeError("items outside the plan left the context"))
