"""The cost model bills what a provider bills: whole contexts, an unchanged prefix cached."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ctxmgr.cost import (
    CacheRules,
    CostModel,
    ModelPrices,
    Price,
    PromptBill,
    SentItem,
    bill_prompt,
    common_prefix_tokens,
    load_prices,
)

pytestmark = pytest.mark.unit

INSTRUCTIONS = SentItem("instructions", "i", 1100)


def _audio(item_id: str, tokens: int) -> SentItem:
    return SentItem(item_id, item_id, tokens, "audio")


def _prices(**rates: float) -> ModelPrices:
    return ModelPrices(
        "m", {k: Price(v, "2025-01-01", "https://example.com") for k, v in rates.items()}
    )


def test_first_response_is_billed_uncached() -> None:
    bill = bill_prompt(None, [INSTRUCTIONS, _audio("u1", 300)])
    assert (bill.cached_tokens, bill.text_input, bill.audio_input) == (0, 1100, 300)


def test_prefix_under_1024_tokens_is_never_cached() -> None:
    first = [SentItem("i", "i", 1000), _audio("u1", 23)]
    second = [*first, _audio("a1", 200)]
    assert common_prefix_tokens(first, second) == 1023
    assert bill_prompt(first, second).cached_tokens == 0
    assert bill_prompt(second, [*second, _audio("u2", 10)]).cached_tokens == 1152


def test_cache_hits_count_in_128_token_steps() -> None:
    first = [SentItem("i", "i", 1300)]
    bill = bill_prompt(first, [*first, _audio("u1", 50)])
    assert (bill.text_cached_input, bill.text_input, bill.audio_input) == (1280, 20, 50)
    assert [CacheRules().cached(n) for n in (1023, 1024, 1151, 1152, 5000)] == [
        0,
        1024,
        1024,
        1152,
        4992,
    ]


def test_a_step_ending_inside_an_item_splits_it_by_modality() -> None:
    first = [SentItem("i", "i", 1000), _audio("u1", 200)]
    bill = bill_prompt(first, [*first, _audio("a1", 100)])
    # prefix 1,200 -> 1,152 cached: the 1,000 text tokens, then 152 of the 200 audio
    assert bill == PromptBill(
        text_input=0, text_cached_input=1000, audio_input=48 + 100, audio_cached_input=152
    )


def test_compaction_at_position_p_rebills_everything_after_p() -> None:
    turns = [_audio(f"t{k}", 500) for k in range(6)]
    before = [INSTRUCTIONS, *turns]
    grown = [*before, _audio("t6", 500)]
    assert bill_prompt(before, grown).uncached_tokens == 500 + (1100 + 3000) % 128

    # fold t0..t3 into a summary right after the instructions (p = 1)
    summary = SentItem("summary", "s1", 300)
    folded = [INSTRUCTIONS, summary, *grown[5:]]
    bill = bill_prompt(grown, folded)
    assert bill.cached_tokens == 1024  # the instructions alone, in 128-token steps
    assert bill.uncached_tokens == (1100 - 1024) + 300 + 3 * 500

    # delete only t3 (p = 4): the prefix up to t2 stays cached
    deleted = [INSTRUCTIONS, *turns[:3], *grown[5:]]
    bill = bill_prompt(grown, deleted)
    assert bill.cached_tokens == (1100 + 1500) // 128 * 128
    assert bill.uncached_tokens == bill.prompt_tokens - bill.cached_tokens

    # the response after the compaction hits the cache again
    assert bill_prompt(folded, [*folded, _audio("t7", 50)]).uncached_tokens < 200


def test_an_item_edited_in_place_breaks_the_prefix() -> None:
    first = [INSTRUCTIONS, SentItem("summary", "v1", 400), _audio("u1", 200)]
    edited = [INSTRUCTIONS, SentItem("summary", "v2", 400), _audio("u1", 200)]
    assert common_prefix_tokens(first, edited) == 1100


def test_dollars_follow_the_price_table() -> None:
    prices = _prices(
        text_input=4,
        text_cached_input=0.4,
        audio_input=32,
        audio_cached_input=0.4,
        text_output=16,
        audio_output=64,
    )
    bill = PromptBill(audio_input=1_000_000, audio_cached_input=1_000_000, audio_output=500_000)
    assert prices.usd(bill) == pytest.approx(32 + 0.4 + 32)


def test_a_text_model_has_no_audio_price() -> None:
    text_only = _prices(text_input=0.15, text_output=0.6)
    assert text_only.usd(PromptBill(text_input=2_000_000)) == pytest.approx(0.3)
    with pytest.raises(KeyError, match="audio_input"):
        text_only.usd(PromptBill(audio_input=1))


def test_cost_model_bills_a_session_response_by_response() -> None:
    model = CostModel(
        _prices(
            text_input=4,
            text_cached_input=0.4,
            audio_input=32,
            audio_cached_input=0.4,
            text_output=16,
            audio_output=64,
        )
    )
    first = [INSTRUCTIONS, _audio("u1", 100)]
    second = [*first, _audio("a1", 200), _audio("u2", 100)]
    bills = model.bill([first, second], outputs=[(0, 200), (0, 150)])
    assert [b.cached_tokens for b in bills] == [0, 1152]
    assert [b.audio_output for b in bills] == [200, 150]
    total = sum(bills, PromptBill())
    assert model.usd(total) == pytest.approx(sum(model.usd(b) for b in bills))
    with pytest.raises(ValueError, match="2 contexts but 1 outputs"):
        model.bill([first, second], outputs=[(0, 0)])


def test_shipped_prices_carry_a_date_and_a_source() -> None:
    prices = load_prices()
    realtime, mini = prices["gpt-realtime"], prices["gpt-4o-mini"]
    assert realtime.rate("audio_input") * 1e6 == pytest.approx(32.0)
    assert realtime.rate("audio_cached_input") * 1e6 == pytest.approx(0.40)
    assert realtime.rate("text_input") * 1e6 == pytest.approx(4.0)
    assert realtime.rate("audio_output") * 1e6 == pytest.approx(64.0)
    assert mini.rate("text_input") * 1e6 == pytest.approx(0.15)
    assert mini.rate("text_output") * 1e6 == pytest.approx(0.60)
    for model in prices.values():
        for figure in model.figures.values():
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", figure.date)
            assert figure.source.startswith("https://")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[m.text_inptu]\nusd_per_million = 1\ndate = "2025-01-01"\nsource = "x"\n',
            "m.text_inptu: unknown billing class",
        ),
        ('[m.text_input]\nusd_per_million = 1\nsource = "x"\n', "m.text_input: needs exactly"),
    ],
    ids=["unknown_class", "missing_date"],
)
def test_a_bad_price_table_names_the_file_and_the_figure(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(body)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        load_prices(path)
    assert str(path) in str(info.value)
