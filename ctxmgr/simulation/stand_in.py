"""The demo's offline stand-in model, the support agent, and how a prompt is billed.

- :class:`ScriptedReplies`: the session LLM's answers, straight from the script (the
  scripted tool call first when the turn has one, then the scripted reply).
- :func:`summary_reply`: the summarizer. Extractive: it keeps every sentence that
  carries a name or a number, once, in order. A stand-in, not a model.
- :class:`SupportAgent`: the script's instructions and tools; it reports every
  prompt it sends (``llm_node``), which is what the provider bills.
- :func:`billing_view`: a prompt as the provider bills it, speech as audio.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from livekit.agents import Agent, ModelSettings, function_tool, llm
from livekit.agents.llm.chat_context import to_xml

from ctxmgr import TokenCounter
from ctxmgr.chat_items import is_spoken_turn
from ctxmgr.cost import Modality, SentItem
from ctxmgr.cost_trigger import tools_tokens
from ctxmgr.summarizer import EARLIER_HANDOVER, SUMMARY_TAG
from ctxmgr.testing import FakeReply, FakeToolCall

from .support_call import SupportCall

__all__ = [
    "NOTHING_TO_KEEP",
    "Response",
    "RunResult",
    "ScriptedReplies",
    "SupportAgent",
    "billing_view",
    "fact_sentences",
    "summary_item",
    "summary_reply",
    "tools_tokens",
]

_TAG = re.compile(r"</?[a-z_]+(?:\s[^>]*)?/?>")
_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_NAME = re.compile(r"\b[A-Z][a-z]+")
_DIGIT = re.compile(r"\d")
NOTHING_TO_KEEP = "Small talk only; no names or numbers came up."
"""The stand-in's summary of a span without a single name or number."""


@dataclass
class Response:
    """One response of the model: the context it was sent and what it produced."""

    turn: int
    context: list[SentItem]
    output_text: int = 0
    output_audio: int = 0


@dataclass
class RunResult:
    """One policy's run over the script (a session, a simulation or the offline floor)."""

    name: str
    run: Literal["session", "sim", "DP"]
    kind: Literal["summary", "drop", "none"]
    responses: list[Response] = field(default_factory=list)
    compactions: int = 0
    summarizer_by_turn: list[tuple[int, int]] = field(default_factory=list)
    """Summarizer (input, output) tokens spent in each turn."""
    lost: int = 0
    """Items that left the context without being in a compaction's removed ids."""


def fact_sentences(text: str) -> list[str]:
    """The sentences of ``text`` that carry a digit or a capitalised name, once each, in order.

    XML-ish tags (``<user>``, ``<function_call ...>``) are dropped first; a name is a
    capitalised word that does not start its sentence.
    """
    kept: list[str] = []
    seen: set[str] = set()
    for sentence in _SPLIT.split(_TAG.sub("\n", text)):
        sentence = sentence.strip()
        if not sentence or sentence in seen:
            continue
        rest = sentence[sentence.find(" ") :] if " " in sentence else ""
        if _DIGIT.search(sentence) or _NAME.search(rest):
            kept.append(sentence)
            seen.add(sentence)
    return kept


def summary_reply(chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> FakeReply:
    """The stand-in summarizer: :func:`fact_sentences` of the earlier summary (after
    ``EARLIER_HANDOVER`` in the built-in prompt's system message), then of the prompt's
    last user message (the turns; with a custom prompt, the summary so far too)."""
    messages = [i for i in chat_ctx.items if isinstance(i, llm.ChatMessage)]
    system = next((m.text_content or "" for m in messages if m.role == "system"), "")
    earlier = system.partition(EARLIER_HANDOVER)[2]
    prompt = next((m.text_content or "" for m in reversed(messages) if m.role == "user"), "")
    kept: list[str] = []
    for text in (earlier, prompt):
        kept += [s for s in fact_sentences(text) if s not in kept]
    return FakeReply("\n".join(kept) or NOTHING_TO_KEEP)


def summary_item(text: str, *, item_id: str, role: llm.ChatRole = "system") -> llm.ChatMessage:
    """A summary message shaped as ctxmgr shapes its own."""
    return llm.ChatMessage(
        id=item_id, role=role, content=[to_xml(SUMMARY_TAG, text)], extra={"is_summary": True}
    )


class ScriptedReplies:
    """The stand-in session LLM's responder: the current turn's tool call, then its reply."""

    def __init__(self, call: SupportCall) -> None:
        self.call = call
        self.turn = 0
        """Index of the turn being played (the demo sets it before each turn)."""

    def __call__(self, chat_ctx: llm.ChatContext, tools: Sequence[llm.Tool]) -> FakeReply:
        turn = self.call.turns[self.turn]
        if turn.tool is None or isinstance(chat_ctx.items[-1], llm.FunctionCallOutput):
            return FakeReply(turn.assistant.text)
        return FakeReply(tool_calls=[FakeToolCall(turn.tool.name, turn.tool.arguments)])


PromptHook = Callable[[llm.ChatContext, Sequence[llm.Tool]], None]


class SupportAgent(Agent):
    """Sam from Parcelly: the script's instructions and tools; reports every prompt it sends."""

    def __init__(self, call: SupportCall, on_prompt: PromptHook) -> None:
        super().__init__(instructions=call.instructions)
        self._call = call
        self._on_prompt = on_prompt
        self.turn = 0
        """Index of the turn being played (tools answer from it)."""

    async def llm_node(
        self, chat_ctx: llm.ChatContext, tools: list[llm.Tool], model_settings: ModelSettings
    ) -> AsyncIterable[llm.ChatChunk | str]:
        self._on_prompt(chat_ctx, tools)
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            yield chunk  # type: ignore[misc]

    def _tool(self, name: str, **arguments: Any) -> str:
        return self._call.tool_output(name, arguments, self.turn)

    @function_tool
    async def lookup_order(self, order_number: str) -> str:
        """Look up an order by its number."""
        return self._tool("lookup_order", order_number=order_number)

    @function_tool
    async def track_parcel(self, tracking_number: str) -> str:
        """Track a parcel by its tracking number."""
        return self._tool("track_parcel", tracking_number=tracking_number)

    @function_tool
    async def release_hold(self, tracking_number: str) -> str:
        """Release a parcel held at a depot and book the next delivery attempt."""
        return self._tool("release_hold", tracking_number=tracking_number)

    @function_tool
    async def create_return(self, order_number: str, item: str, reason: str) -> str:
        """Open a return for an item of an order; emails a prepaid label."""
        return self._tool("create_return", order_number=order_number, item=item, reason=reason)

    @function_tool
    async def check_warranty(self, product: str) -> str:
        """Warranty cover of a product."""
        return self._tool("check_warranty", product=product)

    @function_tool
    async def loyalty_balance(self) -> str:
        """The customer's loyalty points."""
        return self._tool("loyalty_balance")

    @function_tool
    async def send_invoice(self, reference: str) -> str:
        """Email a VAT invoice to the address on the account."""
        return self._tool("send_invoice", reference=reference)

    @function_tool
    async def book_courier(self, date: str) -> str:
        """Book a courier to collect a return on a date (YYYY-MM-DD)."""
        return self._tool("book_courier", date=date)


def _digest(item: llm.ChatItem) -> str:
    if isinstance(item, llm.ChatMessage):
        essential: list[Any] = ["message", item.role, item.text_content]
    elif isinstance(item, llm.FunctionCall):
        essential = ["call", item.call_id, item.name, item.arguments]
    elif isinstance(item, llm.FunctionCallOutput):
        essential = ["output", item.call_id, item.output]
    else:
        essential = [item.type]
    return hashlib.blake2b(json.dumps(essential).encode(), digest_size=8).hexdigest()


def billing_view(
    items: Sequence[llm.ChatItem],
    call: SupportCall,
    counter: TokenCounter,
    tools: int,
    *,
    speech: Modality = "audio",
) -> list[SentItem]:
    """A prompt as the provider bills it.

    User and assistant messages are speech, billed as audio from their duration
    (``speech="text"``: as the text of their transcripts, a pipeline or a text-only
    session); everything else (instructions, tool calls and outputs, summaries) is
    text. The tool definitions (``tools`` tokens) follow the instructions, as a
    realtime session sends them.
    """
    sent: list[SentItem] = []
    for i, item in enumerate(items):
        if speech == "audio" and is_spoken_turn(item):
            assert isinstance(item, llm.ChatMessage)
            tokens = call.speech_tokens(item.role, item.text_content or "")  # type: ignore[arg-type]
            sent.append(SentItem(item.id, _digest(item), tokens, "audio"))
        else:
            sent.append(SentItem(item.id, _digest(item), counter.count_item(item), "text"))
        if i == 0 and tools:
            sent.append(SentItem("tools", "tools", tools, "text"))
    return sent
