"""The real, unmodified OpenAI realtime plugin holds conversations against the emulator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from emulator_support import Live, plugin_problems, shorten_update_wait, texts
from livekit.agents import RunResult, llm
from livekit.agents.metrics import LLMModelUsage

from ctxmgr.testing.emulator import CallTool, RealtimeServerEmulator, ResponsePlan, Say, Usage

pytestmark = pytest.mark.emulator


async def test_multi_turn_conversation_with_a_tool_call_is_the_same_everywhere(
    live: Live, emulator: RealtimeServerEmulator, warnings_log: pytest.LogCaptureFixture
) -> None:
    emulator.queue_response(
        ResponsePlan.say("Hello, Ada."),
        ResponsePlan.call("lookup", '{"query": "tides"}'),
        ResponsePlan.say("Tides follow the moon."),
        ResponsePlan.say("You asked about tides."),
    )
    await live.session.run(user_input="Hi, I am Ada.")
    await live.session.run(user_input="Why are there tides?")
    await live.session.run(user_input="What did I ask?")
    await live.session.wait_for_idle()

    expected = [
        ("user", "Hi, I am Ada."),
        ("assistant", "Hello, Ada."),
        ("user", "Why are there tides?"),
        ("function_call", "lookup"),
        ("function_call_output", "fact about tides"),
        ("assistant", "Tides follow the moon."),
        ("user", "What did I ask?"),
        ("assistant", "You asked about tides."),
    ]
    server = [(i.role or i.type, i.text or i.name or i.output or "") for i in emulator.conversation]
    assert server == expected
    assert texts(live.rt_session.chat_ctx) == expected
    assert texts(live.agent.chat_ctx) == expected
    assert live.agent.lookups == ["tides"]
    assert live.violations() == []
    assert emulator.errors == []
    assert plugin_problems(warnings_log.records) == []


async def test_default_audio_modality_streams_transcripts_without_audio_bytes(
    live_factory: Callable[..., Awaitable[Live]],
    emulator: RealtimeServerEmulator,
    warnings_log: pytest.LogCaptureFixture,
) -> None:
    live = await live_factory(modalities=None)
    emulator.queue_response(ResponsePlan.say("Spoken reply."))
    result: RunResult[None] = await live.session.run(user_input="Say something.")
    await live.session.wait_for_idle()

    assert [e.item.text_content for e in result.events if e.type == "message"] == ["Spoken reply."]
    sent = {e["type"] for e in emulator.server_events}
    assert "response.output_audio_transcript.delta" in sent
    assert "response.output_text.delta" not in sent
    assert live.violations() == []
    assert plugin_problems(warnings_log.records) == []


async def test_server_announces_a_function_call_before_the_tool_runs(
    live: Live, emulator: RealtimeServerEmulator, warnings_log: pytest.LogCaptureFixture
) -> None:
    await live.session.run(user_input="Hello.")
    emulator.queue_response(ResponsePlan.say("Done looking."))
    response = emulator.commit_response(
        ResponsePlan(
            outputs=(Say("Let me check."), CallTool("lookup", '{"query": "x"}', dispatch_delay=0.3))
        )
    )
    call_id = response.item_ids[1]
    await emulator.wait_until(lambda: live.rt_session.chat_ctx.get_by_id(call_id) is not None)

    assert live.agent.lookups == []  # in the mirror, unknown to tool execution
    await response.wait_done()
    await emulator.wait_until(lambda: live.agent.lookups == ["x"])
    await emulator.wait_until(
        lambda: len(emulator.responses) == 2 and emulator.responses[1].done.is_set()
    )
    await live.session.wait_for_idle()

    assert [i.type for i in emulator.conversation][-4:] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert live.violations() == []
    assert plugin_problems(warnings_log.records) == []


async def test_reported_usage_reaches_the_session_usage(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    emulator.queue_response(
        ResponsePlan.say("ok", usage=Usage(input_tokens=2048, output_tokens=16, cached_tokens=1024))
    )
    await live.session.run(user_input="Count me.")

    [usage] = [u for u in live.session.usage.model_usage if isinstance(u, LLMModelUsage)]
    assert (usage.input_tokens, usage.input_cached_tokens, usage.output_tokens) == (2048, 1024, 16)


async def test_each_response_records_the_conversation_it_was_given_and_its_output(
    live: Live, emulator: RealtimeServerEmulator
) -> None:
    """What a cost run bills from: the server's conversation at ``response.created``."""
    emulator.queue_response(
        ResponsePlan.say("Hello, Ada."),
        ResponsePlan.call("lookup", '{"query": "tides"}'),
        ResponsePlan.say("Tides follow the moon."),
    )
    await live.session.run(user_input="Hi, I am Ada.")
    await live.session.run(user_input="Why are there tides?")
    await live.session.wait_for_idle()

    given = [[(i.role or i.type, i.text or i.output or "") for i in r.context or ()]
             for r in emulator.responses]
    assert given == [
        [("user", "Hi, I am Ada.")],
        [("user", "Hi, I am Ada."), ("assistant", "Hello, Ada."), ("user", "Why are there tides?")],
        [("user", "Hi, I am Ada."), ("assistant", "Hello, Ada."), ("user", "Why are there tides?"),
         ("function_call", ""), ("function_call_output", "fact about tides")],
    ]
    assert [[o["type"] for o in r.output] for r in emulator.responses] == [
        ["message"], ["function_call"], ["message"]
    ]
    assert emulator.responses[1].output[0]["arguments"] == '{"query": "tides"}'
    assert {r.instructions for r in emulator.responses} == {"You are terse."}
    assert [t["name"] for t in emulator.responses[0].tools] == ["lookup"]


async def test_dropped_acks_time_out_update_chat_ctx_and_leave_the_mirror_behind(
    live: Live, emulator: RealtimeServerEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    await live.session.run(user_input="Hello.")
    shorten_update_wait(monkeypatch, 0.2)
    emulator.drop_acks("create")
    ctx = live.agent.chat_ctx.copy()
    note = ctx.add_message(role="system", content=["A note for later."])

    with pytest.raises(llm.RealtimeError, match="update_chat_ctx timed out"):
        await live.agent.update_chat_ctx(ctx)

    assert note.id in emulator.item_ids
    assert live.rt_session.chat_ctx.get_by_id(note.id) is None
    kinds = {(v.kind, v.item_ids) for v in live.violations()}
    assert ("mirror_diverged", (note.id,)) in kinds


async def test_retry_after_a_lost_ack_is_a_duplicate_and_the_mirror_never_catches_up(
    live: Live, emulator: RealtimeServerEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    await live.session.run(user_input="Hello.")
    shorten_update_wait(monkeypatch, 0.2)
    emulator.drop_acks("create", count=1)
    ctx = live.agent.chat_ctx.copy()
    note = ctx.add_message(role="system", content=["A note for later."])
    with pytest.raises(llm.RealtimeError):
        await live.agent.update_chat_ctx(ctx)

    await live.agent.update_chat_ctx(ctx)  # the plugin takes the duplicate error as success

    assert [e["code"] for e in emulator.errors] == ["item_create_duplicate_item_id"]
    assert live.rt_session.chat_ctx.get_by_id(note.id) is None
    assert [v.kind for v in live.violations()] == ["mirror_diverged"]


async def test_delayed_acks_within_the_wait_are_confirmed(
    live: Live, emulator: RealtimeServerEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    await live.session.run(user_input="Hello.")
    shorten_update_wait(monkeypatch, 1.0)
    emulator.delay_acks(0.2, "create")
    ctx = live.agent.chat_ctx.copy()
    note = ctx.add_message(role="system", content=["A note for later."])

    await live.agent.update_chat_ctx(ctx)

    assert live.rt_session.chat_ctx.get_by_id(note.id) is not None
    assert live.violations() == []
