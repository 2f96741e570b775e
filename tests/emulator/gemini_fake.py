"""A fake Gemini Live connection at the google plugin's session boundary.

``livekit-plugins-google`` talks to Gemini through ``google.genai``'s
``client.aio.live.connect(model=, config=)`` session: ``send_client_content``,
``send_realtime_input``, ``send_tool_response`` and ``receive()``. This fake stands
in for that client, so the real plugin (its ``update_chat_ctx``, its generations)
runs unmodified. What it keeps is what Gemini's documentation says the server keeps:
the history is append-only (client content is added at the end; nothing in the
protocol removes a turn). A completed user turn is answered with one text model turn,
``You said: <the user's text>``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from google.genai import types


class FakeGeminiServer:
    """What the fake server was sent and holds."""

    def __init__(self) -> None:
        self.history: list[types.Content] = []
        """The server's conversation: every turn sent or generated, in order."""
        self.client_contents: list[tuple[list[types.Content], bool]] = []
        """Each ``send_client_content``: its turns and ``turn_complete``."""
        self.connections = 0

    def texts(self) -> list[tuple[str, str]]:
        """``(role, text)`` of each turn of the history."""
        return [
            (c.role or "", "".join(p.text or "" for p in c.parts or [])) for c in self.history
        ]

    def client(self, **_: Any) -> _FakeClient:
        """Stands in for ``google.genai.Client(...)``."""
        return _FakeClient(self)


class _FakeClient:
    def __init__(self, server: FakeGeminiServer) -> None:
        self.aio = self
        self.live = self
        self._server = server

    async def aclose(self) -> None:
        return None

    @contextlib.asynccontextmanager
    async def connect(self, *, model: str, config: Any) -> AsyncIterator[_FakeSession]:
        self._server.connections += 1
        session = _FakeSession(self._server)
        try:
            yield session
        finally:
            session.closed = True


class _FakeSession:
    def __init__(self, server: FakeGeminiServer) -> None:
        self._server = server
        self._outbox: asyncio.Queue[types.LiveServerMessage] = asyncio.Queue()
        self.closed = False

    async def send_client_content(
        self, *, turns: Any = None, turn_complete: bool = True
    ) -> None:
        contents = [types.Content.model_validate(t) for t in (turns or [])]
        self._server.client_contents.append((contents, turn_complete))
        self._server.history.extend(contents)
        if turn_complete:
            said = next(
                (
                    "".join(p.text or "" for p in c.parts or [])
                    for c in reversed(self._server.history)
                    if c.role == "user" and (c.parts or [types.Part()])[0].text != "."
                ),
                "",
            )
            reply = types.Content(role="model", parts=[types.Part(text=f"You said: {said}")])
            self._server.history.append(reply)
            await self._outbox.put(
                types.LiveServerMessage(server_content=types.LiveServerContent(model_turn=reply))
            )
            await self._outbox.put(
                types.LiveServerMessage(
                    server_content=types.LiveServerContent(turn_complete=True),
                    usage_metadata=types.UsageMetadata(prompt_token_count=10),
                )
            )

    async def send_realtime_input(self, **_: Any) -> None:
        return None

    async def send_tool_response(self, **_: Any) -> None:
        return None

    async def receive(self) -> AsyncIterator[types.LiveServerMessage]:
        """One turn's messages, ending after ``turn_complete`` (as ``google.genai`` does)."""
        while True:
            message = await self._outbox.get()
            yield message
            if message.server_content and message.server_content.turn_complete:
                return

    async def close(self) -> None:
        self.closed = True
