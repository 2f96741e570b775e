"""Built-in policies: deep cuts at turn boundaries, down to the low-water mark."""

from __future__ import annotations

import pytest

from ctxmgr import (
    Settings,
    SummarizePolicy,
    TailWindow,
    TokenBudgetPolicy,
    TokenCounter,
    TrimPolicy,
    policy_from_settings,
)
from ctxmgr.chat_items import is_user_turn_start

from .builders import Ctx

pytestmark = pytest.mark.unit


def test_trim_cuts_down_to_the_target_at_a_turn_start() -> None:
    b = Ctx().system().turn(30)
    counter = TokenCounter()
    total = counter.count(b.ctx)
    plan = TrimPolicy(target_tokens=total // 2, tail=TailWindow(2)).plan(b.ctx, counter=counter)
    assert plan is not None and plan.action == "trim"
    assert plan.tokens_after <= total // 2
    kept = [i for i in b.ctx.items if i.id not in plan.remove_ids]
    assert kept[0].role == "system" and is_user_turn_start(kept[1])
    # deep enough, but not deeper than needed: one turn fewer would miss the target
    assert plan.tokens_after > total // 2 - 2 * counter.count_item(b.ctx.items[1]) - 10


def test_summarize_plans_include_summary_cost_and_fold_earlier_summary() -> None:
    b = Ctx().system().summary().turn(30)
    counter = TokenCounter()
    total = counter.count(b.ctx)
    policy = SummarizePolicy(target_tokens=total // 2, tail=TailWindow(2), summary_tokens=100)
    plan = policy.plan(b.ctx, counter=counter)
    assert plan is not None and plan.action == "summarize"
    assert plan.folded_summary_ids == ("sum2",)
    assert plan.insert_after_id == "sys1"
    removed = sum(counter.count_item(i) for i in b.ctx.items if i.id in plan.remove_ids)
    assert plan.tokens_after == total - removed + 100 + 4


def test_unreachable_target_removes_all_it_may_and_says_so() -> None:
    b = Ctx().turn(6)
    plan = TrimPolicy(target_tokens=1, tail=TailWindow(3)).plan(b.ctx, counter=TokenCounter())
    assert plan is not None and plan.remove_ids == tuple(b.ids()[:6])
    assert plan.notes == ("target_unreachable",)


def test_nothing_to_remove_gives_no_plan() -> None:
    b = Ctx().system().turn(2)
    assert TrimPolicy(target_tokens=1, tail=TailWindow(2)).plan(b.ctx, counter=TokenCounter()) is None


def test_summary_alone_is_not_resummarized() -> None:
    b = Ctx().summary().turn(2)
    policy = SummarizePolicy(target_tokens=1, tail=TailWindow(2))
    assert policy.plan(b.ctx, counter=TokenCounter()) is None


def test_cut_never_splits_a_call_whose_output_arrived_after_the_next_user_turn() -> None:
    # user speech arrived while the call was pending: its output lands in the next turn
    b = Ctx().turn(2).user().call("c1", output=False).user("wait").output("c1").assistant().turn(4)
    ids = b.ids()
    call_idx = ids.index(next(i.id for i in b.ctx.items if i.type == "function_call"))
    plan = TrimPolicy(target_tokens=1, tail=TailWindow(4)).plan(b.ctx, counter=TokenCounter())
    assert plan is not None
    in_plan = {ids[call_idx] in plan.remove_ids, ids[call_idx + 2] in plan.remove_ids}
    assert len(in_plan) == 1


def test_protected_ids_stop_the_cut() -> None:
    b = Ctx().turn(10)
    ids = b.ids()
    plan = TrimPolicy(target_tokens=1, tail=TailWindow(1)).plan(
        b.ctx, counter=TokenCounter(), protected_ids={ids[6]}
    )
    assert plan is not None and plan.remove_ids == tuple(ids[:6])


def test_token_budget_plans_fall_back_to_trim() -> None:
    b = Ctx().turn(10)
    plan = TokenBudgetPolicy(target_tokens=1, tail=TailWindow(2)).plan(b.ctx, counter=TokenCounter())
    assert plan is not None and plan.action == "summarize" and plan.fallback == "trim"


@pytest.mark.parametrize(
    ("preset", "kind", "action"),
    [
        ("trim", TrimPolicy, "trim"),
        ("summarize", SummarizePolicy, "summarize"),
        ("token-budget", TokenBudgetPolicy, "summarize"),
        ("realtime", TokenBudgetPolicy, "summarize"),
    ],
)
def test_policy_from_settings(preset: str, kind: type, action: str) -> None:
    s = Settings(policy=preset)
    policy = policy_from_settings(s)
    assert isinstance(policy, kind)
    assert policy.tail == TailWindow(s.keep_last_turns, s.keep_last_tokens)
    b = Ctx().turn(40)
    small = Settings(policy=preset, max_tokens=800)
    plan = policy_from_settings(small).plan(b.ctx, counter=TokenCounter())
    assert plan is not None and plan.action == action
