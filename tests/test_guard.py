"""The guard: invariants 1-4 hold for any plan, whoever wrote it."""

from __future__ import annotations

import pytest
from livekit.agents import llm

from ctxmgr import CompactionPlan, TailWindow, TokenCounter, guard_plan
from ctxmgr.guard import Boundary, frozen_boundary

from .builders import Ctx

pytestmark = pytest.mark.unit


def _plan(ids: list[str], action: str = "trim") -> CompactionPlan:
    return CompactionPlan(action=action, remove_ids=tuple(ids), insert_after_id=None,  # type: ignore[arg-type]
                          tokens_before=0, tokens_after=0)


def _guard(b: Ctx, ids: list[str], action: str = "trim", **kw: object):  # noqa: ANN202
    tail = kw.pop("tail", TailWindow(keep_last_turns=2))
    return guard_plan(b.ctx, _plan(ids, action), counter=TokenCounter(), tail=tail, **kw)  # type: ignore[arg-type]


def test_tail_window_turns_are_never_removed() -> None:
    b = Ctx().turn(4)
    r = _guard(b, b.ids())
    assert r.plan is not None and r.plan.remove_ids == tuple(b.ids()[:4])
    assert dict(r.kept)[b.ids()[4]] == "tail_turns"


def test_tail_window_tokens_are_never_removed() -> None:
    b = Ctx().turn(4)
    r = _guard(b, b.ids(), tail=TailWindow(keep_last_turns=0, keep_last_tokens=1))
    assert r.plan is not None and b.ids()[-1] not in r.plan.remove_ids
    assert dict(r.kept)[b.ids()[-1]] == "tail_tokens"


def test_fewer_turns_than_the_window_means_nothing_is_removed() -> None:
    b = Ctx().turn(1)
    assert _guard(b, b.ids()).plan is None


def test_instructions_and_bookkeeping_are_kept() -> None:
    b = Ctx().system().config_update().turn(4)
    r = _guard(b, b.ids()[:6])
    assert r.plan is not None
    assert dict(r.kept) == {"sys1": "instruction", "cfg2": "structural"}


def test_protected_id_and_everything_after_it_are_kept() -> None:
    b = Ctx().turn(6)
    protected = b.ids()[3]
    r = _guard(b, b.ids(), protected_ids={protected})
    assert r.plan is not None and r.plan.remove_ids == tuple(b.ids()[:3])


def test_call_is_never_split_from_its_output() -> None:
    b = Ctx().user().call("c1").assistant().turn(3)
    call_id, out_id = b.ids()[1], b.ids()[2]
    r = _guard(b, [b.ids()[0], call_id])
    assert r.plan is not None and r.plan.remove_ids == (b.ids()[0],)
    assert dict(r.kept)[call_id] == "pair"
    r = _guard(b, [out_id])
    assert r.plan is None


def test_parallel_calls_sharing_a_group_go_together() -> None:
    b = Ctx().user().call("c1", output=False, group_id="g").call("c2", output=False, group_id="g")
    b.output("c1").output("c2").assistant().turn(3)
    ids = b.ids()
    r = _guard(b, ids[:4])  # user, both calls, first output only
    assert r.plan is not None and r.plan.remove_ids == (ids[0],)
    r = _guard(b, ids[:6])
    assert r.plan is not None and r.plan.remove_ids == tuple(ids[:6])


def test_call_without_output_is_in_progress_and_freezes_what_follows() -> None:
    b = Ctx().turn(2).user().call("pending", output=False).turn(4)
    ids = b.ids()
    r = _guard(b, ids, tail=TailWindow(keep_last_turns=0))
    assert r.plan is not None and r.plan.remove_ids == tuple(ids[:5])
    assert dict(r.kept)[ids[5]] == "in_progress"


def test_livekit_running_placeholder_pair_is_in_progress() -> None:
    b = Ctx().turn(2).user().call("run").turn(3)
    b.ctx.items[5].extra["__lk_running_placeholder__"] = True
    r = _guard(b, b.ids(), tail=TailWindow(keep_last_turns=0))
    assert r.plan is not None and r.plan.remove_ids == tuple(b.ids()[:5])


def test_trim_keeps_earlier_summaries() -> None:
    b = Ctx().summary().turn(4)
    r = _guard(b, b.ids()[:5])
    assert r.plan is not None and "sum1" not in r.plan.remove_ids
    assert dict(r.kept)["sum1"] == "summary"


def test_summarize_folds_earlier_summaries() -> None:
    b = Ctx().system().summary().turn(4)
    r = _guard(b, b.ids()[1:6], action="summarize")
    assert r.plan is not None
    assert r.plan.folded_summary_ids == ("sum2",)
    assert r.plan.insert_after_id == "sys1"


def test_summarize_span_is_contiguous() -> None:
    b = Ctx().turn(5)
    ids = b.ids()
    r = _guard(b, [ids[0], ids[1], ids[3]], action="summarize")
    assert r.plan is not None and r.plan.remove_ids == (ids[0], ids[1])
    assert dict(r.kept)[ids[3]] == "not_contiguous"


def test_ids_not_in_the_context_are_reported_missing() -> None:
    b = Ctx().turn(4)
    r = _guard(b, ["ghost", b.ids()[0]])
    assert r.plan is not None and r.plan.remove_ids == (b.ids()[0],)
    assert dict(r.kept)["ghost"] == "missing"


def test_guarded_plan_reports_fresh_token_numbers() -> None:
    b = Ctx().turn(6)
    counter = TokenCounter()
    r = guard_plan(b.ctx, _plan(b.ids()[:4]), counter=counter, tail=TailWindow(2))
    assert r.plan is not None
    assert r.plan.tokens_before == counter.count(b.ctx)
    assert r.plan.tokens_after == counter.count(b.ctx.items[4:])


@pytest.mark.unit
def test_an_empty_tail_window_still_keeps_the_turn_being_answered() -> None:
    items: list[llm.ChatItem] = [
        llm.ChatMessage(id="u0", role="user", content=["hello"]),
        llm.ChatMessage(id="a0", role="assistant", content=["hi"]),
        llm.ChatMessage(id="u1", role="user", content=["my order?"]),
    ]
    counts = [5, 5, 5]
    empty = TailWindow(keep_last_turns=0)
    assert frozen_boundary(items, counts, empty) == Boundary(2, "tail_turns")
    # a tool call the answer makes sits after the question: still being answered
    items.append(llm.FunctionCall(id="fc", call_id="c1", name="lookup", arguments="{}"))
    items.append(llm.FunctionCallOutput(id="fo", call_id="c1", name="lookup", output="ok", is_error=False))
    assert frozen_boundary(items, counts + [5, 5], empty) == Boundary(2, "tail_turns")
    # once the reply is in, every turn may be folded
    items.append(llm.ChatMessage(id="a1", role="assistant", content=["it shipped"]))
    assert frozen_boundary(items, counts + [5, 5, 5], empty) == Boundary(6, None)
