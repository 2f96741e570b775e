"""What the emulated realtime server saw, turned into bills: its contexts and its changes.

- :func:`response_context`: the context one response was given (``ServerResponse.context``,
  the server's conversation at ``response.created``, with the session's instructions
  and tools), as :class:`~ctxmgr.cost.SentItem` in order. User and assistant speech is
  billed as audio from the script's durations, as :func:`.stand_in.billing_view` bills
  the pipeline run; instructions, tools, tool items and summaries as text.
- :func:`output_tokens`: ``(text, audio)`` tokens a response produced.
- :class:`ChangeLog`: an emulator observer that records every summary the client
  created and every item it deleted, in server order, and judges each delete: folded
  when a summary that arrived on the server after the item was there when it left.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from livekit.agents import llm

from ctxmgr import TokenCounter
from ctxmgr.cost import SentItem
from ctxmgr.summarizer import SUMMARY_TAG
from ctxmgr.testing import EmulatedSession, ServerItem, ServerResponse
from ctxmgr.testing._emulator_conversation import item_text

from .support_call import SupportCall

__all__ = ["Change", "ChangeLog", "is_summary", "output_tokens", "response_context", "sent_items"]

_OPEN_TAG = f"<{SUMMARY_TAG}>"


def is_summary(item: ServerItem) -> bool:
    """A summary as ctxmgr writes one: a message wrapped in the summary tag."""
    return item.type == "message" and _OPEN_TAG in item.text


def _digest(*essential: object) -> str:
    return hashlib.blake2b(json.dumps(essential).encode(), digest_size=8).hexdigest()


def _as_chat_item(item: ServerItem) -> llm.ChatItem:
    if item.type == "function_call":
        return llm.FunctionCall(
            id=item.id, call_id=item.call_id or "", name=item.name or "",
            arguments=item.arguments or "",
        )
    if item.type == "function_call_output":
        return llm.FunctionCallOutput(
            id=item.id, call_id=item.call_id or "", output=item.output or "", is_error=False
        )
    role = item.role or "user"
    return llm.ChatMessage(id=item.id, role=role, content=[item.text])  # type: ignore[arg-type]


def _sent_item(item: ServerItem, call: SupportCall, counter: TokenCounter) -> SentItem:
    essential = (item.type, item.role, item.text, item.name, item.arguments, item.output)
    if item.type == "message" and item.role in ("user", "assistant") and not is_summary(item):
        tokens = call.speech_tokens(item.role, item.text)  # type: ignore[arg-type]
        return SentItem(item.id, _digest(*essential), tokens, "audio")
    return SentItem(item.id, _digest(*essential), counter.count_item(_as_chat_item(item)), "text")


def sent_items(
    conversation: Sequence[ServerItem],
    call: SupportCall,
    counter: TokenCounter,
    *,
    instructions: str = "",
    tools: Sequence[dict[str, Any]] = (),
) -> list[SentItem]:
    """A context as the server bills it: instructions, tool definitions, the conversation."""
    head = [SentItem("instructions", _digest(instructions), counter.count_text(instructions))]
    if tools:
        schema = json.dumps(list(tools))
        head.append(SentItem("tools", _digest(schema), counter.count_text(schema)))
    return head + [_sent_item(i, call, counter) for i in conversation]


def response_context(
    response: ServerResponse, call: SupportCall, counter: TokenCounter
) -> list[SentItem]:
    """The context ``response`` was billed for (the server's conversation when it started)."""
    return sent_items(
        response.context or (), call, counter,
        instructions=response.instructions, tools=response.tools,
    )


def output_tokens(
    response: ServerResponse, call: SupportCall, counter: TokenCounter
) -> tuple[int, int]:
    """``(text, audio)`` output tokens: a reply is speech, a function call text."""
    text = audio = 0
    for item in response.output:
        if item["type"] == "message":
            audio += call.speech_tokens("assistant", item_text(item))
        else:
            text += counter.count_text(item.get("name") or "")
            text += counter.count_text(item.get("arguments") or "")
    return text, audio


@dataclass(frozen=True)
class Change:
    """One change the client made on the server, as the server applied it."""

    kind: Literal["summary", "delete", "response"]
    item_id: str
    """The summary's or the deleted item's id; for a ``response.create``, the tail it
    follows (``""`` when the conversation is empty)."""
    folded: bool = True
    """For a delete: a summary newer than the item was on the server when it left."""
    role: str | None = None
    """The deleted item's role (messages) or ``None``."""


@dataclass
class ChangeLog:
    """Emulator observer: the summaries created, the items deleted (judged as they happen)
    and the responses the client asked for, in server order.

    Only the server's conversation is read; ctxmgr is never asked what it did. An item
    is *lost* when it left the server while no summary that arrived after it was there,
    which is what a delete before its summary, or a trim, or a writer that deletes
    without summarizing look like from the server.

    Usage::

        log = ChangeLog()
        emulator.observers.append(log)
    """

    changes: list[Change] = field(default_factory=list)
    """Every summary create, delete and ``response.create``, in the order the server
    applied them."""

    def __call__(
        self, session: EmulatedSession, event: dict[str, Any], before: tuple[ServerItem, ...]
    ) -> None:
        kind = event.get("type")
        conversation = session.conversation
        if kind == "conversation.item.create":
            item_id = (event.get("item") or {}).get("id")
            if not isinstance(item_id, str) or any(i.id == item_id for i in before):
                return
            created = conversation.get(item_id)  # None: refused or rejected
            if created and created["type"] == "message" and _OPEN_TAG in item_text(created):
                self.changes.append(Change("summary", item_id))
        elif kind == "conversation.item.delete":
            gone = next((i for i in before if i.id == event.get("item_id")), None)
            if gone is None or conversation.get(gone.id) is not None:
                return  # unknown or refused: nothing left the server
            arrived = conversation.arrivals
            folded = any(
                is_summary(s) and arrived[s.id] > arrived[gone.id] for s in before
            )
            self.changes.append(Change("delete", gone.id, folded, gone.role))
        elif kind == "response.create":
            self.changes.append(Change("response", before[-1].id if before else ""))
