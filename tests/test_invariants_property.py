"""Property tests: over random chat contexts, every preset and the guard keep invariants 1-4.

The checker below re-derives each rule from the items on its own; it does not
reuse the guard's code.
"""

from __future__ import annotations

from collections.abc import Collection

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from livekit.agents import llm

from ctxmgr import (
    CompactionPlan,
    Settings,
    TailWindow,
    TokenCounter,
    available_presets,
    guard_plan,
    policy_from_settings,
)

from .builders import Ctx

pytestmark = pytest.mark.unit

COUNTER = TokenCounter()

steps = st.lists(
    st.sampled_from(
        ["turn", "turn", "turn", "user", "assistant", "call", "parallel", "late_output",
         "pending", "running", "summary", "system", "config"]
    ),
    min_size=1,
    max_size=60,
)


def build(ops: list[str]) -> llm.ChatContext:
    b = Ctx()
    n = 0
    late: list[str] = []
    for op in ops:
        n += 1
        if op == "turn":
            b.turn()
        elif op == "user":
            b.user(f"User says {n} things about order {n * 7}.")
        elif op == "assistant":
            b.assistant()
        elif op == "call":
            b.call(f"c{n}")
        elif op == "parallel":
            b.call(f"p{n}a", output=False, group_id=f"g{n}").call(f"p{n}b", output=False, group_id=f"g{n}")
            b.output(f"p{n}a").output(f"p{n}b")
        elif op == "late_output":
            b.call(f"l{n}", output=False)
            late.append(f"l{n}")
        elif op == "pending":
            b.call(f"x{n}", output=False)
        elif op == "running":
            b.call(f"r{n}")
            b.ctx.items[-2].extra["__lk_running_placeholder__"] = True
        elif op == "summary":
            b.summary()
        elif op == "system":
            b.system()
        elif op == "config":
            b.config_update()
        if late and op == "turn":
            b.output(late.pop(0))  # an output that lands after the next user turn
    return b.ctx


def violations(
    ctx: llm.ChatContext, plan: CompactionPlan, tail: TailWindow, protected: Collection[str]
) -> list[str]:
    items = ctx.items
    idx = {it.id: i for i, it in enumerate(items)}
    removed = set(plan.remove_ids)
    out: list[str] = []
    if not removed <= set(idx):
        out.append("unknown id")
    users = [i for i, it in enumerate(items) if it.type == "message" and it.role == "user"
             and not it.extra.get("is_summary")]
    if tail.keep_last_turns:
        cut = users[-tail.keep_last_turns] if len(users) >= tail.keep_last_turns else 0
        if any(idx[r] >= cut for r in removed):
            out.append("tail turns touched")
    if tail.keep_last_tokens:
        acc, cut = 0, len(items)
        while cut > 0 and acc < tail.keep_last_tokens:
            cut -= 1
            acc += COUNTER.count_item(items[cut])
        if any(idx[r] >= cut for r in removed):
            out.append("tail tokens touched")
    prot = [i for i, it in enumerate(items) if it.id in protected]
    if prot and any(idx[r] >= prot[0] for r in removed):
        out.append("protected or after protected touched")
    outputs = {it.call_id for it in items if it.type == "function_call_output"}
    running = {it.call_id for it in items if it.type == "function_call"
               and it.extra.get("__lk_running_placeholder__")}
    pending = [i for i, it in enumerate(items) if it.type in ("function_call", "function_call_output")
               and (it.call_id in running or (it.type == "function_call" and it.call_id not in outputs))]
    if pending and any(idx[r] >= pending[0] for r in removed):
        out.append("in-progress call or later touched")
    by_call: dict[str, set[str]] = {}
    by_group: dict[str, set[str]] = {}
    call_group = {it.call_id: it.group_id for it in items if it.type == "function_call" and it.group_id}
    for it in items:
        if it.type in ("function_call", "function_call_output"):
            by_call.setdefault(it.call_id, set()).add(it.id)
            if it.call_id in call_group:
                by_group.setdefault(call_group[it.call_id], set()).add(it.id)
    for unit in [*by_call.values(), *by_group.values()]:
        if unit & removed and not unit <= removed:
            out.append("pair split")
    for it in items:
        if it.id not in removed:
            continue
        if it.type == "message" and it.role in ("system", "developer") and not it.extra.get("is_summary"):
            out.append("instruction removed")
        if it.type in ("agent_handoff", "agent_config_update"):
            out.append("bookkeeping removed")
        if it.type == "message" and it.extra.get("is_summary") and plan.action == "trim":
            out.append("summary trimmed")
    if plan.action == "summarize":
        summaries = tuple(r for r in plan.remove_ids if getattr(items[idx[r]], "extra", {}).get("is_summary"))
        if summaries != plan.folded_summary_ids:
            out.append("summary not folded")
        first, last = idx[plan.remove_ids[0]], idx[plan.remove_ids[-1]]
        for it in items[first:last]:
            if it.id not in removed and it.type in ("message", "function_call", "function_call_output") \
                    and not (it.type == "message" and it.role in ("system", "developer")
                             and not it.extra.get("is_summary")):
                out.append("summary span not contiguous")
        expected_after = items[first - 1].id if first else None
        if plan.insert_after_id != expected_after:
            out.append("summary placed elsewhere")
    if list(plan.remove_ids) != sorted(plan.remove_ids, key=idx.__getitem__):
        out.append("ids out of order")
    return out


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=steps,
    preset=st.sampled_from(available_presets()),
    budget=st.integers(min_value=40, max_value=3000),
    turns=st.integers(min_value=0, max_value=5),
    tail_tokens=st.sampled_from([0, 0, 50, 400]),
    data=st.data(),
)
def test_every_preset_keeps_the_invariants(
    ops: list[str], preset: str, budget: int, turns: int, tail_tokens: int, data: st.DataObject
) -> None:
    ctx = build(ops)
    ids = [it.id for it in ctx.items]
    protected = data.draw(st.sets(st.sampled_from(ids), max_size=2)) if ids else set()
    s = Settings(policy=preset, max_tokens=budget, keep_last_turns=turns, keep_last_tokens=tail_tokens)
    policy = policy_from_settings(s)
    plan = policy.plan(ctx, counter=COUNTER, protected_ids=protected)
    if plan is None:
        return
    assert violations(ctx, plan, policy.tail, protected) == []
    assert plan.tokens_after < plan.tokens_before or plan.action == "summarize"


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=steps,
    action=st.sampled_from(["trim", "summarize"]),
    turns=st.integers(min_value=0, max_value=4),
    tail_tokens=st.sampled_from([0, 0, 60]),
    data=st.data(),
)
def test_guard_repairs_any_plan(
    ops: list[str], action: str, turns: int, tail_tokens: int, data: st.DataObject
) -> None:
    ctx = build(ops)
    ids = [it.id for it in ctx.items]
    wanted = data.draw(st.lists(st.sampled_from([*ids, "ghost"]), min_size=1, unique=True))
    protected = data.draw(st.sets(st.sampled_from(ids), max_size=2)) if ids else set()
    tail = TailWindow(turns, tail_tokens)
    plan = CompactionPlan(action=action, remove_ids=tuple(wanted), insert_after_id=None,  # type: ignore[arg-type]
                          tokens_before=0, tokens_after=0)
    result = guard_plan(ctx, plan, counter=COUNTER, tail=tail, protected_ids=protected)
    if result.plan is None:
        assert {i for i, _ in result.kept} == set(wanted)
        return
    assert violations(ctx, result.plan, tail, protected) == []
    assert set(result.plan.remove_ids) <= set(wanted)
    assert set(result.plan.remove_ids) | {i for i, _ in result.kept} == set(wanted)
