"""The cost benchmark's realtime rows: the call on the real plugin, billed from the server.

``ctxmgr.simulation.realtime_run`` plays the scripted support call into an
``AgentSession`` on the OpenAI realtime plugin against the emulator and bills what the
emulator's conversation held when each response started. A 60-turn call: the shortest
on which the ``realtime`` preset's compactions (at 6,000 tokens, four of them) pay for
the cache they break; on 30 turns every budget that compacts twice costs more than no
manager.
"""

from __future__ import annotations

import pytest
from livekit.agents import Agent

from ctxmgr.cost import CostModel, load_prices
from ctxmgr.simulation.realtime_run import RealtimeRun, bill_run, play_realtime
from ctxmgr.simulation.report import tally
from ctxmgr.simulation.support_call import support_call
from ctxmgr.testing import RealtimeServerEmulator

pytestmark = pytest.mark.emulator

TURNS, BUDGET = 60, 6000
_runs: dict[str, RealtimeRun] = {}


async def _run(name: str) -> RealtimeRun:
    """Each kind of run once per module (a run is plain data)."""
    if name not in _runs:
        settings = None if name == "no manager" else name
        _runs[name] = await play_realtime(support_call(TURNS), settings=settings, budget=BUDGET)
    return _runs[name]


async def test_each_compaction_creates_its_summary_on_the_server_before_deleting_the_span() -> None:
    run = await _run("realtime")
    kinds = [c.kind for c in run.changes if c.kind != "response"]
    assert run.compactions >= 2
    assert kinds[0] == "summary"  # no delete before the first summary is in
    for before, after in zip(kinds, kinds[1:]):
        assert (before, after) != ("summary", "summary")  # every summary folds a span
    assert all(c.folded for c in run.changes if c.kind == "delete")
    assert run.lost == 0


async def test_realtime_preset_bills_less_than_no_manager_on_the_same_call() -> None:
    managed, unmanaged = bill_run(await _run("realtime")), bill_run(await _run("no manager"))
    assert 0 < managed.total_usd < unmanaged.total_usd
    assert managed.peak_tokens <= BUDGET < unmanaged.peak_tokens
    assert managed.responses == unmanaged.responses > TURNS  # a reply per turn, and tool calls
    assert managed.summarizer_usd > 0 == unmanaged.summarizer_usd
    assert managed.rebill(prices="gpt-4o-mini-realtime").total_usd < managed.total_usd


async def test_scripted_tool_calls_run_as_the_agents_function_tools() -> None:
    run = await _run("no manager")
    calls = sum(1 for text, _audio in run.outputs if text)
    script = sum(1 for turn in support_call(TURNS).turns if turn.tool is not None)
    assert calls == script
    # each call's output came back from the tool and was sent to the next response
    last = 2 + 2 * TURNS - 1 + 2 * script  # instructions, tools, every item but the last reply
    assert len(run.contexts[-1]) == last


async def test_the_demo_table_bills_the_run_as_bill_run_does() -> None:
    run = await _run("realtime")
    prices = load_prices()
    row = tally(run.as_run_result(), CostModel(prices["gpt-realtime"]), prices["gpt-4o-mini"])
    bill = bill_run(run)
    assert row.prompt_usd == pytest.approx(bill.prompt_usd)
    assert row.summarizer_usd == pytest.approx(bill.summarizer_usd)
    assert (row.peak, row.compactions, row.lost) == (bill.peak_tokens, bill.compactions, 0)


async def test_a_writer_that_deletes_without_summarizing_loses_items_on_the_server() -> None:
    """The loss is read from the server's log: nobody reports it."""
    dropped: list[str] = []

    async def forget_oldest(agent: Agent, turn: int) -> None:
        if turn % 10 == 4:
            ctx = agent.chat_ctx.copy()
            spoken = ("function_call", "function_call_output", "message")
            items = [i for i in ctx.items if i.type in spoken]
            old = [i for i in items if getattr(i, "role", "") != "system"][:4]
            dropped.extend(i.id for i in old)
            ctx.items[:] = [i for i in ctx.items if i not in old]
            await agent.update_chat_ctx(ctx)

    run = await play_realtime(support_call(30), settings=None, after_turn=forget_oldest)
    assert run.compactions == 0
    assert run.lost == len(dropped) == 12
    assert not {i.item_id for c in run.contexts[-5:] for i in c} & set(dropped)
    untouched = await play_realtime(support_call(30), settings=None)
    assert bill_run(run).peak_tokens < bill_run(untouched).peak_tokens


async def test_a_response_between_the_steps_is_billed_for_the_summary_and_the_span() -> None:
    """Slow acknowledgements hold a compaction between its steps while the next turn
    starts: that response is given the summary and the span it folds, and billed so."""
    async with RealtimeServerEmulator() as emulator:
        emulator.delay_acks(0.1, "create")
        run = await play_realtime(
            support_call(30), settings="realtime", budget=3000, emulator=emulator, overlap=True
        )
    kinds = [c.kind for c in run.changes]
    steps = ["summary", "response", "delete"]
    between = [n for n in range(len(kinds)) if kinds[n : n + 3] == steps]
    assert len(between) >= 2
    assert run.lost == 0
    for n in between:
        summary, folded = run.changes[n].item_id, run.changes[n + 2].item_id
        assert any({summary, folded} <= {i.item_id for i in c} for c in run.contexts)


async def test_on_the_wire_the_cost_rule_compacts_before_the_mark_and_bills_less() -> None:
    # the rule learns from the plugin's metrics_collected: without that hook the
    # realtime preset would wait for its 80% mark like the mark-only run
    from ctxmgr import Settings

    def settings(price_model: str | None) -> Settings:
        trigger = {"budget_fraction": 0.8, "price_model": price_model, "cost_margin": 1.0}
        return Settings(policy="realtime", max_tokens=2 * BUDGET, trigger=trigger)

    call = support_call(TURNS)
    rule = await play_realtime(call, settings=settings("gpt-realtime"))
    mark = await play_realtime(call, settings=settings(None))
    rule_bill, mark_bill = bill_run(rule), bill_run(mark)
    assert rule.lost == mark.lost == 0
    assert rule.compactions > mark.compactions
    assert rule_bill.peak_tokens < 0.8 * 2 * BUDGET * 0.6 < mark_bill.peak_tokens
    assert rule_bill.prompt_usd + rule_bill.summarizer_usd < mark_bill.prompt_usd + mark_bill.summarizer_usd
