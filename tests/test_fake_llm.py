"""FakeLLM behaves like a provider plugin: streamed text, tool calls, usage, recorded prompts."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from livekit.agents import Agent, AgentSession, RunResult, function_tool, llm

from ctxmgr import TokenCounter
from ctxmgr.testing.fake_llm import (
    FakeLLM,
    FakeReply,
    FakeToolCall,
    extractive_summary,
    summary_responder,
)

# Marked per test: most tests only drive the stream, one runs a real AgentSession.
unit = pytest.mark.unit


def _ctx(*texts: str) -> llm.ChatContext:
    ctx = llm.ChatContext()
    for text in texts:
        ctx.add_message(role="user", content=text)
    return ctx


@unit
async def test_scripted_replies_are_used_in_order() -> None:
    async with FakeLLM(["first", FakeReply("second")]) as fake:
        one = await fake.chat(chat_ctx=_ctx("a")).collect()
        two = await fake.chat(chat_ctx=_ctx("b")).collect()
    assert (one.text, two.text) == ("first", "second")
    assert fake.remaining_replies == 0


@unit
async def test_a_call_past_the_script_fails() -> None:
    async with FakeLLM(["only"]) as fake:
        await fake.chat(chat_ctx=_ctx("a")).collect()
        with pytest.raises(RuntimeError, match="script exhausted"):
            await fake.chat(chat_ctx=_ctx("b")).collect()


@unit
async def test_text_is_streamed_in_chunks_that_join_back() -> None:
    text = "Your order 4417 ships on 3 May."
    async with FakeLLM([text]) as fake:
        stream = fake.chat(chat_ctx=_ctx("a"))
        async with stream:
            pieces = [c.delta.content async for c in stream if c.delta and c.delta.content]
    assert len(pieces) == len(text.split())
    assert "".join(pieces) == text


@unit
async def test_every_prompt_is_recorded_as_a_copy() -> None:
    ctx = _ctx("hello")
    async with FakeLLM(["hi"]) as fake:
        await fake.chat(chat_ctx=ctx).collect()
    ctx.add_message(role="user", content="added later")
    assert [m.text_content for m in fake.calls[0].messages()] == ["hello"]


@unit
async def test_responder_sees_the_context_and_the_tools() -> None:
    @function_tool
    async def lookup_order(order: int) -> str:
        """Look up an order."""
        return "shipped"

    seen: list[tuple[str, list[str]]] = []

    async def responder(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> str:
        names = [t.info.name for t in tools if isinstance(t, llm.FunctionTool)]
        seen.append((chat_ctx.messages()[-1].text_content or "", names))
        return "ok"

    async with FakeLLM(responder) as fake:
        reply = await fake.chat(chat_ctx=_ctx("where is it?"), tools=[lookup_order]).collect()
    assert reply.text == "ok"
    assert seen == [("where is it?", ["lookup_order"])]


@unit
async def test_tool_calls_get_json_arguments_and_unique_call_ids() -> None:
    script = [
        FakeReply(tool_calls=[FakeToolCall("lookup_order", {"order": 4417})]),
        FakeReply(tool_calls=[FakeToolCall("lookup_order", '{"order": 1}')]),
    ]
    async with FakeLLM(script) as fake:
        one = await fake.chat(chat_ctx=_ctx("a")).collect()
        two = await fake.chat(chat_ctx=_ctx("b")).collect()
    calls = one.tool_calls + two.tool_calls
    assert [c.arguments for c in calls] == ['{"order": 4417}', '{"order": 1}']
    assert len({c.call_id for c in calls}) == 2


@unit
async def test_delay_is_awaited_before_the_first_chunk() -> None:
    async with FakeLLM(["late"], delay_s=0.05) as fake:
        started = time.perf_counter()
        await fake.chat(chat_ctx=_ctx("a")).collect()
    assert time.perf_counter() - started >= 0.05


@unit
async def test_fail_with_is_raised_by_the_stream() -> None:
    async with FakeLLM(["never"], fail_with=ConnectionError("down")) as fake:
        with pytest.raises(ConnectionError, match="down"):
            await fake.chat(chat_ctx=_ctx("a")).collect()


@unit
async def test_usage_is_reported_with_the_token_counter() -> None:
    counter = TokenCounter()
    ctx = _ctx("How many tokens is this prompt?")
    async with FakeLLM(["Seven tokens, give or take."], counter=counter) as fake:
        reply = await fake.chat(chat_ctx=ctx).collect()
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == counter.count(ctx)
    assert reply.usage.completion_tokens == counter.count_text("Seven tokens, give or take.")
    assert fake.usages == [reply.usage]


@unit
async def test_usage_can_be_withheld() -> None:
    async with FakeLLM(["no usage"], report_usage=False) as fake:
        reply = await fake.chat(chat_ctx=_ctx("a")).collect()
    assert reply.usage is None


@unit
def test_extractive_summary_keeps_sentences_with_digits_or_names() -> None:
    text = (
        "<user>\nHello there. My name is Ana Souza. I live at 12 Elm Street.\n</user>\n"
        "<assistant>\nThanks for waiting. The refund goes out on 3 May.\n</assistant>"
    )
    assert extractive_summary(text) == (
        "My name is Ana Souza. I live at 12 Elm Street. The refund goes out on 3 May."
    )


@unit
def test_default_responder_summarizes_the_last_user_message() -> None:
    ctx = _ctx("Ignored: Bob.", "Chat about nothing. Order 77 was lost.")
    assert summary_responder(ctx, []).text == "Order 77 was lost."


class _OrderAgent(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="You are a support agent.")
        self.looked_up: list[int] = []

    @function_tool
    async def lookup_order(self, order: int) -> str:
        """Look up an order by number."""
        self.looked_up.append(order)
        return f"order {order} shipped on 3 May"


@pytest.mark.session
async def test_scripted_tool_call_runs_inside_a_real_agent_session() -> None:
    fake = FakeLLM(
        [
            FakeReply(tool_calls=[FakeToolCall("lookup_order", {"order": 4417})]),
            FakeReply("Your order 4417 shipped on 3 May."),
        ]
    )
    agent = _OrderAgent()
    session: AgentSession[None]
    async with fake, AgentSession(llm=fake) as session:
        await session.start(agent)
        result: RunResult[None] = await session.run(user_input="Where is order 4417?")

    assert agent.looked_up == [4417]
    result.expect.next_event().is_function_call(name="lookup_order")
    result.expect.next_event().is_function_call_output(output="order 4417 shipped on 3 May")
    result.expect.next_event().is_message(role="assistant")
    result.expect.no_more_events()

    items = agent.chat_ctx.items
    kinds = [item.type for item in items if item.type != "agent_config_update"]
    assert kinds[-4:] == ["message", "function_call", "function_call_output", "message"]
    call = next(i for i in items if isinstance(i, llm.FunctionCall))
    output = next(i for i in items if isinstance(i, llm.FunctionCallOutput))
    assert output.call_id == call.call_id
    assert items[-1].type == "message" and items[-1].role == "assistant"
    assert items[-1].text_content == "Your order 4417 shipped on 3 May."
    # the second prompt carried the tool's output back to the model
    assert any(isinstance(i, llm.FunctionCallOutput) for i in fake.calls[1].items)
