"""The applier: quiet -> lock -> re-read -> insert summary -> confirm -> delete -> verify.

One code path for every backend (DESIGN.md invariants 5-8):

- a mutation starts only when no response is in progress (bounded wait; on
  timeout the round is skipped, never forced) and runs under the one lock that
  every apply and every guarded foreign update share. The lock is taken after the
  quiet moment is found, not while waiting for it: livekit delivers tool results
  through ``update_chat_ctx``, and a lock held while waiting for the agent to go
  quiet would stall the very tool reply that makes it quiet;
- the plan is re-validated against the live context right before each step:
  items that arrived, changed or became protected since the plan was made are kept;
- every context sent is the live union of the local and the remote context, in
  the server's order, so no remote item is deleted by omission;
- on a backend that reaches a server (``two_step``) the summary is inserted first
  and confirmed in the remote mirror before the folded span is deleted: a failure
  between the steps leaves both, never neither. A local-only backend gets one
  update, which is atomic;
- the result is verified against the live context and the remote mirror.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, replace
from typing import Literal

from livekit.agents import llm

from ._exceptions import RealtimeSyncError
from .backends.base import Backend
from .chat_items import dates_a_copy, reaches_server
from .compose import live_union, weave
from .digests import Digests, Fingerprint, fingerprints
from .events import FailureStage, SkipReason
from .guard import Boundary, KeepReason, TailWindow, frozen_boundary, guard_plan, guard_removals
from .log import logger
from .plan import CompactionPlan
from .signals import POLL_INTERVAL_S, wait_quiescent
from .tokens import TokenCounter

__all__ = ["Applier", "ApplyOutcome", "BeforeDelete", "UpdateOutcome", "fingerprints"]

QUIET_ATTEMPTS = 3
"""How often a step waits for a quiet moment again when one ended before its send."""
REMEMBERED_REMOVALS = 10_000
"""How many removed ids the applier remembers, so that a stale copy cannot bring them back."""
DELETE_ATTEMPTS = 3
"""How often the delete step sends the deletes the server refused (a ``server_error`` is
transient); what is still there after that is reported (``verify``)."""


BeforeDelete = Callable[[CompactionPlan], Awaitable[None] | None]
"""What runs right before a delete (the archive write): a function or a coroutine function."""


def _rewritten(planned: Fingerprint | None, now: Fingerprint | None) -> bool:
    """Gone, or changed other than by growing (a text that filled in keeps its start)."""
    if planned is None or now is None:
        return True
    return now != planned and not now[1].startswith(planned[1])


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
    removed_ids: tuple[str, ...] = ()
    """When failed: the planned items the local context no longer holds (a delete cut
    short); some may still be on the server (``RealtimeSyncError.undeleted_ids``)."""
    summary_inserted: bool = False
    """When failed: the summary was inserted and confirmed before the failure (it stays,
    beside the span it summarizes)."""


@dataclass(frozen=True)
class UpdateOutcome:
    """What a guarded foreign update did."""

    removed_ids: tuple[str, ...]
    """Items the caller dropped that were removed."""
    kept: tuple[tuple[str, str], ...]
    """Items the caller dropped that the guard kept, and why (a ``KeepReason``;
    ``"unseen"``: newer than the caller's context; ``"unsynced"``: the server never
    confirmed it; ``"not_quiescent"``); and messages whose text the caller changed that
    kept their text (``"edit_deferred"``: the plugin would delete and re-create them
    where a removal is not allowed)."""
    deferred_ids: tuple[str, ...] = ()
    """Removals the guard allows that found no quiet moment (kept as ``not_quiescent``):
    the caller's to try again."""


def _partial_copy(copy: llm.ChatItem, live: llm.ChatItem) -> bool:
    """A message copied before its text was complete: its text is a strict prefix of the live one."""
    if not isinstance(copy, llm.ChatMessage) or not isinstance(live, llm.ChatMessage):
        return False
    old, new = copy.raw_text_content or "", live.raw_text_content or ""
    return len(old) < len(new) and new.startswith(old)


def _anchored_before(
    items: list[llm.ChatItem], movable: Collection[str], avoid: Collection[str]
) -> list[llm.ChatItem]:
    """``items`` with each movable item moved before the run of ``avoid`` items right
    before it (so that it follows none of them)."""
    if not avoid:
        return items
    out: list[llm.ChatItem] = []
    for item in items:
        at = len(out)
        if item.id in movable:
            while at > 0 and out[at - 1].id in avoid:
                at -= 1
        out.insert(at, item)
    return out


def _edited(items: Collection[llm.ChatItem], server: dict[str, llm.ChatItem]) -> list[str]:
    """Ids of the messages whose text differs from the server's copy (a delete and a create
    to the plugin)."""
    return [
        i.id
        for i in items
        if isinstance(i, llm.ChatMessage)
        and i.id in server
        and i is not server[i.id]
        and not _same_text(i, server[i.id])
    ]


def _same_text(copy: llm.ChatItem, live: llm.ChatItem) -> bool:
    return (
        isinstance(copy, llm.ChatMessage)
        and isinstance(live, llm.ChatMessage)
        and copy.raw_text_content == live.raw_text_content
    )


_PAIR_TYPES = (llm.FunctionCall, llm.FunctionCallOutput)
_ID = operator.attrgetter("id")


class _NotQuiet(Exception):
    """A response or a tool started between the quiet moment and the send."""


class _ArchiveFirst(Exception):
    """The step's plan holds items not archived yet: they are written outside the lock."""

    def __init__(self, plan: CompactionPlan) -> None:
        self.plan = plan


class _Skip(Exception):
    def __init__(self, reason: SkipReason) -> None:
        self.reason = reason


class _Fail(Exception):
    def __init__(self, stage: FailureStage, error: BaseException) -> None:
        self.stage = stage
        self.error = error


class Applier:
    """Applies plans and guarded updates to one backend, one at a time."""

    def __init__(
        self,
        backend: Backend,
        *,
        counter: TokenCounter,
        tail: TailWindow,
        quiescence_timeout_s: float,
        confirm_timeout_s: float = 5.0,
    ) -> None:
        self.backend = backend
        self.lock = asyncio.Lock()
        """Shared by every apply and every guarded foreign update."""
        self._counter = counter
        self._tail = tail
        self._quiescence_timeout_s = quiescence_timeout_s
        self._confirm_timeout_s = confirm_timeout_s
        self._deleting: tuple[str, ...] = ()
        self._in_flight: tuple[str, ...] = ()
        """The summary of the compaction between its insert (confirmed) and its delete: the
        remote view of a guarded update leaves it out, as the compaction's own does (it
        protects nothing)."""
        self._clock = 0
        self._entered: dict[str, int] = {}
        """When each item of the agent's context was first observed there (``observe``)."""
        self._observed: tuple[int, int, str | None] | None = None
        """The agent's item list as last observed: its identity, length and last id."""
        self.digests = Digests()
        """Fingerprints of the planned items, kept while they stay unchanged: each
        re-validation compares them without digesting them all again."""
        self._removed: dict[str, bool] = {}
        """Ids removed on purpose (folded, trimmed, or by a guarded update), oldest first;
        True for those an update removed (the application's, not a compaction's)."""
        self._wake = asyncio.Event()
        """Set by ``observe``: a waiting step checks for a quiet moment at once."""
        self._suspects: set[str] = set()
        """Ids the mirror holds that the server may have deleted (a delete whose
        acknowledgement never came: ``RealtimeSyncError.undeleted_ids``)."""

    def observe(self) -> None:
        """Note which items are in the agent's context now; call on every session event.

        A caller's context can only hold what was there when it was copied: an item first
        observed no earlier than the newest item of the copy may have arrived after the
        copy was taken, and an update made from it never removes it.
        """
        self._wake.set()
        self._clock += 1
        items = self.backend.read_local().items
        # most events (agent and user state) change no item: skip the walk over them all.
        # An item that arrived unnoticed (one swapped for another in place) is noted at
        # the next change, as newer than it is: an update then keeps it, never removes it
        mark = (id(items), len(items), items[-1].id if items else None)
        seen = self._observed
        if mark == seen:
            return
        self._observed = mark
        entered, clock = self._entered, self._clock
        if seen is not None and seen[0] == mark[0] and 0 < seen[1] < mark[1] and (
            items[seen[1] - 1].id == seen[2]
        ):
            # the same list, grown at its end (most turns): only the new items are noted;
            # ids that left it are dropped at the next other change
            for item in items[seen[1] :]:
                entered.setdefault(item.id, clock)
            return
        self._entered = {i.id: entered.get(i.id, clock) for i in items}

    def was_removed(self, item_id: str) -> bool:
        """True when ``item_id`` was removed on purpose (folded, trimmed, or by an update)."""
        return item_id in self._removed

    def holds_removed(self, items: Iterable[llm.ChatItem]) -> bool:
        """True when one of ``items`` was removed on purpose: a copy taken before."""
        return bool(self._removed) and not self._removed.keys().isdisjoint(map(_ID, items))

    def _forget(self, ids: Collection[str], *, by_update: bool = False) -> None:
        removed = self._removed
        self.digests.forget(ids)
        for item_id in ids:
            removed.pop(item_id, None)
            removed[item_id] = by_update
        while len(removed) > REMEMBERED_REMOVALS:
            del removed[next(iter(removed))]

    # -- plans ---------------------------------------------------------------------------

    async def apply(
        self,
        plan: CompactionPlan,
        *,
        summary: llm.ChatMessage | None,
        planned_fingerprints: dict[str, Fingerprint],
        before_delete: BeforeDelete | None = None,
    ) -> ApplyOutcome:
        """Apply ``plan`` (with ``summary`` for a summarize plan) safely, or leave the context.

        Args:
            plan: the plan as made from an earlier snapshot.
            summary: the summary message replacing the span, ``None`` for a trim.
            planned_fingerprints: content digests of the planned items at plan time;
                an item whose content changed since is kept.
            before_delete: called with the plan before anything is deleted (e.g. to
                archive the items); an exception aborts the delete. It may return an
                awaitable (a write off the event loop): it runs outside the lock, before
                the step that deletes, which validates the plan again and deletes nothing
                that was not archived.
        """
        try:
            final = await self._apply(plan, summary, planned_fingerprints, before_delete)
        except _Skip as skip:
            return ApplyOutcome("skipped", skip_reason=skip.reason)
        except _Fail as fail:
            still = {i.id for i in self.backend.read_local().items}
            removed = tuple(i for i in self._deleting if i not in still)
            self._forget(removed)
            return ApplyOutcome(
                "failed",
                stage=fail.stage,
                error=fail.error,
                removed_ids=removed,
                summary_inserted=bool(self._in_flight),
            )
        finally:
            self._deleting = ()
            self._in_flight = ()
        self._forget(final.remove_ids)
        gone = set(final.remove_ids)
        kept = tuple(i for i in plan.remove_ids if i not in gone)
        return ApplyOutcome("applied", plan=final, kept_ids=kept)

    async def _apply(
        self,
        plan: CompactionPlan,
        summary: llm.ChatMessage | None,
        planned_fingerprints: dict[str, Fingerprint],
        before_delete: BeforeDelete | None,
    ) -> CompactionPlan:
        two_step = summary is not None and self.backend.two_step
        archived: set[str] = set()

        async def archive(current: CompactionPlan) -> None:
            """Run ``before_delete`` (the archive write) outside the lock, between quiet
            moments: a write off the event loop takes time in which a reply may start."""
            if before_delete is None:
                return
            try:
                pending = before_delete(current)
                if pending is not None:
                    await pending
            except Exception as e:  # noqa: BLE001
                raise _Fail("archive", e) from e
            archived.update(current.remove_ids)

        def archived_first(current: CompactionPlan) -> None:
            """Nothing is deleted that was not archived: a step whose plan holds an item
            not written yet lets go of the lock to write it, then starts over."""
            if before_delete is not None and not archived.issuperset(current.remove_ids):
                raise _ArchiveFirst(current)

        async def first_step() -> CompactionPlan:
            current = self._revalidate(plan, planned_fingerprints, summary)
            if two_step:
                assert summary is not None
                await self._step(
                    lambda: self._with_summary(current, summary, remove=False), "insert"
                )
                try:
                    await self._confirm({summary.id})
                except _Fail:
                    await self._withdraw(summary)
                    raise
                self._in_flight = (summary.id,)
                return current
            archived_first(current)
            before = self._id_sets()
            if summary is not None:
                await self._step(
                    lambda: self._with_summary(current, summary, remove=True), "insert"
                )
            else:
                await self._delete(current)
            self._verify(current, summary, before)
            return current

        current = await self._while_quiet(first_step, archive, stage=None)
        if not two_step:
            return current

        async def delete_step() -> CompactionPlan:
            try:
                final = self._revalidate(current, planned_fingerprints, summary)
            except _Skip as skip:
                if skip.reason == "span_edited":
                    assert summary is not None
                    await self._take_back(summary)
                    raise
                # the summary is in: not a skip, the compaction stopped half-way (both kept)
                error = RuntimeError(f"nothing left to delete: {skip.reason}")
                raise _Fail("delete", error) from None
            before = self._id_sets()
            if summary is not None and any(
                ids is not None and summary.id not in ids for ids in before
            ):
                # an update removed it between the steps: the span is all that is left
                raise _Fail("delete", RuntimeError("the summary left before the delete"))
            archived_first(final)
            await self._delete(final)
            self._verify(final, summary, before)
            return final

        return await self._while_quiet(delete_step, archive, stage="delete")

    async def _while_quiet(
        self,
        step: Callable[[], Awaitable[CompactionPlan]],
        archive: Callable[[CompactionPlan], Awaitable[None]],
        *,
        stage: FailureStage | None,
    ) -> CompactionPlan:
        """Run ``step`` under the lock at a quiet moment; again if a response or a tool
        started before its change was sent (nothing was sent then), or once what it
        would delete is archived (the write waited for outside the lock)."""
        attempts = 0
        while attempts < QUIET_ATTEMPTS:
            try:
                async with self._quiet_lock(stage=stage):
                    return await step()
            except _ArchiveFirst as first:
                await archive(first.plan)
            except _NotQuiet:
                attempts += 1
        if stage is None:
            raise _Skip("not_quiescent")
        raise _Fail(stage, TimeoutError("never quiet when the change was sent"))

    @contextlib.asynccontextmanager
    async def _quiet_lock(self, *, stage: FailureStage | None) -> AsyncIterator[None]:
        """Wait for a quiet moment without the lock, then take it while still quiet."""
        deadline = time.monotonic() + self._quiescence_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await wait_quiescent(
                self._ready, remaining, polls=self._polls(), wake=self._wake
            ):
                running = self.backend.is_running()
                if stage is None:
                    raise _Skip("not_quiescent" if running else "agent_inactive")
                what = "no quiet moment" if running else "the agent stopped running"
                raise _Fail(stage, TimeoutError(f"{what} before the next step"))
            async with self.lock:
                if self._ready():
                    yield
                    return

    def _polls(self) -> int:
        return 2 if self.backend.two_step else 1

    def _ready(self) -> bool:
        return self.backend.is_running() and self.backend.is_quiescent()

    def _still_quiet(self) -> None:
        """Called as a context that deletes is built, with nothing awaited before it is
        sent: a response or a tool that started meanwhile (while livekit held its locks)
        stops the send."""
        if not self._ready():
            raise _NotQuiet

    def _revalidate(
        self,
        plan: CompactionPlan,
        planned_fingerprints: dict[str, Fingerprint],
        summary: llm.ChatMessage | None,
    ) -> CompactionPlan:
        items = [i for i in self._union() if summary is None or i.id != summary.id]
        ids = plan.remove_ids
        now = self.digests.of_ids(items, ids)
        # the usual case, checked at C speed: every planned item there, as planned
        as_planned = len(now) == len(ids) and all(
            map(operator.eq, map(now.__getitem__, ids), map(planned_fingerprints.get, ids))
        )
        if (
            summary is not None
            and not (as_planned and self._removed.keys().isdisjoint(ids))
            and any(self._edited_since(i, planned_fingerprints.get(i), now.get(i)) for i in ids)
        ):
            # the summary was written from the span as planned: an item removed or edited
            # since (the application's redaction) would come back inside its text
            raise _Skip("span_edited")
        pinned = self.backend.pinned_ids()
        unchanged = (
            ids
            if as_planned and not pinned
            else tuple(
                i for i in ids if now.get(i) == planned_fingerprints.get(i) and i not in pinned
            )
        )
        if not unchanged:
            raise _Skip("plan_went_stale")
        # the summary is ours: wherever the mirror put it, it protects nothing
        protected = self.backend.protected_ids(ignoring=(summary.id,) if summary else ())
        result = guard_plan(
            items,
            replace(plan, remove_ids=unchanged),
            counter=self._counter,
            tail=self._tail,
            protected_ids=protected,
            boundary=self._boundary_of_confirmed(items, pinned, protected),
        )
        if result.plan is None:
            raise _Skip("plan_went_stale")
        return result.plan

    def _edited_since(
        self, item_id: str, planned: Fingerprint | None, now: Fingerprint | None
    ) -> bool:
        """An update removed ``item_id`` (the mirror may still list it: an ack lost), or it
        was rewritten or removed otherwise; one a compaction folded or trimmed meanwhile
        is no one's edit."""
        removed_by_update = self._removed.get(item_id)
        if removed_by_update is not None:
            return removed_by_update
        return _rewritten(planned, now)

    def _boundary_of_confirmed(
        self,
        items: list[llm.ChatItem],
        pinned: Collection[str],
        protected: Collection[str],
        tail: TailWindow | None = None,
    ) -> Boundary:
        """The frozen boundary with the tail counted over confirmed items only: a turn the
        server never acknowledged may never have reached it (its create refused), and the
        turns before it would then be the server's own tail.

        The tail is the tail in either order: the server's (``items``) and the agent's.
        livekit adds an interrupted reply to the agent's context when it is cut off, after
        turns the server holds after it (seed 331): it is old on the server and recent
        locally, and stays.
        """
        tail = self._tail if tail is None else tail
        confirmed = [i for i in items if i.id not in pinned] if pinned else items
        counted = self._counter.tally(confirmed)
        if self.backend.read_remote() is None:
            local, in_local = confirmed, counted  # no server: the agent's order is the only one
        else:
            ids = set(counted.ids)
            local = [i for i in self.backend.read_local().items if i.id in ids]
            in_local = self._counter.tally(local)
        local_tail = frozen_boundary(local, in_local.counts, tail, tally=in_local)
        recent = set(in_local.ids[local_tail.index :])
        found = frozen_boundary(
            confirmed, counted.counts, tail, {*protected, *recent}, tally=counted
        )
        if found.index >= len(confirmed):
            return Boundary(len(items), found.reason)
        if confirmed is items:
            return found
        first_frozen = counted.ids[found.index]
        return Boundary(next(n for n, i in enumerate(items) if i.id == first_frozen), found.reason)

    async def _delete(self, plan: CompactionPlan) -> None:
        """Delete the plan's span; send again what the server refused, while still quiet.

        The plugin only logs a refused delete and returns as if it had worked; the
        mirror still holds the item. If some stay after ``DELETE_ATTEMPTS``, a call or
        output among them gets its deleted other half back, so no pair is left split.
        """
        planned = set(plan.remove_ids)
        span = [i for i in self._union() if i.id in planned]
        if self.backend.pinned_ids():
            # local items the mirror lacks (a refused or unacknowledged create) are sent
            # first, on their own: in one update the plugin sends the deletes, then each
            # create anchored to the item before it in what it was sent, and if a delete
            # is refused the create lands before an item the server still holds (seed 673)
            await self._step(lambda: llm.ChatContext(self._union()), "delete")
        await self._step(lambda: self._without(plan.remove_ids), "delete")
        for _ in range(DELETE_ATTEMPTS - 1):
            left = self._still_on_server(plan.remove_ids)
            if not left or not self._ready():
                break
            logger.warning(
                "the server refused deletes; sending them again", extra={"refused": len(left)}
            )
            try:
                await self._step(lambda: self._without(left), "delete")
            except _NotQuiet:
                break
        left = self._still_on_server(plan.remove_ids)
        if left:
            await self._rejoin_pairs(span, left)

    def _still_on_server(self, ids: Collection[str]) -> tuple[str, ...]:
        remote = self.backend.read_remote()
        if remote is None:
            return ()
        held = {i.id for i in remote.items}
        return tuple(i for i in ids if i in held)

    async def _rejoin_pairs(self, span: list[llm.ChatItem], left: Collection[str]) -> None:
        """Re-create the deleted other half of every call or output the server kept."""
        pairs = [i for i in span if isinstance(i, _PAIR_TYPES)]
        kept_calls = {i.call_id for i in pairs if i.id in left}
        lost = [i for i in pairs if i.id not in left and i.call_id in kept_calls]
        if not lost:
            return
        logger.warning(
            "restoring the other half of pairs the server kept", extra={"restored": len(lost)}
        )

        def build() -> llm.ChatContext:
            items = self._union()
            for item in lost:
                if any(i.id == item.id for i in items):
                    continue
                partner = next(
                    (
                        n
                        for n, i in enumerate(items)
                        if isinstance(i, _PAIR_TYPES) and i.call_id == item.call_id
                    ),
                    None,
                )
                if partner is not None:  # an output goes after its call, a call before
                    at = partner + 1 if isinstance(item, llm.FunctionCallOutput) else partner
                    items.insert(at, item)
            return llm.ChatContext(items)

        await self._step(build, "delete")

    async def _withdraw(self, summary: llm.ChatMessage) -> None:
        """Take back a summary the server never confirmed (it refused the create): the
        agent's context must not hold a summary the model never saw, nor keep sending it."""
        remote = self.backend.read_remote()
        if remote is not None and remote.get_by_id(summary.id) is not None:
            return
        self._forget((summary.id,))  # nor may a copy taken meanwhile bring it back (seed 15)
        with contextlib.suppress(Exception):
            await self.backend.update(
                lambda: llm.ChatContext([i for i in self._union() if i.id != summary.id])
            )

    async def _take_back(self, summary: llm.ChatMessage) -> None:
        """Delete a confirmed summary whose span changed before the delete step (its text
        would revive what the application removed); the span stays as it now is."""
        remote = self.backend.read_remote()
        if remote is not None and remote.items and remote.items[-1].id == summary.id:
            # the server's last item: a response committed unseen would chain to it
            raise _Fail("delete", RuntimeError("the summary of an edited span is the last item"))

        def build() -> llm.ChatContext:
            self._still_quiet()
            return llm.ChatContext([i for i in self._union() if i.id != summary.id])

        try:
            await self.backend.update(build)
        except _NotQuiet:
            raise
        except Exception as e:  # noqa: BLE001 - reported as a failed delete step
            raise _Fail("delete", e) from e
        if summary.id in self._ids_now():
            raise _Fail("delete", RuntimeError("the summary of an edited span is still there"))
        self._forget((summary.id,))  # nor may a copy taken meanwhile bring it back
        self._in_flight = ()

    def _with_summary(
        self, plan: CompactionPlan, summary: llm.ChatMessage, *, remove: bool
    ) -> llm.ChatContext:
        items = self._union()
        ids = [i.id for i in items]
        first = ids.index(plan.remove_ids[0])
        at = ids.index(plan.insert_after_id) + 1 if plan.insert_after_id in ids else first
        # the plugin anchors a create to the item before it; one the server never
        # acknowledged is unknown to its mirror, which would then put the summary at its
        # tail (unlike the server): anchor to the nearest acknowledged item instead
        pinned = self.backend.pinned_ids()
        while at > 0 and ids[at - 1] in pinned:
            at -= 1
        # order by creation time like livekit does: just before the first folded item
        placed = summary.model_copy(update={"created_at": items[first].created_at - 1e-6})
        items.insert(at, placed)
        if remove:
            self._still_quiet()
            self._deleting = plan.remove_ids
            gone = set(plan.remove_ids)
            items = [i for i in items if i.id not in gone]
        return llm.ChatContext(items)

    def _without(self, remove_ids: Collection[str]) -> llm.ChatContext:
        self._still_quiet()
        self._deleting = tuple(remove_ids)
        gone = set(remove_ids)
        return llm.ChatContext([i for i in self._union() if i.id not in gone])

    # -- foreign updates -----------------------------------------------------------------

    async def apply_update(
        self, proposed: llm.ChatContext, *, tail: TailWindow | None, replace: bool = False
    ) -> UpdateOutcome:
        """Land any caller's update with the same protection as a compaction.

        Items the caller dropped are kept when they are remote-only, placeholders or
        after them, calls in progress, half of a call/output pair, inside ``tail``
        (``None``: no tail protection), or newer than anything the caller's context
        holds (the caller never saw them). Removals wait for a quiet moment (bounded);
        without one they are deferred and the items kept. An update that inserts and
        removes on a realtime session lands as insert, confirm, then delete.
        Errors from the backend propagate, as from ``update_chat_ctx`` itself.

        ``replace``: the caller means all of it (``ContextManager.replace``): nothing is
        kept as unseen or as the tail; also when ``proposed`` shares no conversation item.
        """
        replace = replace or self.replaces_all(proposed)
        if replace:
            tail = None  # no copy to be stale: nothing recent to keep
        wants_removal = bool(
            {i.id for i in self._union()} - {i.id for i in proposed.items}
        ) or bool(_edited(proposed.items, self._server_copies(self.backend.read_remote())))
        quiet = (
            await wait_quiescent(
                self.backend.is_quiescent,
                self._quiescence_timeout_s,
                polls=self._polls(),
                wake=self._wake,
            )
            if wants_removal
            else True
        )
        async with self.lock:
            quiet = quiet and self.backend.is_quiescent()
            final, allowed, kept, deferred = self._plan_update(
                proposed, tail, allow_removals=quiet, replace=replace
            )
            union_ids = {i.id for i in self._union()}
            inserted = {i.id for i in final} - union_ids

            def replan_unless_quiet() -> None:
                """Called as the context is built, with nothing awaited before livekit
                diffs it: a response or a tool that began while livekit held its locks
                turns the removals (and edits, sent as delete and create) into a deferral
                (chaos seed 153: an application's trim sent during a generation)."""
                nonlocal final, allowed, kept, deferred, quiet
                if quiet and not self.backend.is_quiescent():
                    quiet = False
                    final, allowed, kept, deferred = self._plan_update(
                        proposed, tail, allow_removals=False, replace=replace
                    )

            try:
                if allowed and inserted and self.backend.two_step:
                    # insert (everything kept), confirm, then delete what is still allowed
                    def with_inserts() -> llm.ChatContext:
                        replan_unless_quiet()
                        return self._in_server_order(weave(final, self._union()))

                    await self.backend.update(with_inserts)
                    await self._confirm(inserted, raising=False)
                    if allowed:
                        allowed, more = self._guard_removals(
                            self._union(),
                            allowed - self.backend.pinned_ids(),
                            tail,
                            self.backend.protected_ids(ignoring=self._in_flight),
                        )
                        kept += more

                        def without_removed() -> llm.ChatContext:
                            nonlocal quiet
                            quiet = self.backend.is_quiescent()  # as the deletes are sent
                            gone = allowed if quiet else frozenset()
                            return llm.ChatContext(
                                [i for i in self._union() if i.id not in gone]
                            )

                        await self.backend.update(without_removed)
                        if not quiet:
                            kept += tuple((i, "not_quiescent") for i in sorted(allowed))
                            deferred, allowed = allowed, frozenset()
                else:
                    # items that arrived since the plan are kept: only ``allowed`` may go
                    def with_changes() -> llm.ChatContext:
                        replan_unless_quiet()
                        return self._in_server_order(
                            weave(final, self._union(), only=self._ids_now() - union_ids)
                        )

                    await self.backend.update(with_changes)
            except BaseException:
                # what left the agent's context before the failure left it on purpose
                local = {i.id for i in self.backend.read_local().items}
                self._forget((union_ids & allowed) - local, by_update=True)
                raise
        self._forget(union_ids & allowed, by_update=True)
        if kept:
            logger.info(
                "kept items an update dropped",
                extra={"kept": len(kept), "reasons": sorted({r for _, r in kept}),
                       "kept_ids": [i for i, _ in kept]},
            )
        return UpdateOutcome(
            tuple(sorted(union_ids & allowed)), kept, tuple(sorted(deferred & union_ids))
        )

    def _guard_removals(
        self,
        union: list[llm.ChatItem],
        wanted: Collection[str],
        tail: TailWindow | None,
        protected: Collection[str],
    ) -> tuple[frozenset[str], tuple[tuple[str, KeepReason], ...]]:
        """``guard_removals`` for an update, its tail (if any) counted as a compaction's is:
        over confirmed items only, in the server's order and the agent's (seed 532: with
        the last typed turn refused, the turn before it is the server's tail)."""
        tail = tail or TailWindow(0, 0)
        return guard_removals(
            union,
            wanted,
            counter=self._counter,
            tail=tail,
            protected_ids=protected,
            boundary=self._boundary_of_confirmed(
                union, self.backend.pinned_ids(), protected, tail
            ),
        )

    def replaces_all(self, proposed: llm.ChatContext) -> bool:
        """True when ``proposed`` shares no conversation item with the agent's context, nor
        with what was removed from it on purpose: "start over", a summary of the caller's
        own, livekit's ``TaskGroup`` summary. It is no stale copy; it replaces everything
        the agent holds, in-flight items aside."""
        live = {i.id for i in self._union()}
        # an item removed on purpose since counts: a copy taken before a compaction holds
        # only what it folded, and must not delete the summary (seed 992)
        return not any(
            (i.id in live or i.id in self._removed) and dates_a_copy(i) for i in proposed.items
        )

    def _plan_update(
        self,
        proposed: llm.ChatContext,
        tail: TailWindow | None,
        *,
        allow_removals: bool,
        replace: bool,
    ) -> tuple[
        list[llm.ChatItem], frozenset[str], tuple[tuple[str, str], ...], frozenset[str]
    ]:
        self.observe()
        union = self._union()
        protected = self.backend.protected_ids(ignoring=self._in_flight)
        live_by_id = {i.id: i for i in union}
        # a copied placeholder is never written back: the live object fills in, a copy does
        # not, and the plugin would re-create the reply with the copy's partial content;
        # nor is an item removed since the copy was taken (folded into a summary, trimmed)
        items = [
            live_by_id[i.id]
            if i.id in live_by_id and (i.id in protected or _partial_copy(i, live_by_id[i.id]))
            else i
            for i in proposed.items
            if i.id in live_by_id or i.id not in self._removed
        ]
        proposed_ids = {i.id for i in items}
        unseen: set[str] = set()
        if not replace:
            # a copy: it saw nothing after its newest item, in place or in time
            seen = [n for n, item in enumerate(union) if item.id in proposed_ids]
            unseen = {item.id for item in union[(seen[-1] + 1 if seen else 0):]}
            # and whatever entered the agent's context no earlier than the copy's newest
            # item (livekit inserts by creation time: a late item can land before older ones)
            newest = max(
                (self._entered[i] for i in proposed_ids if i in self._entered), default=None
            )
            unseen |= {
                i.id
                for i in union
                if newest is None or self._entered.get(i.id, self._clock) >= newest
            }
            # what the copy holds it saw (its newest item may be a summary at the head,
            # whose protection would freeze everything after it)
            unseen -= proposed_ids

        pinned = self.backend.pinned_ids()
        dropped = [i.id for i in union if i.id not in proposed_ids]
        kept: tuple[tuple[str, str], ...] = tuple((i, "unsynced") for i in dropped if i in pinned)
        wanted = [i for i in dropped if i not in pinned]
        allowed, guarded = self._guard_removals(union, wanted, tail, protected | unseen)
        kept += tuple(
            (i, "unseen" if i in unseen and r == "protected" else r) for i, r in guarded
        )
        deferred: frozenset[str] = frozenset()
        if not allow_removals:
            deferred, allowed = allowed, frozenset()
            kept += tuple((i, "not_quiescent") for i in sorted(deferred))
        # a message whose text differs from the server's copy is deleted and created again
        # by the plugin (the caller's edit, or the agent's own text of an interrupted
        # reply): it may change only where it could be removed (seed 858), tail aside;
        # elsewhere the server's copy is sent, and the server keeps what it has
        remote = self.backend.read_remote()
        server_by_id = self._server_copies(remote)
        edited = _edited(items, server_by_id)
        if edited:
            editable, _ = (
                guard_removals(
                    union,
                    [i for i in edited if i not in pinned],
                    counter=self._counter,
                    tail=TailWindow(0, 0),
                    protected_ids=protected | unseen,
                )
                if allow_removals
                else (frozenset(), ())
            )
            items = [
                server_by_id[i.id] if i.id in edited and i.id not in editable else i
                for i in items
            ]
            kept += tuple((i, "edit_deferred") for i in edited if i not in editable)
        keep = set(dropped) - allowed
        if remote is None:
            return weave(items, union, only=keep), allowed, kept, deferred
        # on a server, the items it has stay in its order: the plugin moves an item whose
        # place differs by deleting and creating it again (seed 858: the agent's copy
        # holds an interrupted reply after the tool output the server has after it)
        chosen = {i.id: i for i in items}
        on_server = [chosen.get(u.id, u) for u in union if u.id in chosen or u.id in keep]
        new = {i.id for i in items} - set(live_by_id)
        # what the caller appended after everything it had goes after everything there is
        # (seed 450: a note placed before turns the copy never saw became the agent's last
        # item, and livekit anchored the next typed turn to it, before those turns)
        last_shared = max((n for n, i in enumerate(items) if i.id in live_by_id), default=-1)
        # (a replacement's own items go first: what is kept for safety follows them)
        appended = [] if replace else [i for i in items[last_shared + 1 :] if i.id in new]
        woven = weave(on_server, items, only=new - {i.id for i in appended}) + appended
        # the plugin anchors a create to the item before it: never to one the server may
        # have deleted (it would refuse the create; seed 176)
        self._suspects &= set(server_by_id)
        return _anchored_before(woven, new, self._suspects), allowed, kept, deferred

    def without_partial_copies(self, proposed: llm.ChatContext) -> llm.ChatContext:
        """``proposed`` with each message whose text is the start of (or all of) the agent's
        own replaced by the agent's: a copy taken while a reply streamed or a transcript was
        pending stays as it was, the agent's own fills in (with no session to tell a
        placeholder apart, the same text is treated the same way)."""
        live = {i.id: i for i in self.backend.read_local().items}
        return llm.ChatContext(
            [
                live[i.id]
                if i.id in live and (_partial_copy(i, live[i.id]) or _same_text(i, live[i.id]))
                else i
                for i in proposed.items
            ]
        )

    def _in_server_order(self, items: list[llm.ChatItem]) -> llm.ChatContext:
        """``items`` with those the mirror holds put in the mirror's order, in the places
        they take: one acknowledged between the plan and the send (a tool output) is
        not moved, which the plugin would do by deleting it and creating it again."""
        remote = self.backend.read_remote()
        if remote is None:
            return llm.ChatContext(items)
        order = {item.id: n for n, item in enumerate(remote.items)}
        held = iter(sorted((i for i in items if i.id in order), key=lambda i: order[i.id]))
        return llm.ChatContext([next(held) if i.id in order else i for i in items])

    def _server_copies(self, remote: llm.ChatContext | None) -> dict[str, llm.ChatItem]:
        """Each item as the server has it (``remote``, the plugin's mirror), else as the
        agent has it."""
        held = remote if remote is not None else self.backend.read_local()
        return {i.id: i for i in held.items}

    # -- shared steps ----------------------------------------------------------------------

    def _ids_now(self) -> set[str]:
        return {i.id for i in self._union()}

    def _union(self) -> list[llm.ChatItem]:
        return live_union(self.backend.read_local(), self.backend.read_remote())

    async def _step(self, build: Callable[[], llm.ChatContext], stage: FailureStage) -> None:
        sent: list[tuple[llm.ChatContext, llm.ChatContext | None]] = []

        def built() -> llm.ChatContext:
            chat_ctx = build()
            sent.append((chat_ctx, self.backend.read_remote()))
            return chat_ctx

        try:
            await self.backend.update(built)
        except (asyncio.CancelledError, _NotQuiet):
            raise
        except Exception as e:  # noqa: BLE001 - every failure is reported, none is lost
            if not sent:
                raise _Fail(stage, e) from e
            raise _Fail(stage, self._sync_error(*sent[-1], e)) from e

    def _sync_error(
        self, sent: llm.ChatContext, remote_before: llm.ChatContext | None, error: Exception
    ) -> Exception:
        """On a realtime backend, say which ids the mirror may have wrong after ``error``.

        The plugin only logs rejected creates and deletes, and a lost acknowledgement
        leaves its mirror behind the server for good (a retry is a duplicate it takes as
        success): the caller must hear of it, so the failure names the suspect ids.
        """
        remote = self.backend.read_remote()
        if remote is None or remote_before is None:
            return error
        sent_ids = {i.id for i in sent.items if reaches_server(i)}
        mirror = {i.id for i in remote.items}
        unconfirmed = frozenset(sent_ids - {i.id for i in remote_before.items} - mirror)
        undeleted = frozenset(({i.id for i in remote_before.items} - sent_ids) & mirror)
        self._suspects |= undeleted
        if not unconfirmed and not undeleted:
            return error
        logger.warning(
            "a realtime update failed; the plugin's mirror may differ from the server",
            extra={"unconfirmed": len(unconfirmed), "undeleted": len(undeleted)},
        )
        sync = RealtimeSyncError(
            "update failed half-way; the remote mirror may be stale",
            unconfirmed_ids=unconfirmed,
            undeleted_ids=undeleted,
        )
        sync.__cause__ = error
        return sync

    async def _confirm(self, ids: Collection[str], *, raising: bool = True) -> bool:
        deadline = time.monotonic() + self._confirm_timeout_s
        while True:
            remote = self.backend.read_remote()
            local = self.backend.read_local()
            if all(
                local.get_by_id(i) is not None and (remote is None or remote.get_by_id(i) is not None)
                for i in ids
            ):
                return True
            if time.monotonic() >= deadline:
                if raising:
                    raise _Fail("confirm", TimeoutError("the server did not confirm the insert"))
                return False
            await asyncio.sleep(POLL_INTERVAL_S)

    def _id_sets(self) -> tuple[set[str], set[str] | None]:
        local = {i.id for i in self.backend.read_local().items}
        remote = self.backend.read_remote()
        if remote is None:
            return local, None
        remote_ids = {i.id for i in remote.items}
        # a realtime update writes the union: the local side keeps the server's items too
        return local | remote_ids, remote_ids

    def _verify(
        self,
        plan: CompactionPlan,
        summary: llm.ChatMessage | None,
        before: tuple[set[str], set[str] | None],
    ) -> None:
        gone = set(plan.remove_ids)
        after = self._id_sets()
        if before[1] is not None and after[1] is None:
            # a handoff moved the realtime session to the next agent mid-apply: what the
            # server did with the sends is unknown here, so nothing may be reported done
            raise _Fail("verify", RuntimeError("the realtime session left the agent mid-apply"))
        for ids_before, ids in zip(before, after):
            if ids is None or ids_before is None:
                continue
            if ids & gone:
                raise _Fail("verify", RuntimeError("folded items are still in the context"))
            if summary is not None and summary.id not in ids:
                raise _Fail("verify", RuntimeError("the summary is missing from the context"))
            if (ids_before - gone) - ids:
                raise _Fail("verify", RuntimeError("items outside the plan left the context"))
