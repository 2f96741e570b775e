"""FakeLLM: a deterministic, offline ``livekit.agents.llm.LLM`` for tests.

It answers with scripted replies (text and/or tool calls) or with a responder
callable, streams them as a provider plugin would (text chunks, one chunk with
the tool calls, one usage chunk), and records every prompt it was sent.

```python
from ctxmgr.testing.fake_llm import FakeLLM, FakeReply, FakeToolCall

# as the session LLM: call a tool, then answer with what it returned
fake = FakeLLM([
    FakeReply(tool_calls=[FakeToolCall("lookup_order", {"order": 4417})]),
    FakeReply("Your order 4417 has shipped."),
])
async with fake, AgentSession(llm=fake) as session:
    await session.start(MyAgent())
    await session.run(user_input="Where is my order?")

# as a summarizer: the default responder keeps the sentences with names and numbers
summarizer_llm = FakeLLM(delay_s=0.05)
result = await Summarizer(summarizer_llm).summarize(items)
summarizer_llm.calls[-1]             # the prompt it was sent, as a ChatContext copy
```
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from livekit.agents import llm
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

from ..tokens import REPLY_PRIMING_TOKENS, TokenCounter

__all__ = [
    "FakeLLM",
    "FakeReply",
    "FakeToolCall",
    "Responder",
    "extractive_summary",
    "summary_responder",
]


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake model makes."""

    name: str
    """Name of the tool, as the agent's ``@function_tool`` declares it."""

    arguments: dict[str, Any] | str = field(default_factory=dict)
    """Arguments as a dict (sent as JSON) or as a raw JSON string."""

    call_id: str | None = None
    """The call's id; ``None`` gives ``call_<n>``, unique within the FakeLLM."""


@dataclass(frozen=True)
class FakeReply:
    """One response of the fake model: text, tool calls, or both."""

    text: str = ""
    """Text streamed back, in word-sized chunks."""

    tool_calls: Sequence[FakeToolCall] = ()
    """Tool calls sent after the text, in one chunk (as the OpenAI plugin does)."""


ReplyLike = Union[FakeReply, str]
Responder = Callable[
    [llm.ChatContext, Sequence[llm.Tool]], Union[ReplyLike, Awaitable[ReplyLike]]
]
"""``(chat_ctx, tools) -> FakeReply | str`` (or an awaitable of one). Raising fails the call."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_DIGIT = re.compile(r"\d")
_NAME = re.compile(r"\b[A-Z][a-z]+")
_XML_TAG = re.compile(r"</?[a-z_]+(?:\s[^>]*)?/?>")


def extractive_summary(text: str, *, max_sentences: int = 12) -> str:
    """Keep the sentences that carry a digit or a capitalised name, in order.

    A name is a capitalised word that does not start its sentence (so "The" in
    "The order shipped." is no name, "Ana" in "I am Ana." is). XML-ish tags
    (``<user>``, ``<function_call ...>``) are dropped first. The last
    ``max_sentences`` such sentences are kept, joined by spaces; deterministic.
    """
    plain = _XML_TAG.sub("\n", text)
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(plain):
        sentence = sentence.strip()
        if not sentence:
            continue
        first_word_end = sentence.find(" ")
        rest = sentence[first_word_end:] if first_word_end > 0 else ""
        if _DIGIT.search(sentence) or _NAME.search(rest):
            kept.append(sentence)
    return " ".join(kept[-max_sentences:])


def summary_responder(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> FakeReply:
    """Answers a summarization prompt with :func:`extractive_summary` of its last user message."""
    for item in reversed(chat_ctx.items):
        if isinstance(item, llm.ChatMessage) and item.role == "user":
            return FakeReply(extractive_summary(item.text_content or ""))
    return FakeReply()


class FakeLLM(llm.LLM[Any]):
    """A deterministic, offline LLM: scripted replies or a responder, optional delay and failure.

    Args:
        replies: A script of replies used one per call (a ``str`` is a text reply),
            or a responder ``(chat_ctx, tools) -> FakeReply | str``. ``None``:
            :func:`summary_responder`. A call past the end of a script fails with
            ``RuntimeError``.
        delay_s: Seconds awaited (``asyncio.sleep``) before the first chunk.
        fail_with: Raised by every call (after ``delay_s``) while set.
        counter: Counts reported usage; ``None`` counts whitespace-separated words.
        report_usage: Send a usage chunk at the end of each response.
        model: The model name reported to livekit's metrics.

    Attributes ``delay_s``, ``fail_with`` and ``report_usage`` may be changed between calls.
    """

    def __init__(
        self,
        replies: Responder | Iterable[ReplyLike] | None = None,
        *,
        delay_s: float = 0.0,
        fail_with: BaseException | None = None,
        counter: TokenCounter | None = None,
        report_usage: bool = True,
        model: str = "fake-llm",
    ) -> None:
        super().__init__()
        if replies is None:
            self._responder: Responder | None = summary_responder
            self._script: list[ReplyLike] = []
        elif callable(replies):
            self._responder = replies
            self._script = []
        else:
            self._responder = None
            self._script = list(replies)
        self.delay_s = delay_s
        self.fail_with = fail_with
        self.report_usage = report_usage
        self._counter = counter
        self._model = model
        self._n_calls = 0
        self._n_tool_calls = 0
        self.calls: list[llm.ChatContext] = []
        """A copy of every prompt received, in order."""
        self.usages: list[llm.CompletionUsage] = []
        """The usage reported for every completed response, in order."""

    @property
    def model(self) -> str:
        return self._model

    async def __aenter__(self) -> FakeLLM:
        # livekit's LLM.__aenter__ is typed to return the base class
        return self

    @property
    def provider(self) -> str:
        return "ctxmgr.testing"

    @property
    def remaining_replies(self) -> int:
        """Scripted replies not used yet (0 with a responder)."""
        return max(0, len(self._script) - self._n_calls) if self._responder is None else 0

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> FakeLLMStream:
        index = self._n_calls
        self._n_calls += 1
        self.calls.append(chat_ctx.copy())
        return FakeLLMStream(
            self, index=index, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )

    async def _reply(
        self, index: int, chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]
    ) -> FakeReply:
        if self._responder is None:
            if index >= len(self._script):
                raise RuntimeError(
                    f"FakeLLM script exhausted: call {index + 1} with {len(self._script)} replies"
                )
            reply: Any = self._script[index]
        else:
            reply = self._responder(chat_ctx, tools)
            if inspect.isawaitable(reply):
                reply = await reply
        return FakeReply(reply) if isinstance(reply, str) else reply

    def _next_call_id(self) -> str:
        self._n_tool_calls += 1
        return f"call_{self._n_tool_calls}"

    def _count_prompt(self, chat_ctx: llm.ChatContext) -> int:
        if self._counter is not None:
            # count_items, not count: count() would evict a shared counter's other items
            return REPLY_PRIMING_TOKENS + sum(self._counter.count_items(chat_ctx.items))
        words = 0
        for item in chat_ctx.items:
            if isinstance(item, llm.ChatMessage):
                words += len((item.text_content or "").split())
            elif isinstance(item, llm.FunctionCall):
                words += len(item.arguments.split()) + 1
            elif isinstance(item, llm.FunctionCallOutput):
                words += len(item.output.split()) + 1
        return words

    def _count_text(self, text: str) -> int:
        if self._counter is not None:
            return self._counter.count_text(text)
        return len(text.split())


class FakeLLMStream(llm.LLMStream):
    """The stream of one :class:`FakeLLM` call."""

    def __init__(
        self,
        fake: FakeLLM,
        *,
        index: int,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(fake, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._fake = fake
        self._index = index
        self._request_id = f"fake-{index + 1}"

    async def _run(self) -> None:
        fake = self._fake
        if fake.delay_s > 0:
            await asyncio.sleep(fake.delay_s)
        if fake.fail_with is not None:
            raise fake.fail_with
        reply = await fake._reply(self._index, self._chat_ctx, self._tools)

        # word-sized chunks, whitespace kept, so a consumer that joins them gets the text back
        for piece in re.findall(r"\S+\s*|\s+", reply.text):
            self._send(llm.ChoiceDelta(role="assistant", content=piece))

        calls = [
            llm.FunctionToolCall(
                name=call.name,
                arguments=call.arguments
                if isinstance(call.arguments, str)
                else json.dumps(call.arguments),
                call_id=call.call_id or fake._next_call_id(),
            )
            for call in reply.tool_calls
        ]
        if calls:
            self._send(llm.ChoiceDelta(role="assistant", tool_calls=calls))

        if fake.report_usage:
            prompt_tokens = fake._count_prompt(self._chat_ctx)
            completion_tokens = fake._count_text(reply.text) + sum(
                fake._count_text(f"{c.name} {c.arguments}") for c in calls
            )
            usage = llm.CompletionUsage(
                completion_tokens=completion_tokens,
                prompt_tokens=prompt_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            )
            fake.usages.append(usage)
            self._event_ch.send_nowait(llm.ChatChunk(id=self._request_id, usage=usage))

    def _send(self, delta: llm.ChoiceDelta) -> None:
        self._event_ch.send_nowait(llm.ChatChunk(id=self._request_id, delta=delta))
