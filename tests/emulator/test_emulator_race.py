"""The bench detects the in-flight-delete race (seed: livekit/agents PR 5021).

A naive summarizer, written the way users wrote one before ctxmgr, runs on the
seed's timeline against the real plugin and the emulator; the loss the seed
describes must show. Times are the seed's, halved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from emulator_support import Live, plugin_problems
from livekit.agents import Agent, llm

from ctxmgr.testing.emulator import CallTool, RealtimeServerEmulator, ResponsePlan, ServerResponse

pytestmark = pytest.mark.emulator

SCALE = 0.5


def seed_ms(milliseconds: float) -> float:
    """A time of the seed's timeline, in seconds on this test's clock."""
    return milliseconds / 1000 * SCALE


async def naive_summarize(agent: Agent, *, summarizing_for: float, keep_last: int = 2) -> None:
    """Read the local context, summarize the old part, replace it with summary + tail."""
    chat_ctx = agent.chat_ctx.copy()
    old, tail = chat_ctx.items[:-keep_last], chat_ctx.items[-keep_last:]
    await asyncio.sleep(summarizing_for)  # the summarizer LLM call
    folded = " / ".join(i.text_content or "" for i in old if i.type == "message")
    summary = llm.ChatMessage(role="system", content=[f"Summary so far: {folded}"])
    await agent.update_chat_ctx(llm.ChatContext([summary, *tail]))


async def run_seed_timeline(
    live: Live, emulator: RealtimeServerEmulator
) -> tuple[str, ServerResponse]:
    """Play the seed's timeline; return the in-flight call's id and the late response."""
    for text in ("Hello.", "My name is Ada.", "What is the weather?"):
        await live.session.run(user_input=text)
    emulator.queue_response(ResponsePlan.say("Here is what I found."))  # the tool reply

    t0 = time.monotonic()
    summarizer = asyncio.create_task(naive_summarize(live.agent, summarizing_for=seed_ms(434)))
    await asyncio.sleep(seed_ms(82))
    # T+82: the server (VAD) starts a response and announces a function call;
    # tool execution learns of it only at T+1057
    call = CallTool("lookup", '{"query": "weather"}', dispatch_delay=seed_ms(1057 - 82))
    with_call = emulator.commit_response(ResponsePlan(outputs=(call,)))
    call_id = with_call.item_ids[0]
    await emulator.wait_until(lambda: call_id in emulator.item_ids)
    # the user speaks again; the server commits the next response while the call
    # is still the tail, and streams it at T+2474
    late = emulator.commit_response(
        ResponsePlan.say("As I was saying.", start_delay=seed_ms(2474) - (time.monotonic() - t0))
    )
    await summarizer  # T+434: summary in, old items and the in-flight call deleted
    await late.wait_done(timeout=5.0)
    await emulator.wait_until(lambda: all(r.done.is_set() for r in emulator.responses))
    await live.session.wait_for_idle()
    return call_id, late


async def test_naive_summarizer_deletes_the_in_flight_call(
    live: Live, emulator: RealtimeServerEmulator, warnings_log: pytest.LogCaptureFixture
) -> None:
    call_id, late = await run_seed_timeline(live, emulator)
    [output] = [i for i in emulator.conversation if i.type == "function_call_output"]
    [late_item] = [i for i in emulator.conversation if i.id == late.item_ids[0]]

    # the call the conversation still needed was deleted on the server...
    assert call_id in emulator.deleted_ids
    assert call_id not in emulator.item_ids
    # ...after the tool already ran, which put it back into the local context only
    assert live.agent.lookups == ["weather"]
    assert live.agent.chat_ctx.get_by_id(call_id) is not None
    # its output reached the server without it
    assert output.call_id not in {
        i.call_id for i in emulator.conversation if i.type == "function_call"
    }
    # the response committed before the delete still chains to the deleted call
    assert late.anchor == call_id
    assert (late_item.previous_item_id, late_item.stale_anchor) == (call_id, True)
    assert any(
        "placed a chat history item after an unknown item" in line
        for line in plugin_problems(warnings_log.records)
    )
    # local and server diverged; the checker names each loss. The mirror stays in
    # step with the server: both append the late item at their tail.
    assert {(v.kind, v.item_ids) for v in live.violations()} == {
        ("item_lost", (call_id,)),
        ("orphaned_function_call_output", (output.id,)),
        ("orphaned_previous_item_id", (late_item.id, call_id)),
    }


async def test_rejecting_server_also_loses_the_late_reply(
    live_factory: Callable[..., Awaitable[Live]],
    emulator: RealtimeServerEmulator,
    warnings_log: pytest.LogCaptureFixture,
) -> None:
    emulator.stale_anchor_policy = "reject"
    live = await live_factory()
    call_id, late = await run_seed_timeline(live, emulator)
    late_id = late.item_ids[0]

    assert [e["code"] for e in emulator.errors] == ["item_create_invalid_previous_item_id"]
    assert late_id not in emulator.item_ids
    assert live.rt_session.chat_ctx.get_by_id(late_id) is None
    assert live.agent.chat_ctx.get_by_id(late_id) is not None  # spoken, kept locally only
    assert any("returned an error" in line for line in plugin_problems(warnings_log.records))
    lost = {v.item_ids for v in live.violations() if v.kind == "item_lost"}
    assert lost == {(call_id,), (late_id,)}
