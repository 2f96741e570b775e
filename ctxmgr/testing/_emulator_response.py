"""One server response: committed with a fixed anchor, streamed when the conversation is free."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from typing import TYPE_CHECKING, Any, Literal

from . import _emulator_protocol as proto
from ._emulator_conversation import ConversationError, ServerItem
from ._emulator_script import CallTool, ResponsePlan, Say, estimate_usage

if TYPE_CHECKING:
    from ._emulator_session import EmulatedSession

logger = logging.getLogger("ctxmgr.testing")

ResponseStatus = Literal["committed", "in_progress", "completed", "cancelled", "failed"]


def _split(text: str, chunks: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, chunks)))
    return [text[i : i + size] for i in range(0, len(text), size)]


class ServerResponse:
    """A response the server has committed to, and the handle tests hold on it.

    The anchor (the item its first output chains after) is fixed at commit, as
    on the real server; its events stream once ``release()`` is called (at once
    unless committed held), after ``plan.start_delay``, and when no other
    response is in progress.
    """

    def __init__(
        self,
        session: EmulatedSession,
        plan: ResponsePlan,
        *,
        anchor: str | None,
        metadata: dict[str, str] | None = None,
        tool_names: tuple[str, ...] = (),
        tool_choice: object = "auto",
        held: bool = False,
    ) -> None:
        self.id: str = proto.new_id("resp_")
        """The response id (``resp_...``)."""
        self.plan = plan
        """The plan it streams."""
        self.anchor = anchor
        """The item its first output chains after, fixed at commit."""
        self.item_ids: tuple[str, ...] = tuple(proto.new_id("item_") for _ in plan.outputs)
        """Ids of its output items, known from the commit on."""
        self.call_ids: tuple[str | None, ...] = tuple(
            (o.call_id or proto.new_id("call_")) if isinstance(o, CallTool) else None
            for o in plan.outputs
        )
        """Call ids of its function calls (None for messages)."""
        self.status: ResponseStatus = "committed"
        """Where the response is in its life."""
        self.metadata = metadata
        """The response's metadata (echoed in ``response.created``)."""
        self.created = asyncio.Event()
        """Set once ``response.created`` is queued for the client."""
        self.done = asyncio.Event()
        """Set once ``response.done`` is queued for the client."""
        self.context: tuple[ServerItem, ...] | None = None
        """The server conversation when the response started (``response.created``): what
        the model was given, and billed for; ``None`` until then."""
        self.instructions: str = ""
        """The session's instructions when the response started."""
        self.tools: tuple[dict[str, Any], ...] = ()
        """The session's tool definitions when the response started."""
        self.output: tuple[dict[str, Any], ...] = ()
        """The output items as ``response.done`` lists them (set with it)."""
        self._session = session
        self._tool_names = tool_names
        self._tool_choice = tool_choice
        self._released = asyncio.Event()
        self._cancelled = asyncio.Event()
        if not held:
            self._released.set()

    def release(self) -> None:
        """Let a response committed with ``held=True`` stream."""
        self._released.set()

    def cancel(self) -> None:
        """Stop the response at its next event, as ``response.cancel`` does."""
        self._cancelled.set()

    async def wait_done(self, timeout: float = 5.0) -> None:
        """Wait until ``response.done`` is queued for the client."""
        await asyncio.wait_for(self.done.wait(), timeout)

    async def run(self) -> None:
        """Stream the response; the session runs this as a task."""
        await self._released.wait()
        if self.plan.start_delay:
            await asyncio.sleep(self.plan.start_delay)
        async with self._session.response_slot:
            self._session.active_response = self
            try:
                await self._stream()
            finally:
                self._session.active_response = None
                self.done.set()

    async def _stream(self) -> None:
        modality = self._session.output_modality
        voice = self._session.voice
        self.status = "in_progress"
        self._send(
            "response.created",
            response=proto.response_resource(
                self.id,
                status="in_progress",
                modality=modality,
                voice=voice,
                metadata=self.metadata,
            ),
        )
        self.created.set()
        seen = self.context = self._session.conversation.snapshot()
        config = self._session.config
        self.instructions = str(config.get("instructions") or "")
        self.tools = tuple(copy.deepcopy(config.get("tools") or []))
        failure = self._check_tools()
        outputs: list[dict[str, Any]] = []
        anchor = self.anchor
        if failure is None:
            for index, output in enumerate(self.plan.outputs):
                if self._cancelled.is_set():
                    break
                if isinstance(output, Say):
                    item = await self._say(index, output, anchor, modality)
                else:
                    item = await self._call(index, output, anchor)
                outputs.append(item)
                anchor = item["id"]
        self.status = self._final_status(failure)
        self.output = tuple(outputs)
        details: dict[str, Any] | None = None
        if self.status == "cancelled":
            details = {"type": "cancelled", "reason": "client_cancelled"}
        elif failure is not None:
            details = {"type": "failed", "error": failure}
        self._send(
            "response.done",
            response=proto.response_resource(
                self.id,
                status=self.status,
                modality=modality,
                voice=voice,
                metadata=self.metadata,
                output=outputs,
                status_details=details,
                usage=self._usage(seen) if self.status == "completed" else None,
            ),
        )

    def _final_status(self, failure: dict[str, Any] | None) -> ResponseStatus:
        if failure is not None:
            return "failed"
        return "cancelled" if self._cancelled.is_set() else "completed"

    def _check_tools(self) -> dict[str, Any] | None:
        for output in self.plan.outputs:
            if not isinstance(output, CallTool):
                continue
            if self._tool_choice == "none" or output.name not in self._tool_names:
                logger.error("scripted tool call is not allowed by the response")
                return {
                    "type": "invalid_request_error",
                    "code": "emulator_tool_not_available",
                    "message": f"The script calls '{output.name}', which this response "
                    "cannot call (unknown tool or tool_choice 'none').",
                }
        return None

    def _usage(self, seen: tuple[ServerItem, ...]) -> dict[str, Any]:
        usage = self.plan.usage or estimate_usage(seen, self.plan.outputs)
        return proto.usage_dict(usage.input_tokens, usage.output_tokens, usage.cached_tokens)

    async def _say(self, index: int, say: Say, anchor: str | None, modality: str) -> dict[str, Any]:
        item_id = self.item_ids[index]
        item: dict[str, Any] = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        placed, previous = self._announce(index, item, anchor)
        audio = modality == "audio"
        key = "transcript" if audio else "text"
        where = {
            "response_id": self.id,
            "item_id": item_id,
            "output_index": index,
            "content_index": 0,
        }
        self._send(
            "response.content_part.added",
            **where,
            part={"type": "audio" if audio else "text", key: ""},
        )
        sent = ""
        if say.first_delay:
            await self._pause(say.first_delay)
        for chunk in _split(say.text, say.chunks):
            if self._cancelled.is_set():
                break
            kind = "output_audio_transcript" if audio else "output_text"
            self._send(f"response.{kind}.delta", **where, delta=chunk)
            sent += chunk
            await self._pause(say.chunk_delay)
        if audio:
            self._send("response.output_audio.done", **where)
            self._send("response.output_audio_transcript.done", **where, transcript=sent)
        else:
            self._send("response.output_text.done", **where, text=sent)
        self._send(
            "response.content_part.done",
            **where,
            part={"type": "audio" if audio else "text", key: sent},
        )
        final = {
            **item,
            "status": self._item_status(),
            "content": [{"type": "output_audio" if audio else "output_text", key: sent}],
        }
        self._finish(index, final, placed, previous)
        return final

    async def _call(self, index: int, call: CallTool, anchor: str | None) -> dict[str, Any]:
        item_id = self.item_ids[index]
        call_id = self.call_ids[index]
        item: dict[str, Any] = {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": call.name,
            "call_id": call_id,
            "arguments": "",
        }
        placed, previous = self._announce(index, item, anchor)
        await self._pause(call.dispatch_delay)
        arguments = "" if self._cancelled.is_set() else call.arguments
        where = {
            "response_id": self.id,
            "item_id": item_id,
            "output_index": index,
            "call_id": call_id,
        }
        if arguments:
            self._send("response.function_call_arguments.delta", **where, delta=arguments)
        self._send(
            "response.function_call_arguments.done", **where, name=call.name, arguments=arguments
        )
        final = {**item, "status": self._item_status(), "arguments": arguments}
        self._finish(index, final, placed, previous)
        return final

    def _announce(
        self, index: int, item: dict[str, Any], anchor: str | None
    ) -> tuple[bool, str | None]:
        self._send("response.output_item.added", response_id=self.id, output_index=index, item=item)
        try:
            previous = self._session.conversation.place_generated(item, anchor)
        except ConversationError as e:
            logger.warning("generated item chains after an unknown item; not inserted")
            self._session.send(proto.unknown_previous_item(e.subject, None))
            return False, None
        self._session.send(proto.item_added(item, previous))
        return True, previous

    def _finish(
        self, index: int, final: dict[str, Any], placed: bool, previous: str | None
    ) -> None:
        self._session.conversation.update(final["id"], **final)
        self._send("response.output_item.done", response_id=self.id, output_index=index, item=final)
        # a call deleted while its arguments streamed is not finalized in the conversation
        if placed and self._session.conversation.get(final["id"]) is not None:
            self._session.send(proto.item_done(final, previous))

    def _item_status(self) -> str:
        return "incomplete" if self._cancelled.is_set() else "completed"

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._cancelled.wait(), seconds)

    def _send(self, type_: str, **fields: Any) -> None:
        self._session.send(proto.server_event(type_, **fields))
