"""One websocket connection to the emulator: its session, conversation and client events."""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from openai.types.realtime import RealtimeClientEvent
from pydantic import TypeAdapter, ValidationError

from . import _emulator_dialects as dialects
from . import _emulator_protocol as proto
from ._emulator_conversation import ConversationError, ServerConversation
from ._emulator_response import ServerResponse
from ._emulator_script import AckKind, ResponsePlan, ResponseRequest

if TYPE_CHECKING:
    from .emulator import RealtimeServerEmulator

logger = logging.getLogger("ctxmgr.testing")

_CLIENT_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeClientEvent)
_BYTES_PER_MS = 48  # pcm16 mono at 24 kHz
_CREATABLE_TYPES = ("message", "function_call", "function_call_output")


@dataclass
class AckRule:
    """Delay or drop the acknowledgements of client creates and deletes."""

    kind: AckKind
    delay: float = 0.0
    drop: bool = False
    remaining: int | None = None
    item_ids: frozenset[str] | None = None
    """Only changes of these items (``None``: any)."""
    role: str | None = None
    """Only creates of messages with this role (``None``: any item)."""

    def matches(self, kind: AckKind, item_id: str | None = None, role: str | None = None) -> bool:
        """Whether the rule still applies to a change of this kind (and item)."""
        return (
            self.remaining != 0
            and self.kind in ("all", kind)
            and (self.item_ids is None or item_id in self.item_ids)
            and (self.role is None or role == self.role)
        )


def _default_config(model: str) -> dict[str, Any]:
    pcm = {"type": "audio/pcm", "rate": 24000}
    return {
        "type": "realtime",
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "audio": {
            "input": {
                "format": pcm,
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {"type": "server_vad", "create_response": True},
            },
            "output": {"format": pcm, "voice": "alloy", "speed": 1.0},
        },
        "tracing": None,
        "truncation": "auto",
    }


def _merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _describe(error: ValidationError) -> tuple[str, str | None]:
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"][1:] if not str(p).startswith("Realtime"))
    if first["type"] == "missing":
        return f"Missing required parameter: '{loc}'.", loc or None
    return f"Invalid value at '{loc}': {first['msg']}.", loc or None


class EmulatedSession:
    """The server side of one connection: session config, conversation, responses."""

    def __init__(self, emulator: RealtimeServerEmulator, model: str) -> None:
        self.config: dict[str, Any] = _default_config(model)
        """The session configuration, as ``session.updated`` reports it."""
        self.conversation = ServerConversation(stale_anchor_policy=emulator.stale_anchor_policy)
        """The server's ordered conversation."""
        self.responses: list[ServerResponse] = []
        """Every response committed on this connection, in commit order."""
        self.active_response: ServerResponse | None = None
        """The response streaming now."""
        self.response_slot = asyncio.Lock()
        self._emulator = emulator
        self._busy: ServerResponse | None = None
        self._audio_bytes = 0
        self._outbox: asyncio.Queue[tuple[float, dict[str, Any]] | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self.transcribing: dict[str, asyncio.TimerHandle] = {}
        """User audio items whose transcript is still to come (``transcribe_later``)."""
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "session.update": self._on_session_update,
            "conversation.item.create": self._on_item_create,
            "conversation.item.delete": self._on_item_delete,
            "conversation.item.truncate": self._on_item_truncate,
            "input_audio_buffer.append": self._on_audio_append,
            "input_audio_buffer.clear": self._on_audio_clear,
            "input_audio_buffer.commit": self._on_audio_commit,
            "response.create": self._on_response_create,
            "response.cancel": self._on_response_cancel,
        }

    @property
    def output_modality(self) -> str:
        """``text`` or ``audio``, from the session's output modalities."""
        return "text" if self.config.get("output_modalities") == ["text"] else "audio"

    @property
    def voice(self) -> str:
        """The session's voice."""
        return str(self.config["audio"]["output"].get("voice") or "alloy")

    @property
    def tool_names(self) -> tuple[str, ...]:
        """Names of the session's function tools."""
        return tuple(t.get("name") for t in self.config.get("tools") or [] if t.get("name"))

    # --- the connection ---------------------------------------------------

    async def serve(self, ws: web.WebSocketResponse) -> None:
        """Run the connection until the client closes it or the emulator stops."""
        writer = asyncio.create_task(self._write(ws), name="emulator.writer")
        self.send(proto.server_event("session.created", session=copy.deepcopy(self.config)))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.handle(msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._outbox.put_nowait(None)
            for handle in self.transcribing.values():
                handle.cancel()
            self.transcribing.clear()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(writer, *self._tasks, return_exceptions=True)

    async def _write(self, ws: web.WebSocketResponse) -> None:
        while (entry := await self._outbox.get()) is not None:
            send_at, event = entry
            if (wait := send_at - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            if ws.closed:
                continue
            event = dialects.outgoing(self._emulator.dialect, event)
            self._emulator._record_sent(event)
            await ws.send_str(json.dumps(event))

    def send(self, event: dict[str, Any], *, delay: float = 0.0) -> None:
        """Queue a server event; events leave in order, a delayed one holds back the rest."""
        self._outbox.put_nowait((time.monotonic() + delay, event))

    def _ack(self, kind: AckKind, *events: dict[str, Any]) -> None:
        rule = next((r for r in self._emulator._ack_rules if r.matches(kind)), None)
        if rule is not None and rule.remaining is not None:
            rule.remaining -= 1
        if rule is not None and rule.drop:
            self._emulator.dropped_acks.extend(events)
            return
        for event in events:
            self.send(event, delay=rule.delay if rule else 0.0)

    def _refused(
        self, kind: AckKind, event_id: str | None, item_id: str, role: str | None = None
    ) -> bool:
        """Answer the event with a server error instead of applying it, when a rule says so."""
        rules = self._emulator._refusal_rules
        rule = next((r for r in rules if r.matches(kind, item_id, role)), None)
        if rule is None:
            return False
        if rule.remaining is not None:
            rule.remaining -= 1
        self._emulator.refused.append(item_id)
        self.send(proto.server_error(event_id))
        return True

    def spawn(self, response: ServerResponse) -> ServerResponse:
        """Record a committed response and start its task."""
        self.responses.append(response)
        task = asyncio.create_task(response.run(), name="emulator.response")
        self._tasks.add(task)
        task.add_done_callback(self._response_finished(response))
        return response

    def _response_finished(self, response: ServerResponse) -> Callable[[asyncio.Task[None]], None]:
        def _done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if self._busy is response:
                self._busy = None

        return _done

    # --- client events ----------------------------------------------------

    def handle(self, raw: str) -> None:
        """Apply one client event and queue the server's answer."""
        try:
            event = json.loads(raw)
        except json.JSONDecodeError:
            self.send(proto.error_event("invalid_json", "The event is not valid JSON."))
            return
        if not isinstance(event, dict):
            self.send(proto.error_event("invalid_json", "The event is not a JSON object."))
            return
        self._emulator._record_received(event)
        event = dialects.incoming(self._emulator.dialect, event)
        type_, event_id = event.get("type"), event.get("event_id")
        if type_ in proto.UNSUPPORTED_CLIENT_EVENTS:
            logger.warning(
                "client event not implemented by the emulator", extra={"event_type": type_}
            )
            self.send(proto.unsupported(f"'{type_}'", event_id))
            return
        if type_ not in self._handlers:
            supported = ", ".join(f"'{t}'" for t in proto.SUPPORTED_CLIENT_EVENTS)
            message = f"Invalid value: '{type_}'. Supported values are: {supported}."
            self.send(proto.invalid_event(message, "type", event_id))
            return
        try:
            _CLIENT_EVENT.validate_python(event)
        except ValidationError as e:
            self.send(proto.invalid_event(*_describe(e), event_id))
            return
        before = self.conversation.snapshot()
        self._handlers[type_](event)
        self._emulator._observe(self, event, before)

    def _on_session_update(self, event: dict[str, Any]) -> None:
        _merge(self.config, event["session"])
        self.send(proto.server_event("session.updated", session=copy.deepcopy(self.config)))

    def _on_item_create(self, event: dict[str, Any]) -> None:
        event_id, item = event.get("event_id"), dict(event["item"])
        if item["type"] not in _CREATABLE_TYPES:
            self.send(
                proto.unsupported(f"items of type '{item['type']}'", event_id, param="item.type")
            )
            return
        if item.get("role") == "assistant" and any(
            p.get("type") == "output_audio" for p in item.get("content") or []
        ):
            message = "Invalid value: 'output_audio'. Assistant audio cannot be created."
            self.send(proto.invalid_event(message, "item.content", event_id))
            return
        if self._refused("create", event_id, str(item.get("id") or ""), item.get("role")):
            return
        item.update(object="realtime.item", status="completed")
        try:
            stored, previous = self.conversation.insert(item, event.get("previous_item_id"))
        except ConversationError as e:
            if e.code == "item_create_duplicate_item_id":
                self.send(proto.duplicate_item(e.subject, event_id))
            else:
                if e.subject in self._emulator.refused:
                    # chained to an item a refusal left out: refused with it
                    self._emulator.refused.append(str(item["id"]))
                self.send(proto.unknown_previous_item(e.subject, event_id))
            return
        self._ack("create", proto.item_added(stored, previous), proto.item_done(stored, previous))

    def _on_item_delete(self, event: dict[str, Any]) -> None:
        if self._refused("delete", event.get("event_id"), event["item_id"]):
            return
        try:
            self.conversation.delete(event["item_id"])
        except ConversationError:
            self.send(proto.unknown_item("delete", event["item_id"], event.get("event_id")))
            return
        self._ack("delete", proto.item_deleted(event["item_id"]))

    def _on_item_truncate(self, event: dict[str, Any]) -> None:
        item_id, event_id = event["item_id"], event.get("event_id")
        item = self.conversation.get(item_id)
        if item is None:
            self.send(proto.unknown_item("truncate", item_id, event_id))
            return
        parts = item.get("content") or []
        index = event["content_index"]
        if (
            item.get("role") != "assistant"
            or index >= len(parts)
            or (parts[index].get("type") != "output_audio")
        ):
            message = "Invalid value: only the audio of an assistant message can be truncated."
            self.send(proto.invalid_event(message, "content_index", event_id))
            return
        # the server drops the transcript so no unheard text stays in context
        parts[index]["transcript"] = ""
        self.send(proto.item_truncated(item_id, index, event["audio_end_ms"]))

    def _on_audio_append(self, event: dict[str, Any]) -> None:
        try:
            self._audio_bytes += len(base64.b64decode(event["audio"], validate=True))
        except binascii.Error:
            message = "Invalid value: 'audio' is not valid base64."
            self.send(proto.invalid_event(message, "audio", event.get("event_id")))

    def _on_audio_clear(self, event: dict[str, Any]) -> None:
        self._audio_bytes = 0
        self.send(proto.server_event("input_audio_buffer.cleared"))

    def _on_audio_commit(self, event: dict[str, Any]) -> None:
        buffered_ms = self._audio_bytes / _BYTES_PER_MS
        if buffered_ms < 100:
            self.send(proto.commit_empty(buffered_ms, event.get("event_id")))
            return
        self._audio_bytes = 0
        self.add_user_item({"type": "input_audio", "transcript": None}, committed=True)

    def add_user_item(self, part: dict[str, Any], *, committed: bool = False) -> str:
        """Append a user message as committed audio would, and announce it."""
        item: dict[str, Any] = {
            "id": proto.new_id("item_"),
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [part],
        }
        stored, previous = self.conversation.insert(item, None)
        if committed:
            self.send(
                proto.server_event(
                    "input_audio_buffer.committed", previous_item_id=previous, item_id=stored["id"]
                )
            )
        self.send(proto.item_added(stored, previous))
        self.send(proto.item_done(stored, previous))
        return str(stored["id"])

    def transcribe_later(
        self, item_id: str, transcript: str | None, delay: float
    ) -> None:
        """Send the transcript of a user audio item ``delay`` seconds from now (and store it
        in the item), unless the item is gone by then; ``None``: the transcription fails."""

        def _done() -> None:
            self.transcribing.pop(item_id, None)
            item = self.conversation.get(item_id)
            if item is None:
                return
            if transcript is None:
                self.send(proto.transcription_failed(item_id))
                return
            item["content"][0]["transcript"] = transcript
            self.send(proto.transcription_completed(item_id, transcript))

        self.transcribing[item_id] = asyncio.get_running_loop().call_later(delay, _done)

    def _on_response_create(self, event: dict[str, Any]) -> None:
        event_id, params = event.get("event_id"), event.get("response") or {}
        if (busy := self._busy or self.active_response) is not None:
            self.send(proto.active_response(busy.id, event_id))
            return
        if params.get("conversation") == "none" or params.get("input") is not None:
            what = "out-of-band responses (response.conversation 'none' or response.input)"
            self.send(proto.unsupported(what, event_id, param="response.conversation"))
            return
        tools = params.get("tools")
        tool_names = (
            tuple(t.get("name") for t in tools if t.get("name"))
            if tools is not None
            else self.tool_names
        )
        tool_choice = params.get("tool_choice") or self.config.get("tool_choice") or "auto"
        metadata = params.get("metadata")
        request = ResponseRequest(
            conversation=self.conversation.snapshot(),
            instructions=params.get("instructions") or self.config.get("instructions"),
            tool_names=tool_names,
            tool_choice=tool_choice,
            client_event_id=(metadata or {}).get("client_event_id"),
            metadata=dict(metadata or {}),
        )
        plan = self._emulator._next_plan(request)
        self._busy = self.commit(
            plan, metadata=metadata, tool_names=tool_names, tool_choice=tool_choice
        )

    def commit(
        self,
        plan: ResponsePlan,
        *,
        metadata: dict[str, str] | None = None,
        tool_names: tuple[str, ...] | None = None,
        tool_choice: object = None,
        held: bool = False,
    ) -> ServerResponse:
        """Commit a response anchored at the current tail and start streaming it."""
        response = ServerResponse(
            self,
            plan,
            anchor=self.conversation.tail_id,
            metadata=metadata,
            tool_names=self.tool_names if tool_names is None else tool_names,
            tool_choice=tool_choice or self.config.get("tool_choice") or "auto",
            held=held,
        )
        return self.spawn(response)

    def _on_response_cancel(self, event: dict[str, Any]) -> None:
        target = self.active_response or self._busy
        wanted = event.get("response_id")
        if target is None or (wanted is not None and wanted != target.id):
            self.send(proto.cancel_not_active(event.get("event_id")))
            return
        target.cancel()
