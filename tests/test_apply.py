"""The applier over the in-memory backend: invariants 5-8 without a session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from livekit.agents import llm

from ctxmgr import CompactionPlan, TailWindow, TokenCounter
from ctxmgr.apply import Applier, Fingerprint, fingerprints
from ctxmgr.digests import Digests
from ctxmgr.backends.base import ContextSource
from ctxmgr.testing.memory import InMemoryBackend

from .builders import Ctx

pytestmark = pytest.mark.unit


def _summary(ids: list[str]) -> llm.ChatMessage:
    return llm.ChatMessage(
        id="summary_new", role="system", content=["Ana asked about order 4417."],
        extra={"is_summary": True, "ctxmgr": {"folded_ids": ids}},
    )


def _setup(*, remote: bool = False, turns: int = 6, **kw: object) -> tuple[InMemoryBackend, Applier, CompactionPlan, dict[str, Fingerprint]]:
    b = Ctx().system().turn(turns)
    backend = InMemoryBackend(b.ctx, remote=remote, **kw)  # type: ignore[arg-type]
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(2), quiescence_timeout_s=0.2,
                      confirm_timeout_s=0.2)
    ids = b.ids()[1:5]
    plan = CompactionPlan("summarize", tuple(ids), "sys1", 0, 0)
    return backend, applier, plan, fingerprints(backend.local, ids)


def _snapshot(ctx: llm.ChatContext) -> list[tuple[str, bytes]]:
    return [(i.id, i._fingerprint()) for i in ctx.items]


async def test_pipeline_apply_is_one_atomic_update() -> None:
    backend, applier, plan, fps = _setup()
    out = await applier.apply(plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps)
    assert out.status == "applied"
    assert len(backend.updates) == 1
    ids = [i.id for i in backend.local.items]
    assert ids[:2] == ["sys1", "summary_new"] and not set(plan.remove_ids) & set(ids)


async def test_two_step_inserts_and_confirms_summary_before_deleting() -> None:
    backend, applier, plan, fps = _setup(remote=True)
    out = await applier.apply(plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps)
    assert out.status == "applied"
    first, second = backend.updates
    assert "summary_new" in first and set(plan.remove_ids) <= set(first)  # insert only
    assert "summary_new" in second and not set(plan.remove_ids) & set(second)  # then delete
    assert backend.remote is not None and backend.remote.get_by_id("summary_new") is not None


async def test_not_quiescent_skips_and_touches_nothing() -> None:
    backend, applier, plan, fps = _setup()
    before = _snapshot(backend.local)
    backend.quiescent = False
    out = await applier.apply(plan, summary=_summary([]), planned_fingerprints=fps)
    assert (out.status, out.skip_reason) == ("skipped", "not_quiescent")
    assert _snapshot(backend.local) == before and backend.updates == []


async def test_an_agent_not_running_is_never_compacted() -> None:
    backend, applier, plan, fps = _setup(remote=True)
    backend.running = False
    before = _snapshot(backend.local)
    out = await applier.apply(plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps)
    assert out.status == "skipped" and out.skip_reason == "agent_inactive"
    assert backend.updates == [] and _snapshot(backend.local) == before


async def test_an_agent_that_stops_running_after_the_insert_keeps_summary_and_span() -> None:
    backend, applier, plan, fps = _setup(remote=True)

    def stop_after_insert(chat_ctx: llm.ChatContext) -> None:
        backend.running = False  # e.g. a handoff starts while the summary is confirmed

    backend.on_update = stop_after_insert
    out = await applier.apply(plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps)
    assert out.status == "failed" and out.stage == "delete"
    assert len(backend.updates) == 1  # the insert; no delete was sent
    ids = {i.id for i in backend.local.items}
    assert "summary_new" in ids and set(plan.remove_ids) <= ids


async def test_a_session_handed_off_during_the_delete_is_never_reported_applied() -> None:
    # chaos seed 131: livekit moved the realtime session to the next agent while the delete
    # was in flight (and the server refused it); the old agent then has no mirror to read
    backend, applier, plan, fps = _setup(remote=True)
    original = backend.update

    async def update(source: ContextSource) -> None:
        await original(source)
        if len(backend.updates) == 2:  # the delete
            backend.remote = None

    backend.update = update  # type: ignore[method-assign]
    out = await applier.apply(plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps)
    assert (out.status, out.stage) == ("failed", "verify"), out
    assert "left the agent" in str(out.error)


def _after_each_update(backend: InMemoryBackend, then: Callable[[llm.ChatContext], None]) -> None:
    original = backend.update

    async def update(source: ContextSource) -> None:
        await original(source)
        assert backend.remote is not None
        then(backend.remote)

    backend.update = update  # type: ignore[method-assign]


async def test_a_summary_the_mirror_put_at_its_tail_protects_nothing() -> None:
    backend, applier, plan, fps = _setup(remote=True)

    def summary_last(remote: llm.ChatContext) -> None:
        # a plugin that does not know the summary's anchor appends it instead
        summary = remote.get_by_id("summary_new")
        if summary is not None:
            remote.items.remove(summary)
            remote.items.append(summary)

    _after_each_update(backend, summary_last)
    out = await applier.apply(plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps)
    assert out.status == "applied", out
    assert not set(plan.remove_ids) & {i.id for i in backend.local.items}


async def test_a_local_item_the_server_lacks_is_sent_apart_from_the_deletes() -> None:
    # chaos seed 673: a typed turn the server refused twice; sent in the update that
    # deletes, the plugin anchors it after the summary, and a refused delete leaves an
    # older item after it on the server
    backend, applier, plan, fps = _setup(remote=True)
    typed = llm.ChatMessage(id="typed", role="user", content=["my card ends 4417"])
    backend.local.items.append(typed)

    def refuse_typed(remote: llm.ChatContext) -> None:
        remote.items[:] = [i for i in remote.items if i.id != "typed"]

    _after_each_update(backend, refuse_typed)
    out = await applier.apply(plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps)
    assert out.status == "applied", out
    insert, resend, delete = backend.updates
    assert "typed" in resend and set(plan.remove_ids) <= set(resend)  # creates, no deletes
    assert not set(plan.remove_ids) & set(delete) and "typed" in delete


async def test_a_plan_gone_stale_after_the_insert_fails_at_delete_and_keeps_both() -> None:
    backend, applier, plan, fps = _setup(remote=True)

    def server_item_at_the_head(remote: llm.ChatContext) -> None:
        # a remote-only item now precedes the span: everything after it is protected
        if not any(i.id == "remote_only" for i in remote.items):
            remote.items.insert(0, llm.ChatMessage(id="remote_only", role="user", content=["hi"]))

    _after_each_update(backend, server_item_at_the_head)
    out = await applier.apply(plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps)
    assert out.status == "failed" and out.stage == "delete" and out.summary_inserted, out
    ids = {i.id for i in backend.local.items}
    assert "summary_new" in ids and set(plan.remove_ids) <= ids


async def test_a_turn_the_server_never_confirmed_does_not_count_toward_the_tail() -> None:
    """Seed 569: livekit's create of a typed turn was refused (its anchor had been deleted),
    so on the server the turn before it was the last one; folding it emptied the server's
    tail window."""
    b = Ctx().system().turn(3)
    backend = InMemoryBackend(b.ctx, remote=True)
    unconfirmed = llm.ChatMessage(id="typed", role="user", content=["Turn 98."], created_at=2e3)
    backend.local.items.append(unconfirmed)  # local only: never in the mirror
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(1), quiescence_timeout_s=0.2,
                      confirm_timeout_s=0.2)
    ids = b.ids()
    plan = CompactionPlan("summarize", tuple(ids[1:7]), "sys1", 0, 0)
    out = await applier.apply(plan, summary=_summary(list(ids[1:7])),
                              planned_fingerprints=fingerprints(backend.local, ids[1:7]))
    assert out.status == "applied", out
    assert out.plan is not None and out.plan.remove_ids == tuple(ids[1:5])
    assert {ids[5], ids[6], "typed"} <= {i.id for i in backend.local.items}


async def test_a_reply_recent_in_the_agents_context_stays_though_old_on_the_server() -> None:
    """Seed 331: livekit adds an interrupted reply to the agent's context when it is cut
    off, after turns the server holds after it: it is in the agent's tail window (and
    before the server's last item, which protects what follows it locally)."""
    b = Ctx().system().turn(3)
    backend = InMemoryBackend(b.ctx, remote=True)
    ids = b.ids()
    cut = llm.ChatMessage(id="cut", role="assistant", content=["Let me explain"], created_at=3e3)
    assert backend.remote is not None
    backend.remote.items.insert(3, cut.model_copy(deep=True))  # the server: after turn 1
    backend.local.items.insert(6, cut)  # the agent: inside the last turn
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(1), quiescence_timeout_s=0.2,
                      confirm_timeout_s=0.2)
    span = (*ids[1:3], "cut", *ids[3:5])
    plan = CompactionPlan("summarize", span, "sys1", 0, 0)
    out = await applier.apply(plan, summary=_summary(list(span)),
                              planned_fingerprints=fingerprints(backend.local, span))
    assert out.status == "applied", out
    assert out.plan is not None and out.plan.remove_ids == tuple(ids[1:3])
    assert backend.local.get_by_id("cut") is not None


async def test_item_that_filled_in_since_the_plan_is_kept() -> None:
    backend, applier, plan, fps = _setup()
    changed = backend.local.get_by_id(plan.remove_ids[-1])
    assert isinstance(changed, llm.ChatMessage)
    changed.content = [(changed.text_content or "") + " and the rest, filled in after playout"]
    out = await applier.apply(plan, summary=_summary([]), planned_fingerprints=fps)
    assert out.status == "applied" and out.plan is not None
    assert plan.remove_ids[-1] not in out.plan.remove_ids
    assert backend.local.get_by_id(plan.remove_ids[-1]) is not None


@pytest.mark.parametrize("edit", ["rewritten", "removed"])
async def test_a_summary_of_a_span_edited_since_the_plan_never_lands(edit: str) -> None:
    """Issue 12, item 8: the summary quotes the span as planned; an item the application
    rewrote (a redaction) or removed meanwhile would come back inside it."""
    backend, applier, plan, fps = _setup()
    target = plan.remove_ids[1]
    if edit == "rewritten":
        changed = backend.local.get_by_id(target)
        assert isinstance(changed, llm.ChatMessage)
        changed.content = ["[redacted]"]
    else:
        backend.local.items = [i for i in backend.local.items if i.id != target]
    before = _snapshot(backend.local)
    out = await applier.apply(plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps)
    assert (out.status, out.skip_reason) == ("skipped", "span_edited")
    assert _snapshot(backend.local) == before


async def test_items_that_arrived_since_the_plan_are_kept() -> None:
    backend, applier, plan, fps = _setup()
    late = llm.ChatMessage(id="late", role="user", content=["my address is 12 Baker Street"])
    backend.append(late)
    await applier.apply(plan, summary=_summary([]), planned_fingerprints=fps)
    assert backend.local.items[-1].id == "late"


async def test_update_failure_leaves_context_as_it_was() -> None:
    backend, applier, plan, fps = _setup()
    before = _snapshot(backend.local)
    backend.fail_next_update = RuntimeError("server said no")
    out = await applier.apply(plan, summary=_summary([]), planned_fingerprints=fps)
    assert (out.status, out.stage) == ("failed", "insert")
    assert _snapshot(backend.local) == before


async def test_unconfirmed_summary_fails_before_any_delete() -> None:
    backend, applier, plan, fps = _setup(remote=True, ack_delay_s=None)
    summary = _summary([])
    out = await applier.apply(plan, summary=summary, planned_fingerprints=fps)
    assert (out.status, out.stage) == ("failed", "confirm")
    assert len(backend.updates) == 2  # the insert, then the summary taken back: no delete
    assert all(backend.local.get_by_id(i) is not None for i in plan.remove_ids)
    assert backend.local.get_by_id(summary.id) is None


async def test_archive_failure_aborts_the_delete() -> None:
    backend, applier, plan, fps = _setup()
    before = _snapshot(backend.local)

    def archive(_: CompactionPlan) -> None:
        raise OSError("disk full")

    out = await applier.apply(plan, summary=None, planned_fingerprints=fps, before_delete=archive)
    assert (out.status, out.stage) == ("failed", "archive")
    assert _snapshot(backend.local) == before


async def test_concurrent_applies_interleave_only_between_steps_and_lose_nothing() -> None:
    backend, applier, plan, fps = _setup(remote=True, ack_delay_s=0.05)
    before = [i.id for i in backend.local.items]
    in_step = []

    async def slow_update(ctx: llm.ChatContext, _orig=backend.update) -> None:  # type: ignore[no-untyped-def]
        assert not in_step, "two updates overlapped"
        in_step.append(1)
        try:
            await _orig(ctx)
        finally:
            in_step.pop()

    backend.update = slow_update  # type: ignore[method-assign]
    trim = CompactionPlan("trim", (plan.remove_ids[0], plan.remove_ids[1]), None, 0, 0)
    a, b = await asyncio.gather(
        applier.apply(plan, summary=_summary([]), planned_fingerprints=fps),
        applier.apply(trim, summary=None, planned_fingerprints=fps),
    )
    assert a.status == "applied" and b.status in ("applied", "skipped")
    after = [i.id for i in backend.local.items]
    assert "summary_new" in after
    assert set(before) - set(after) == set(plan.remove_ids)  # only the span left


async def test_cancellation_mid_wait_leaves_context_as_it_was() -> None:
    backend, applier, plan, fps = _setup()
    before = _snapshot(backend.local)
    backend.quiescent = False
    task = asyncio.create_task(applier.apply(plan, summary=_summary([]), planned_fingerprints=fps))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _snapshot(backend.local) == before
    assert not applier.lock.locked()


async def test_remote_only_item_and_all_after_it_are_kept_and_sent_back() -> None:
    b = Ctx().system().turn(6)
    backend = InMemoryBackend(b.ctx, remote=True)
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(0), quiescence_timeout_s=0.2,
                      confirm_timeout_s=0.2)
    # the server announced a call the agent does not know yet, in the middle of the old turns
    call = llm.FunctionCall(id="fc_remote", call_id="c9", name="lookup", arguments="{}")
    assert backend.remote is not None
    backend.remote.items.insert(5, call)
    ids = [i.id for i in b.ctx.items]
    plan = CompactionPlan("trim", tuple(ids[1:]), None, 0, 0)
    out = await applier.apply(plan, summary=None, planned_fingerprints=fingerprints(b.ctx, ids[1:]))
    assert out.status == "applied" and out.plan is not None
    remote_ids = [i.id for i in backend.remote.items]
    assert "fc_remote" in remote_ids  # never deleted: it was sent back in server order
    assert remote_ids.index("fc_remote") == remote_ids.index(ids[5]) - 1
    assert set(out.plan.remove_ids) == set(ids[1:5])  # nothing after the remote-only item


async def test_a_response_that_starts_before_the_delete_is_sent_stops_the_send() -> None:
    """Between the quiet moment and the send, livekit may hold its locks while a response
    starts: the context that deletes is never built then; the step waits and goes again."""
    backend, applier, plan, fps = _setup(remote=True, ack_delay_s=0.0)
    original = backend.update
    built_while_busy: list[bool] = []
    calls = 0

    async def update(source: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the delete: a response starts while the step waits for the locks
            backend.quiescent = False
            asyncio.get_running_loop().call_later(0.05, setattr, backend, "quiescent", True)
        chat_ctx = source() if callable(source) else source
        built_while_busy.append(not backend.quiescent)
        await original(chat_ctx)

    backend.update = update  # type: ignore[method-assign]
    out = await applier.apply(
        plan, summary=_summary(list(plan.remove_ids)), planned_fingerprints=fps
    )
    assert out.status == "applied", out
    assert len(built_while_busy) == 2 and not any(built_while_busy)
    assert not set(plan.remove_ids) & {i.id for i in backend.local.items}


async def test_an_update_counts_its_tail_over_turns_the_server_confirmed() -> None:
    """Seed 532: the last typed turn never reached the server (its create was refused);
    there the turn before it is the tail, and an update may not remove it."""
    backend = InMemoryBackend(Ctx().system().turn(4).ctx, remote=True)
    applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(1), quiescence_timeout_s=0.2,
                      confirm_timeout_s=0.2)
    applier.observe()
    refused = llm.ChatMessage(role="user", content=["Turn 99: a typed turn the server refused."])
    backend.local.items.append(refused)  # local only: the server never acknowledged it
    applier.observe()
    users = [i.id for i in backend.local.items if i.type == "message" and i.role == "user"]
    servers_last = users[-2]
    copy = llm.ChatContext([i for i in backend.local.items if i.id != servers_last])
    outcome = await applier.apply_update(copy, tail=TailWindow(1))
    assert servers_last not in outcome.removed_ids
    assert dict(outcome.kept).get(servers_last) == "tail_turns"
    assert backend.local.get_by_id(servers_last) is not None
    # an older turn may go
    outcome = await applier.apply_update(
        llm.ChatContext([i for i in backend.local.items if i.id != users[0]]), tail=TailWindow(1)
    )
    assert outcome.removed_ids == (users[0],)


def test_a_kept_fingerprint_is_made_again_once_its_item_changes() -> None:
    b = Ctx().system().turn(2)
    items = list(b.ctx.items)
    ids = [i.id for i in items]
    digests = Digests()
    first = digests.of_ids(items, ids)
    assert first == fingerprints(b.ctx, ids)
    items[1].content.append(" and the rest, filled in")  # type: ignore[union-attr]
    items[2] = items[2].model_copy(update={"content": ["Another reply."]})  # another object
    again = digests.of_ids(items, ids)
    assert again == fingerprints(llm.ChatContext(items), ids)
    assert again[ids[1]] != first[ids[1]] and again[ids[2]] != first[ids[2]]
    assert again[ids[3]] == first[ids[3]]
