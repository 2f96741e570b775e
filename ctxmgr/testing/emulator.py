"""An OpenAI Realtime server emulator on 127.0.0.1 for tests.

It speaks the subset of the Realtime protocol that ``livekit-plugins-openai``
uses, keeps the server's ordered conversation, enforces its rules and lets a
test script the timing; the real, unmodified plugin connects to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Collection
from types import TracebackType
from typing import Any, Literal

from aiohttp import web
from livekit.agents import llm

from ._emulator_conversation import ServerItem, StaleAnchorPolicy
from ._emulator_dialects import DIALECTS, Dialect, paths
from ._emulator_response import ServerResponse
from ._emulator_script import (
    AckKind,
    CallTool,
    Responder,
    ResponsePlan,
    ResponseRequest,
    Say,
    Usage,
    echo_responder,
)
from ._emulator_session import AckRule, EmulatedSession

__all__ = [
    "DIALECTS",
    "AckKind",
    "CallTool",
    "ClientEventObserver",
    "Dialect",
    "EmulatedSession",
    "RealtimeServerEmulator",
    "Responder",
    "ResponsePlan",
    "ResponseRequest",
    "Say",
    "ServerItem",
    "ServerResponse",
    "StaleAnchorPolicy",
    "Usage",
    "echo_responder",
    "plugin_model",
]

logger = logging.getLogger("ctxmgr.testing")

ClientEventObserver = Callable[[EmulatedSession, dict[str, Any], tuple[ServerItem, ...]], None]
"""``(session, event, before)``: sees each valid client event right after the server applied it."""


class RealtimeServerEmulator:
    """A websocket server that behaves like the OpenAI Realtime API's conversation.

    Rules it enforces: a created item chains after ``previous_item_id``
    (``"root"`` is the head, absent is the tail); an unknown ``previous_item_id``
    or a duplicate id is an ``error`` and the item is not inserted; deleting or
    truncating an unknown id is an ``error``; one response at a time; a
    response's items chain after the item that was the tail when it was
    committed, even if that item is deleted before they arrive (see
    ``stale_anchor_policy``). Each connection is a fresh server session.

    Example::

        async with RealtimeServerEmulator() as emulator:
            model = RealtimeModel(base_url=emulator.url, api_key="test", modalities=["text"])
            emulator.queue_response(
                ResponsePlan.call("lookup", '{"query": "tides"}'),
                ResponsePlan.say("Tides follow the moon."),
            )
            ...  # run an AgentSession on the model
            assert [i.type for i in emulator.conversation] == [...]

    Args:
        host: Interface to bind; keep the default.
        port: Port to bind; 0 picks a free one.
        responder: Chooses the plan of a client-requested response when none is
            queued; repeats the last user message by default.
        stale_anchor_policy: ``"append"`` (default) or ``"reject"``, see
            ``StaleAnchorPolicy``.
        dialect: The wire variant to speak: ``"openai"`` (default), ``"azure"``
            (Azure OpenAI's ``/openai/v1/realtime``) or ``"xai"`` (xAI's quirks); see
            ``ctxmgr.testing._emulator_dialects`` for what is known and what assumed.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder = echo_responder,
        stale_anchor_policy: StaleAnchorPolicy = "append",
        dialect: Dialect = "openai",
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, not {dialect!r}")
        self.dialect: Dialect = dialect
        """The wire variant this server speaks."""
        self.responder: Responder = responder
        """Plans client-requested responses when the queue is empty."""
        self._stale_anchor_policy: StaleAnchorPolicy = stale_anchor_policy
        self.server_sessions: list[EmulatedSession] = []
        """Every connection's server session, oldest first."""
        self.client_events: list[dict[str, Any]] = []
        """Every client event received, in order, across connections."""
        self.server_events: list[dict[str, Any]] = []
        """Every server event sent, in order, across connections."""
        self.dropped_acks: list[dict[str, Any]] = []
        """Acknowledgements withheld by ``drop_acks``."""
        self.observers: list[ClientEventObserver] = []
        """Called after each valid client event is applied: ``(session, event, before)``,
        ``before`` being the server conversation just before it (see ``ctxmgr.testing.ledger``)."""
        self.observer_errors: list[str] = []
        """What the observers raised (logged, never passed to the connection)."""
        self._host, self._port = host, port
        self._plans: deque[ResponsePlan] = deque()
        self._ack_rules: list[AckRule] = []
        self._refusal_rules: list[AckRule] = []
        self.transcription_delay: float | None = None
        """Seconds between a user audio turn's item and its transcript (as the real server,
        which transcribes asynchronously); ``None``: the item carries its transcript."""
        self.transcription_fails = False
        """User audio turns are never transcribed: ``transcription_delay`` seconds (0 when
        unset) after the item, ``input_audio_transcription.failed`` comes instead."""
        self.refused: list[str] = []
        """Ids of the items whose client create or delete ``refuse_changes`` refused, and of
        the creates then rejected for being chained to an item a refusal left out."""
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._changed = asyncio.Event()
        self._url: str | None = None
        self._closed = False

    # --- lifecycle ----------------------------------------------------------

    async def __aenter__(self) -> RealtimeServerEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Bind and start serving."""
        if self._runner is not None or self._closed:
            raise RuntimeError("Cannot start an emulator more than once.")
        app = web.Application()
        for path in paths(self.dialect):
            app.router.add_get(path, self._serve)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._url = f"http://{host}:{port}/v1"

    async def aclose(self) -> None:
        """Close every connection and stop serving; closing twice is a no-op."""
        if self._closed:
            return
        self._closed = True
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def stale_anchor_policy(self) -> StaleAnchorPolicy:
        """Where a response's item goes when its anchor was deleted since the commit."""
        return self._stale_anchor_policy

    @stale_anchor_policy.setter
    def stale_anchor_policy(self, policy: StaleAnchorPolicy) -> None:
        self._stale_anchor_policy = policy
        for session in self.server_sessions:
            session.conversation.stale_anchor_policy = policy

    @property
    def endpoint(self) -> str:
        """The server's root, e.g. ``http://127.0.0.1:PORT``: Azure's ``azure_endpoint``."""
        return self.url.removesuffix("/v1")

    @property
    def url(self) -> str:
        """Base URL for ``RealtimeModel(base_url=...)``, e.g. ``http://127.0.0.1:PORT/v1``."""
        if self._url is None:
            raise RuntimeError("The emulator is not started.")
        return self._url

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        if self.dialect == "azure" and "api-key" not in request.headers:
            return web.Response(status=401, text="Azure OpenAI expects an api-key header.")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = EmulatedSession(self, request.query.get("model", "gpt-realtime"))
        self.server_sessions.append(session)
        self._sockets.add(ws)
        logger.debug("realtime emulator connection opened")
        try:
            await session.serve(ws)
        finally:
            self._sockets.discard(ws)
        return ws

    # --- reading the server -------------------------------------------------

    @property
    def server_session(self) -> EmulatedSession:
        """The newest connection's server session."""
        if not self.server_sessions:
            raise RuntimeError("No client has connected to the emulator.")
        return self.server_sessions[-1]

    @property
    def conversation(self) -> tuple[ServerItem, ...]:
        """The server conversation of the newest connection, in order."""
        return self.server_session.conversation.snapshot()

    @property
    def item_ids(self) -> list[str]:
        """The ids of ``conversation``, in order."""
        return self.server_session.conversation.ids

    @property
    def deleted_ids(self) -> list[str]:
        """Ids deleted from the newest connection's conversation, in order."""
        return list(self.server_session.conversation.deleted_ids)

    @property
    def responses(self) -> list[ServerResponse]:
        """Responses committed on the newest connection, in commit order."""
        return list(self.server_session.responses)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The ``error`` payloads sent so far."""
        return [e["error"] for e in self.server_events if e["type"] == "error"]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; checked after every event and every 10 ms."""

        async def _wait() -> None:
            while True:
                changed = self._changed
                if predicate():
                    return
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), 0.01)

        await asyncio.wait_for(_wait(), timeout)

    async def wait_for_event(
        self,
        type_: str,
        *,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """Wait for a server or client event of this type matching ``where``; return it."""

        def _find() -> dict[str, Any] | None:
            events = self.server_events + self.client_events
            return next((e for e in events if e.get("type") == type_ and where(e)), None)

        await self.wait_until(lambda: _find() is not None, timeout)
        event = _find()
        assert event is not None
        return event

    # --- scripting ----------------------------------------------------------

    def queue_response(self, *plans: ResponsePlan) -> None:
        """Queue plans for the next client-requested responses, first in first out."""
        self._plans.extend(plans)

    def commit_response(
        self,
        plan: ResponsePlan,
        *,
        held: bool = False,
        user_transcript: str | None = None,
    ) -> ServerResponse:
        """Start a response on the server's own initiative, as server VAD does.

        ``user_transcript`` first appends the user's turn as a committed audio
        item carrying that transcript (or, with ``transcription_delay`` set, an item
        whose transcript ``conversation.item.input_audio_transcription.completed``
        brings that much later). The response's first item chains after
        the current tail, fixed now. ``held=True`` keeps its events back until
        ``release()``; a response in progress also holds it back.
        """
        session = self.server_session
        if user_transcript is not None and self.transcription_fails:
            item_id = session.add_user_item({"type": "input_audio", "transcript": None})
            session.transcribe_later(item_id, None, self.transcription_delay or 0.0)
        elif user_transcript is not None and self.transcription_delay is not None:
            item_id = session.add_user_item({"type": "input_audio", "transcript": None})
            session.transcribe_later(item_id, user_transcript, self.transcription_delay)
        elif user_transcript is not None:
            session.add_user_item({"type": "input_audio", "transcript": user_transcript})
        return session.commit(plan, held=held)

    @property
    def transcribing(self) -> int:
        """User audio items whose transcript has not been sent yet."""
        return sum(len(s.transcribing) for s in self.server_sessions)

    def delay_acks(
        self, seconds: float, kind: AckKind = "all", *, count: int | None = None
    ) -> None:
        """Hold back the acknowledgements of creates and/or deletes.

        The change is applied on the server at once; its ``conversation.item.added``
        / ``deleted`` leaves ``seconds`` later, and every server event after it waits
        too, since the server answers in order. ``count`` limits the rule to the
        next N acknowledgements.
        """
        self._ack_rules.append(AckRule(kind=kind, delay=seconds, remaining=count))

    def drop_acks(self, kind: AckKind = "all", *, count: int | None = None) -> None:
        """Apply creates and/or deletes on the server but never acknowledge them."""
        self._ack_rules.append(AckRule(kind=kind, drop=True, remaining=count))

    def refuse_changes(
        self,
        kind: AckKind = "all",
        *,
        count: int | None = None,
        item_ids: Collection[str] | None = None,
        role: str | None = None,
    ) -> None:
        """Answer the next creates and/or deletes with a ``server_error`` and leave them undone.

        A real server fails a request now and then; the plugin only logs a refused
        create or delete (livekit/agents 7073), so its ``update_chat_ctx`` returns as
        if it had worked. ``count`` limits the rule to the next N such events,
        ``item_ids`` to changes of those items, ``role`` to creates of messages of that role.
        """
        only = frozenset(item_ids) if item_ids is not None else None
        self._refusal_rules.append(AckRule(kind=kind, remaining=count, item_ids=only, role=role))

    def reset_acks(self) -> None:
        """Acknowledge everything at once again, and refuse nothing."""
        self._ack_rules.clear()
        self._refusal_rules.clear()

    def _next_plan(self, request: ResponseRequest) -> ResponsePlan:
        return self._plans.popleft() if self._plans else self.responder(request)

    def _record_sent(self, event: dict[str, Any]) -> None:
        self.server_events.append(event)
        self._notify()

    def _record_received(self, event: dict[str, Any]) -> None:
        self.client_events.append(event)
        self._notify()

    def _observe(
        self, session: EmulatedSession, event: dict[str, Any], before: tuple[ServerItem, ...]
    ) -> None:
        for observer in self.observers:
            try:
                observer(session, event, before)
            except Exception as e:  # noqa: BLE001 - a broken observer must not break the server
                logger.exception("client event observer failed")
                self.observer_errors.append(f"{type(e).__name__}: {e}")

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


def plugin_model(
    emulator: RealtimeServerEmulator, *, text_only: bool = True
) -> llm.RealtimeModel:
    """The real livekit plugin's ``RealtimeModel`` for the emulator's dialect, pointed at it.

    ``openai``: ``openai.realtime.RealtimeModel(base_url=...)``; ``azure``:
    ``RealtimeModel.with_azure(azure_endpoint=...)``; ``xai``:
    ``xai.realtime.RealtimeModel(base_url=...)`` (``livekit-plugins-xai``; it always
    asks for audio and text, so ``text_only`` does not apply).
    """
    from livekit.plugins.openai.realtime import RealtimeModel

    modalities: list[Literal["text", "audio"]] = ["text"] if text_only else ["audio", "text"]
    if emulator.dialect == "azure":
        return RealtimeModel.with_azure(
            azure_endpoint=emulator.endpoint,
            azure_deployment="gpt-realtime",
            api_key="test",
            modalities=modalities,
        )
    if emulator.dialect == "xai":
        from livekit.plugins.xai.realtime import RealtimeModel as XAIRealtimeModel

        return XAIRealtimeModel(base_url=emulator.url, api_key="test")
    return RealtimeModel(base_url=emulator.url, api_key="test", modalities=modalities)
