"""The cost rule: rents (carries the foldable part) until renting has cost a compaction."""

from __future__ import annotations

import asyncio

import pytest
from livekit.agents import llm
from pydantic import ValidationError

from ctxmgr import Settings, TokenCounter
from ctxmgr.cost import CostModel, load_prices
from ctxmgr.cost_trigger import CostTrigger, CutEstimate, estimate_cut
from ctxmgr.guard import TailWindow
from ctxmgr.simulation.report import tally
from ctxmgr.simulation.session import run_session, stand_in_llms
from ctxmgr.simulation.shapes import SHAPES, make_call
from ctxmgr.simulation.support_call import PLANTED_TURNS

PRICES = load_prices()


def _rule(model: str = "gpt-realtime", speech: str = "audio", margin: float = 1.0) -> CostTrigger:
    return CostTrigger(
        PRICES[model],
        summarizer=PRICES["gpt-4o-mini"],
        speech=speech,  # type: ignore[arg-type]
        summary_tokens=500,
        margin=margin,
    )


def _growing(step: int, n: int, *, start: int = 0, fresh: int = 0) -> list[CutEstimate]:
    """The cuts of ``n`` responses of a cycle opened by a compaction, whose foldable part
    grows ``step`` tokens a response after the summary (500) and a ``start`` it opens with,
    each response after the first sending a ``fresh`` reply."""
    cuts = []
    for r in range(1, n + 1):
        new = fresh if r > 1 else 0  # the compaction before folded the reply before
        cuts.append(CutEstimate(
            folded_tokens=500 + start + step * r + new, kept_tokens=0,
            folded_text_tokens=start + step * r, fresh_tokens=new,
        ))
    return cuts


def _first_due(rule: CostTrigger, cuts: list[CutEstimate]) -> int | None:
    """Responses sent before the rule found a compaction due (checked after each one,
    with the next response's cut), or None."""
    for t, (sent, following) in enumerate(zip(cuts, cuts[1:]), start=1):
        rule.on_response(sent)
        if rule.due(following):
            return t
    return None


@pytest.mark.unit
def test_a_compactions_fixed_price_leaves_reading_the_folded_span_out() -> None:
    rule = _rule()
    cut = CutEstimate(folded_tokens=6_000, kept_tokens=300, folded_text_tokens=2_000, head_tokens=2_000)
    # carrying 5,500 tokens (6,000 less the summary) at $0.40/M: $0.0022 a response
    assert rule.carry_usd(cut) == pytest.approx(5_500 * 0.40e-6)
    # the tail re-billed as audio, the summary as text (with the head's 80 tokens past its
    # last whole 128-token cache step), the summarizer's instructions, the previous
    # summary it re-reads and the summary it writes
    expected = 300 * 31.6e-6 + (500 + 80) * 3.6e-6 + (450 + 500) * 0.15e-6 + 500 * 0.60e-6
    assert rule.compaction_usd(cut) == pytest.approx(expected)
    longer = CutEstimate(folded_tokens=60_000, kept_tokens=300, folded_text_tokens=20_000, head_tokens=2_000)
    assert rule.compaction_usd(longer) == rule.compaction_usd(cut)  # each item is read once anyway


@pytest.mark.unit
@pytest.mark.parametrize(("model", "speech", "step"), [
    ("gpt-realtime", "audio", 40), ("gpt-realtime", "audio", 400),
    ("gpt-4o-mini", "text", 60), ("gpt-4o-mini-realtime", "audio", 15),
])
def test_under_steady_growth_it_ends_the_cycle_at_its_cheapest_length(
    model: str, speech: str, step: int
) -> None:
    # the cost per response of a cycle of T responses, K + m_1 + ... + m_T over T, is
    # least at one T; the rule, which sees one response at a time, compacts right there
    rule = _rule(model, speech)
    cuts = _growing(step, 400)
    k = rule.compaction_usd(cuts[0])
    paid = [rule.response_usd(c, first=r == 0) for r, c in enumerate(cuts)]
    average = [(k + sum(paid[:t])) / t for t in range(1, len(cuts))]
    best = min(range(len(average)), key=average.__getitem__) + 1
    assert 2 <= best < 300
    assert _first_due(rule, cuts) == best
    rule.reset()
    assert rule.rent_usd == rule.carried_usd == rule.responses == 0 and not rule.due(cuts[-1])


@pytest.mark.unit
def test_a_higher_margin_waits_longer_and_nothing_foldable_never_fires() -> None:
    cuts = _growing(100, 200)
    eager, exact, patient = (_first_due(_rule(margin=m), cuts) for m in (0.5, 1.0, 2.0))
    assert eager is not None and exact is not None and patient is not None
    assert eager < exact < patient
    small = [CutEstimate(folded_tokens=400 + r, kept_tokens=300, folded_text_tokens=400) for r in range(99)]
    assert _first_due(_rule(), small) is None  # never more than the summary would be


@pytest.mark.unit
def test_a_reply_that_bills_more_than_a_compaction_is_folded_before_it_is_sent() -> None:
    # gpt-4o-mini-realtime: a reply re-sent as uncached audio costs more than a summary
    rule = _rule("gpt-4o-mini-realtime")
    cuts = _growing(20, 10, fresh=300)
    assert rule.fresh_usd(cuts[1]) > rule.compaction_usd(cuts[1])
    assert _first_due(rule, cuts) == 1
    # the same reply at text prices is cheap: the rule waits for the carrying to grow
    text = _rule("gpt-4o-mini", "text")
    later = _first_due(text, _growing(20, 400, fresh=300))
    assert later is not None and later > 5


@pytest.mark.unit
def test_the_next_response_pays_half_a_cache_step_of_what_the_last_one_ended_with() -> None:
    rule, p = _rule(), PRICES["gpt-realtime"]
    spoken = CutEstimate(6_000, 0, 2_000, prefix_end_spoken=True)
    text = CutEstimate(6_000, 0, 2_000, prefix_end_spoken=False)
    assert rule.step_usd(spoken) == pytest.approx(64 * (p.rate("audio_input") - p.rate("audio_cached_input")))
    assert rule.step_usd(text) == pytest.approx(64 * (p.rate("text_input") - p.rate("text_cached_input")))
    assert rule.step_usd(CutEstimate(6_000, 0, 2_000)) == 0  # nothing was sent before
    # the first response after a compaction is billed uncached whole: no partial step
    assert rule.response_usd(spoken, first=True) == rule.carry_usd(spoken)
    assert rule.response_usd(spoken) == pytest.approx(rule.carry_usd(spoken) + rule.step_usd(spoken))


@pytest.mark.unit
def test_what_does_not_grow_is_rented_until_carrying_it_has_cost_a_compaction() -> None:
    # a preloaded history, or one large tool output, that does not grow: the cycle's
    # average never rises, but a compaction removes it for good, so the rule rents it only
    # until renting has cost what the compaction does (ski rental)
    rule = _rule()
    cuts = _growing(0, 400, start=3_000)
    k, carry = rule.compaction_usd(cuts[0]), rule.carry_usd(cuts[0])
    assert _first_due(rule, cuts) == -(-k // carry)
    # a cycle that starts from nothing and does not grow never pays for one
    assert _first_due(_rule(), _growing(0, 400, start=0)) is None


@pytest.mark.unit
def test_a_short_head_is_re_billed_a_long_one_stays_cached() -> None:
    rule = _rule("gpt-4o-mini", "text")
    short = CutEstimate(6_000, 300, 6_000, head_tokens=900)
    long = CutEstimate(6_000, 300, 6_000, head_tokens=3_000)
    text_extra = (0.15 - 0.075) * 1e-6
    assert rule.compaction_usd(short) - rule.compaction_usd(long) == pytest.approx(
        900 * text_extra - (3_000 - 2_944) * text_extra
    )


@pytest.mark.unit
def test_estimate_splits_the_context_at_the_tail_and_bills_speech_at_its_scale() -> None:
    summary = llm.ChatMessage(
        id="s", role="system", content=["<summary>the story so far</summary>"], extra={"is_summary": True}
    )
    items: list[llm.ChatItem] = [
        llm.ChatMessage(id="sys", role="system", content=["be brief " * 20]),
        summary,
    ]
    for t in range(6):
        items += [
            llm.ChatMessage(id=f"u{t}", role="user", content=[f"question {t} " * 5]),
            llm.ChatMessage(id=f"a{t}", role="assistant", content=[f"answer {t} " * 10]),
        ]
    counter = TokenCounter()
    counts = counter.count_items(items)
    tail = TailWindow(keep_last_turns=2)
    cut = estimate_cut(items, counts, tail, outside_tokens=300)
    assert cut.head_tokens == counts[0] + 300  # the instructions and the tools
    assert cut.folded_text_tokens == sum(counts[1:10]) == cut.folded_tokens
    assert cut.kept_tokens == sum(counts[10:])
    # spoken turns bill three times their transcript; the summary is text
    spoken = estimate_cut(items, counts, tail, speech_scale=3.0)
    assert spoken.folded_tokens == counts[1] + 3 * sum(counts[2:10])
    assert spoken.kept_tokens == 3 * cut.kept_tokens
    assert spoken.folded_text_tokens == cut.folded_text_tokens
    # the agent's speech at its own rate
    both = estimate_cut(items, counts, tail, speech_scale=3.0, agent_speech_scale=5.0)
    assert both.folded_tokens == counts[1] + 3 * sum(counts[2:10:2]) + 5 * sum(counts[3:10:2])
    assert both.kept_tokens == 3 * sum(counts[10::2]) + 5 * sum(counts[11::2])


@pytest.mark.unit
def test_settings_name_a_priced_model_or_say_which_exist() -> None:
    s = Settings(policy="realtime", trigger={"budget_fraction": 0.8, "price_model": "gpt-realtime"})
    rule = CostTrigger.from_settings(s)
    assert rule is not None and rule.speech == "audio" and rule.summary_tokens == 500
    text = CostTrigger.from_settings(Settings(trigger={"price_model": "gpt-4o-mini"}))
    assert text is not None and text.speech == "text"
    assert CostTrigger.from_settings(Settings()) is None
    with pytest.raises(ValidationError, match="gpt-realtime"):
        Settings(trigger={"price_model": "gpt-9"})
    with pytest.raises(ValidationError, match="no audio prices"):
        Settings(trigger={"price_model": "gpt-4o-mini", "speech_billed_as": "audio"})
    trim = Settings(policy="trim", trigger={"price_model": "gpt-realtime"})
    rule = CostTrigger.from_settings(trim)
    assert rule is not None and rule.summarizer is None and rule.summary_tokens == 0


@pytest.mark.unit
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_call_shape_keeps_the_opening_details_and_differs_after(shape: str) -> None:
    call = make_call(shape, 60, 3)
    base = make_call("support", 60, 3)
    assert len(call.turns) == 60
    assert call.turns[:PLANTED_TURNS] == base.turns[:PLANTED_TURNS]
    assert (call.turns == base.turns) == (shape == "support")
    with pytest.raises(ValueError, match="tool-heavy"):
        make_call("chatty", 60, 3)


@pytest.mark.session
def test_in_a_session_the_rule_compacts_before_the_budget_does_and_bills_less() -> None:
    # a real AgentSession and manager: the rule's rounds start on its own due, well
    # under the 0.8 high-water mark, and the call bills less than with the mark alone
    call = make_call("support", 70, 5)
    prices = PRICES["gpt-realtime"]
    bills, runs = {}, {}
    for name, extra in (("mark", {"price_model": None}), ("rule", {"price_model": "gpt-realtime"})):
        settings = Settings(
            policy="realtime",
            max_tokens=12_000,
            keep_last_turns=1,
            trigger={"budget_fraction": 0.8, **extra},
        )
        counter = TokenCounter()
        result = asyncio.run(
            run_session(
                call, name=name, preset=None, settings=settings, budget=12_000,
                llms=stand_in_llms(call), counter=counter,
            )
        )
        row = tally(result, CostModel(prices), PRICES["gpt-4o-mini"])
        bills[name], runs[name] = row, result
        assert row.lost == 0 and row.peak <= 12_000
    assert bills["rule"].compactions > bills["mark"].compactions
    assert bills["rule"].peak < 0.8 * 12_000 * 0.6
    assert bills["rule"].cost_usd < bills["mark"].cost_usd


def _turns(n: int) -> list[llm.ChatItem]:
    items: list[llm.ChatItem] = [llm.ChatMessage(id="sys", role="system", content=["be brief " * 20])]
    for t in range(n):
        items += [
            llm.ChatMessage(id=f"u{t}", role="user", content=[f"question {t} " * 5]),
            llm.ChatMessage(id=f"a{t}", role="assistant", content=[f"answer {t} " * 10]),
        ]
    return items


@pytest.mark.unit
def test_with_no_tail_what_the_model_said_since_the_last_response_is_rent_at_full_price() -> None:
    # the last response was sent turns 0-2 and the question of turn 3; since then the
    # model answered it and called a tool. The next response sends those uncached
    # unless a compaction folds them first, and the new question is uncached either way.
    items = _turns(4)
    items += [
        llm.FunctionCall(id="fc", call_id="c1", name="lookup", arguments='{"order": 4417}'),
        llm.FunctionCallOutput(id="fo", call_id="c1", name="lookup", output="shipped " * 40, is_error=False),
        llm.ChatMessage(id="u4", role="user", content=["and the refund? " * 3]),
    ]
    counts = TokenCounter().count_items(items)
    sent = {item.id for item in items[:8]}  # sys, u0..a2, u3
    empty = TailWindow(keep_last_turns=0)
    cut = estimate_cut(items, counts, empty, sent_before=sent, speech_scale=4.0)
    assert cut.fresh_tokens == 4 * counts[8]  # a3, billed as speech
    assert cut.fresh_text_tokens == counts[9] + counts[10]  # the call and its output, text
    assert cut.kept_tokens == 0  # u4 is being answered: kept, and new either way
    assert cut.folded_text_tokens == sum(counts[1:11])
    # a tail window: the reply sat in it when it could have been folded, nothing is fresh
    one = estimate_cut(items, counts, TailWindow(keep_last_turns=1), sent_before=sent, speech_scale=4.0)
    assert one.fresh_tokens == one.fresh_text_tokens == 0 and one.kept_tokens == 4 * counts[11]
    # a summary written as an assistant message is no reply: the compaction put it there
    summary = llm.ChatMessage(
        id="s", role="assistant", content=["<summary>so far</summary>"], extra={"is_summary": True}
    )
    with_summary = [items[0], summary, *items[1:]]
    summarized = estimate_cut(
        with_summary, TokenCounter().count_items(with_summary), empty,
        sent_before=sent, speech_scale=4.0,
    )
    assert summarized.fresh_tokens == cut.fresh_tokens
    # without the last response's items nothing can be told fresh
    blind = estimate_cut(items, counts, empty, speech_scale=4.0)
    assert blind.fresh_tokens == blind.fresh_text_tokens == 0 and blind.kept_tokens == 4 * counts[11]
    # the fresh part is paid once, uncached, by the next response; the rest is carried cached
    rule, p = _rule(), PRICES["gpt-realtime"]
    assert rule.fresh_usd(cut) == pytest.approx(
        cut.fresh_tokens * p.rate("audio_input") + cut.fresh_text_tokens * p.rate("text_input")
    )
    carried = cut.folded_tokens - cut.fresh_tokens - cut.fresh_text_tokens - 500
    assert rule.carry_usd(cut) == pytest.approx(carried * p.rate("audio_cached_input"))
    assert cut.prefix_end_spoken is True  # the last response was sent u3, speech
    assert one.prefix_end_spoken is True and blind.prefix_end_spoken is None


@pytest.mark.session
def test_with_no_tail_the_rule_folds_whole_turns_reply_included_and_bills_less() -> None:
    # a real AgentSession billed as gpt-4o-mini-realtime, where a reply re-sent as
    # uncached audio costs more than a summary: with no tail window the rule compacts
    # once a turn has ended (never between a tool call and its reply), so the first
    # response after each compaction is sent one spoken turn, the question it answers
    call = make_call("tool-heavy", 40, 5)
    prices = PRICES["gpt-4o-mini-realtime"]
    rows, runs = {}, {}
    for tail in (0, 1):
        settings = Settings(
            policy="realtime", max_tokens=12_000, keep_last_turns=tail,
            trigger={"budget_fraction": 0.8, "price_model": "gpt-4o-mini-realtime"},
        )
        result = asyncio.run(
            run_session(
                call, name=str(tail), preset=None, settings=settings, budget=12_000,
                llms=stand_in_llms(call), counter=TokenCounter(),
            )
        )
        rows[tail], runs[tail] = tally(result, CostModel(prices), PRICES["gpt-4o-mini"]), result
        assert rows[tail].lost == 0 and rows[tail].peak <= 12_000
    after: list[int] = []
    previous: set[str] = set()
    for response in runs[0].responses:
        ids = {item.item_id for item in response.context}
        if previous - ids:  # items were removed since the response before: a compaction
            after.append(sum(item.modality == "audio" for item in response.context))
        previous = ids
    assert len(after) >= 10 and after == [1] * len(after)
    # the agent's speech bills ~4.9 audio tokens per transcript token here, the caller's
    # ~2.3: priced at one rate for both, a reply looks cheaper than a compaction about one
    # turn in four (30 compactions in 40 turns); learnt per speaker, 34
    assert rows[0].compactions >= 33
    assert rows[0].cost_usd < rows[1].cost_usd


@pytest.mark.unit
def test_the_estimate_from_the_counters_tally_is_the_estimate_from_the_items() -> None:
    # the manager prices the context every response from the counter's tally (plain
    # tuples: a livekit item's fields cost ~50 ns a read); the answer must not change
    import random

    rng = random.Random(5)
    for _ in range(60):
        items = _turns(rng.randint(1, 12))
        items.insert(rng.randint(1, len(items)), llm.ChatMessage(
            id="s", role="system", content=["<summary>so far</summary>"], extra={"is_summary": True}
        ))
        at = rng.randint(1, len(items))
        items[at:at] = [
            llm.FunctionCall(id="fc", call_id="c1", name="lookup", arguments='{"order": 4417}'),
            llm.FunctionCallOutput(id="fo", call_id="c1", name="lookup", output="shipped " * 9, is_error=False),
        ]
        counter = TokenCounter()
        counts = counter.count_items(items)
        sent = {item.id for item in rng.sample(items, rng.randint(0, len(items)))}
        tail = TailWindow(keep_last_turns=rng.choice([0, 1, 2]))
        kw = {"sent_before": sent, "speech_scale": 2.3, "agent_speech_scale": 4.9, "outside_tokens": 300}
        assert estimate_cut(items, counts, tail, tally=counter.tally(items), **kw) == estimate_cut(
            items, counts, tail, **kw
        )
