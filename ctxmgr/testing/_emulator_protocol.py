"""Wire shapes of the OpenAI Realtime server events the emulator sends.

Every builder returns a plain dict ready for ``json.dumps``; each one matches a
model in ``openai.types.realtime`` field for field (the emulator's tests
validate every event it sent against ``RealtimeServerEvent``).

Error codes and messages follow what the real server sends where that is
known: ``item_create_duplicate_item_id``, ``item_delete_invalid_item_id``,
``response_cancel_not_active``, ``conversation_already_has_active_response``,
``input_audio_buffer_commit_empty``. The code for an unknown
``previous_item_id`` is not documented; the emulator uses
``item_create_invalid_previous_item_id`` (same family as the two item codes
above) with the message the real server is reported to send.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

_ALPHABET = string.ascii_letters + string.digits

SUPPORTED_CLIENT_EVENTS = (
    "session.update",
    "conversation.item.create",
    "conversation.item.delete",
    "conversation.item.truncate",
    "input_audio_buffer.append",
    "input_audio_buffer.clear",
    "input_audio_buffer.commit",
    "response.create",
    "response.cancel",
)
"""Client events the emulator implements."""

UNSUPPORTED_CLIENT_EVENTS = (
    "conversation.item.retrieve",
    "output_audio_buffer.clear",
)
"""Valid client events the emulator rejects with ``emulator_unsupported_event``."""


def new_id(prefix: str) -> str:
    """Return an id shaped like the server's own (``item_`` + 21 characters)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(21))


def server_event(type_: str, **fields: Any) -> dict[str, Any]:
    """Return a server event with a fresh ``event_id``."""
    return {"type": type_, "event_id": new_id("event_"), **fields}


def error_event(
    code: str | None,
    message: str,
    *,
    event_id: str | None = None,
    param: str | None = None,
    type_: str = "invalid_request_error",
) -> dict[str, Any]:
    """Return an ``error`` event; ``event_id`` names the client event it answers."""
    return server_event(
        "error",
        error={
            "type": type_,
            "code": code,
            "message": message,
            "param": param,
            "event_id": event_id,
        },
    )


# --- the server's rejections -------------------------------------------------


def unknown_previous_item(previous_item_id: str, event_id: str | None) -> dict[str, Any]:
    """A create (or a generated item) anchored to an item the conversation lacks."""
    return error_event(
        "item_create_invalid_previous_item_id",
        f"Error adding item: the previous item with id '{previous_item_id}' does not exist.",
        event_id=event_id,
        param="previous_item_id",
    )


def duplicate_item(item_id: str, event_id: str | None) -> dict[str, Any]:
    """A create whose item id is already in the conversation."""
    return error_event(
        "item_create_duplicate_item_id",
        f"Error adding item: an item with id '{item_id}' already exists.",
        event_id=event_id,
    )


def unknown_item(action: str, item_id: str, event_id: str | None) -> dict[str, Any]:
    """A delete or truncate naming an item the conversation lacks."""
    return error_event(
        f"item_{action}_invalid_item_id",
        f"Error {action.rstrip('e')}ing item: the item with id '{item_id}' does not exist.",
        event_id=event_id,
        param="item_id",
    )


def transcription_completed(item_id: str, transcript: str) -> dict[str, Any]:
    """``conversation.item.input_audio_transcription.completed`` for a user audio item."""
    return server_event(
        "conversation.item.input_audio_transcription.completed",
        item_id=item_id,
        content_index=0,
        transcript=transcript,
        usage={"type": "duration", "seconds": 1.0},
    )


def transcription_failed(item_id: str) -> dict[str, Any]:
    """``conversation.item.input_audio_transcription.failed``: the item keeps no transcript."""
    return server_event(
        "conversation.item.input_audio_transcription.failed",
        item_id=item_id,
        content_index=0,
        error={
            "type": "transcription_error",
            "code": "audio_unintelligible",
            "message": "The audio could not be transcribed.",
            "param": None,
        },
    )


def server_error(event_id: str | None) -> dict[str, Any]:
    """A request the server failed to process (transient; the client may retry)."""
    return error_event(
        None,
        "The server had an error while processing your request. Sorry about that!",
        event_id=event_id,
        type_="server_error",
    )


def active_response(response_id: str, event_id: str | None) -> dict[str, Any]:
    """A ``response.create`` while another response is in progress."""
    return error_event(
        "conversation_already_has_active_response",
        f"Conversation already has an active response in progress: {response_id}. "
        "Wait until the response is finished before creating a new one.",
        event_id=event_id,
    )


def cancel_not_active(event_id: str | None) -> dict[str, Any]:
    """A ``response.cancel`` with no matching response in progress."""
    return error_event(
        "response_cancel_not_active",
        "Cancellation failed: no active response found",
        event_id=event_id,
    )


def commit_empty(buffered_ms: float, event_id: str | None) -> dict[str, Any]:
    """An ``input_audio_buffer.commit`` with less than 100 ms of audio."""
    return error_event(
        "input_audio_buffer_commit_empty",
        "Error committing input audio buffer: buffer too small. Expected at least 100ms "
        f"of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
        event_id=event_id,
    )


def invalid_event(message: str, param: str | None, event_id: str | None) -> dict[str, Any]:
    """A client event that does not parse as the protocol's shape."""
    code = "missing_required_parameter" if message.startswith("Missing") else "invalid_value"
    return error_event(code, message, event_id=event_id, param=param)


def unsupported(what: str, event_id: str | None, *, param: str | None = "type") -> dict[str, Any]:
    """Something valid in the protocol that the emulator does not implement."""
    return error_event(
        "emulator_unsupported_event",
        f"The realtime emulator does not implement {what}.",
        event_id=event_id,
        param=param,
    )


# --- items and responses -----------------------------------------------------


def item_added(item: dict[str, Any], previous_item_id: str | None) -> dict[str, Any]:
    """``conversation.item.added``: the item joined the conversation."""
    return server_event("conversation.item.added", item=item, previous_item_id=previous_item_id)


def item_done(item: dict[str, Any], previous_item_id: str | None) -> dict[str, Any]:
    """``conversation.item.done``: the item is final."""
    return server_event("conversation.item.done", item=item, previous_item_id=previous_item_id)


def item_deleted(item_id: str) -> dict[str, Any]:
    """``conversation.item.deleted``."""
    return server_event("conversation.item.deleted", item_id=item_id)


def item_truncated(item_id: str, content_index: int, audio_end_ms: int) -> dict[str, Any]:
    """``conversation.item.truncated``."""
    return server_event(
        "conversation.item.truncated",
        item_id=item_id,
        content_index=content_index,
        audio_end_ms=audio_end_ms,
    )


def response_resource(
    response_id: str,
    *,
    status: str,
    modality: str,
    voice: str,
    metadata: dict[str, str] | None,
    output: list[dict[str, Any]] | None = None,
    status_details: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``realtime.response`` object carried by ``response.created`` / ``response.done``."""
    return {
        "object": "realtime.response",
        "id": response_id,
        "status": status,
        "status_details": status_details,
        "output": output or [],
        "conversation_id": None,
        "output_modalities": [modality],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": voice}},
        "usage": usage,
        "metadata": metadata,
    }


def usage_dict(input_tokens: int, output_tokens: int, cached_tokens: int) -> dict[str, Any]:
    """The ``usage`` object of ``response.done`` (text tokens only)."""
    return {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_token_details": {
            "text_tokens": input_tokens,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": cached_tokens,
            "cached_tokens_details": {
                "text_tokens": cached_tokens,
                "audio_tokens": 0,
                "image_tokens": 0,
            },
        },
        "output_token_details": {"text_tokens": output_tokens, "audio_tokens": 0},
    }
