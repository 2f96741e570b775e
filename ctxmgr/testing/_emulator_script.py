"""What a scripted response produces and when: the emulator's test-facing plan types."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ._emulator_conversation import ServerItem


@dataclass(frozen=True)
class Say:
    """An assistant message the response streams, in ``chunks`` deltas."""

    text: str
    """The full text (or audio transcript) of the message."""
    chunks: int = 2
    """How many deltas the text is split into."""
    chunk_delay: float = 0.0
    """Seconds between deltas."""
    first_delay: float = 0.0
    """Seconds between the message's announcement and its first delta."""


@dataclass(frozen=True)
class CallTool:
    """A function call the response makes.

    The call is announced at once (``conversation.item.added``, so the plugin's
    remote mirror has it) while the client learns it only at
    ``response.output_item.done``, ``dispatch_delay`` seconds later: the window
    in which the client's tool execution does not know the call yet.
    """

    name: str
    """The tool name; must be one of the session's (or the response's) tools."""
    arguments: str = "{}"
    """The JSON arguments."""
    call_id: str | None = None
    """The call id; generated when None."""
    dispatch_delay: float = 0.0
    """Seconds between the announcement and the finished arguments."""


Output = Say | CallTool


@dataclass(frozen=True)
class Usage:
    """Token usage a response reports in ``response.done``."""

    input_tokens: int
    """Input tokens billed for the response."""
    output_tokens: int = 0
    """Output tokens generated."""
    cached_tokens: int = 0
    """The part of ``input_tokens`` served from the prompt cache."""


@dataclass(frozen=True)
class ResponsePlan:
    """What one response produces, in order, and its timing."""

    outputs: Sequence[Output] = ()
    """The output items, streamed one after the other."""
    usage: Usage | None = None
    """Reported usage; None reports a deterministic estimate (see ``estimate_usage``)."""
    start_delay: float = 0.0
    """Seconds between the commit and ``response.created``."""

    @classmethod
    def say(
        cls, text: str, *, start_delay: float = 0.0, usage: Usage | None = None
    ) -> ResponsePlan:
        """A response with one assistant message."""
        return cls(outputs=(Say(text),), start_delay=start_delay, usage=usage)

    @classmethod
    def call(cls, name: str, arguments: str = "{}", *, dispatch_delay: float = 0.0) -> ResponsePlan:
        """A response with one function call."""
        return cls(outputs=(CallTool(name, arguments, dispatch_delay=dispatch_delay),))


@dataclass(frozen=True)
class ResponseRequest:
    """What a responder sees when the client asks for a response."""

    conversation: tuple[ServerItem, ...]
    """The server conversation when the response was committed."""
    instructions: str | None
    """Session instructions, or the response's own when it set them."""
    tool_names: tuple[str, ...]
    """The tools the response may call."""
    tool_choice: object = None
    """The response's tool choice (``auto``, ``none``, ``required`` or a function)."""
    client_event_id: str | None = None
    """``metadata.client_event_id`` of the ``response.create``, if any."""
    metadata: dict[str, str] = field(default_factory=dict)
    """The response's metadata."""


Responder = Callable[[ResponseRequest], ResponsePlan]
"""Chooses the plan for a client-requested response when none is queued."""

AckKind = Literal["create", "delete", "all"]
"""Which acknowledgements an ack rule applies to."""


def echo_responder(request: ResponseRequest) -> ResponsePlan:
    """The default responder: repeat the last user message's text."""
    last_user = next(
        (
            i.text
            for i in reversed(request.conversation)
            if i.type == "message" and i.role == "user"
        ),
        "",
    )
    return ResponsePlan.say(f"You said: {last_user}" if last_user else "Hello.")


def estimate_usage(conversation: Sequence[ServerItem], outputs: Sequence[Output]) -> Usage:
    """A deterministic stand-in for the model's token counts: words, plus 4 per item.

    Not a tokenizer; tests that care about exact numbers pass ``ResponsePlan.usage``.
    """

    def words(item: ServerItem) -> int:
        body = " ".join(filter(None, [item.text, item.name, item.arguments, item.output]))
        return len(body.split()) + 4

    output_words = sum(
        len((o.text if isinstance(o, Say) else o.arguments).split()) + 4 for o in outputs
    )
    return Usage(input_tokens=sum(words(i) for i in conversation), output_tokens=output_words)
