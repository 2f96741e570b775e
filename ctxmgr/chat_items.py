"""What an item is, for compaction purposes: pure predicates over livekit chat items."""

from __future__ import annotations

from collections.abc import Sequence

from livekit.agents import llm

__all__ = [
    "SUMMARY_MARKER",
    "RUNNING_PLACEHOLDER_KEY",
    "dates_a_copy",
    "is_instruction",
    "is_summary",
    "is_structural",
    "is_reply",
    "is_user_turn_start",
    "reaches_server",
    "pair_key",
    "oldest_in_progress_index",
    "INSTRUCTION",
    "STRUCTURAL",
    "SUMMARY",
    "USER_TURN",
    "CALL",
    "OUTPUT",
    "RUNNING",
    "MESSAGE",
    "kind_of",
]

SUMMARY_MARKER = "is_summary"
"""``extra`` key livekit's own ``ChatContext._summarize`` sets on a summary message."""

RUNNING_PLACEHOLDER_KEY = "__lk_running_placeholder__"
"""``extra`` key livekit sets on the call of an injected running-tool pair."""


def is_summary(item: llm.ChatItem) -> bool:
    """A summary message (livekit's or ctxmgr's): folded into the next summary, never dropped."""
    return isinstance(item, llm.ChatMessage) and item.extra.get(SUMMARY_MARKER) is True


def is_spoken_turn(item: llm.ChatItem) -> bool:
    """A user or assistant message that is not a summary: speech on a voice call."""
    return (
        isinstance(item, llm.ChatMessage)
        and item.role in ("user", "assistant")
        and not is_summary(item)
    )


def is_instruction(item: llm.ChatItem) -> bool:
    """A system or developer message that is not a summary: never compacted."""
    return (
        isinstance(item, llm.ChatMessage)
        and item.role in ("system", "developer")
        and not is_summary(item)
    )


def is_structural(item: llm.ChatItem) -> bool:
    """Local bookkeeping (handoffs, config updates): costs no tokens, never compacted."""
    return isinstance(item, (llm.AgentHandoff, llm.AgentConfigUpdate))


def dates_a_copy(item: llm.ChatItem) -> bool:
    """An item whose presence in a caller's context shows when its copy was taken: any
    but instructions and bookkeeping, which every copy holds from the start."""
    return not is_instruction(item) and not is_structural(item)


def reaches_server(item: llm.ChatItem) -> bool:
    """An item a realtime plugin sends to the server: not bookkeeping, not an empty message."""
    if isinstance(item, llm.ChatMessage):
        return bool(item.content)
    return isinstance(item, (llm.FunctionCall, llm.FunctionCallOutput))


def is_user_turn_start(item: llm.ChatItem) -> bool:
    """A user message: where a turn begins."""
    return isinstance(item, llm.ChatMessage) and item.role == "user" and not is_summary(item)


def is_reply(item: llm.ChatItem) -> bool:
    """An assistant message that is not a summary: the agent's reply."""
    return isinstance(item, llm.ChatMessage) and item.role == "assistant" and not is_summary(item)


def pair_key(item: llm.ChatItem) -> str | None:
    """Items with the same key are removed together or not at all (a call and its output).

    Parallel calls that share a ``group_id`` form one unit with their outputs.
    """
    if isinstance(item, (llm.FunctionCall, llm.FunctionCallOutput)):
        return f"call:{item.call_id}"
    return None


# What an item is, as bit flags: ``kind_of`` answers the predicates above in one read of
# the item, so that a walk over ten thousand items can test plain ints instead.
INSTRUCTION = 1
"""``is_instruction``."""
STRUCTURAL = 2
"""``is_structural``."""
SUMMARY = 4
"""``is_summary``."""
USER_TURN = 8
"""``is_user_turn_start``."""
CALL = 16
"""A function call."""
OUTPUT = 32
"""A function call's output."""
RUNNING = 64
"""A call livekit marked as its running placeholder (with ``CALL``)."""
MESSAGE = 128
"""A chat message, whatever its role (with the flags above that hold for it)."""


def kind_of(item: llm.ChatItem) -> int:
    """The flags above that hold for ``item`` (0 for an assistant message, for instance).

    They read fields livekit sets when it makes an item (type, role, ``extra``), never
    its content, so they hold for the life of the object.
    """
    if isinstance(item, llm.ChatMessage):
        if item.extra.get(SUMMARY_MARKER) is True:
            return MESSAGE | SUMMARY
        if item.role == "user":
            return MESSAGE | USER_TURN
        return MESSAGE | INSTRUCTION if item.role in ("system", "developer") else MESSAGE
    if isinstance(item, llm.FunctionCall):
        return CALL | RUNNING if item.extra.get(RUNNING_PLACEHOLDER_KEY) else CALL
    if isinstance(item, llm.FunctionCallOutput):
        return OUTPUT
    return STRUCTURAL if is_structural(item) else 0


def oldest_in_progress_index(items: Sequence[llm.ChatItem]) -> int | None:
    """Index of the oldest call still in progress: no output yet, or livekit's running placeholder."""
    answered: set[str] = set()
    running: set[str] = set()
    calls: list[tuple[int, str]] = []
    for i, item in enumerate(items):
        kind = item.type
        if kind == "function_call_output":
            answered.add(item.call_id)  # type: ignore[union-attr]
        elif kind == "function_call":
            calls.append((i, item.call_id))  # type: ignore[union-attr]
            if item.extra.get(RUNNING_PLACEHOLDER_KEY):  # type: ignore[union-attr]
                running.add(item.call_id)  # type: ignore[union-attr]
    for i, call_id in calls:
        if call_id in running or call_id not in answered:
            # a running pair's output may sit before its call only if reordered; the
            # call is the pair's oldest item in every context livekit builds
            return i
    return None
