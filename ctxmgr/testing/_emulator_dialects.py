"""The wire variants of the OpenAI Realtime protocol that livekit's plugins connect to.

The emulator keeps one conversation with OpenAI's rules; a dialect changes only
what crosses the wire: the URL path a plugin connects to, how a client event is
read, how a server event is written.

- ``openai``: the GA protocol at ``/v1/realtime`` (``livekit-plugins-openai``).
- ``azure``: Azure OpenAI's GA endpoint, ``/openai/v1/realtime?model=DEPLOYMENT``
  with an ``api-key`` header (``RealtimeModel.with_azure(azure_endpoint=...)``
  without ``api_version``). Known from livekit's ``process_base_url`` and Azure's
  GA reference: the events are OpenAI's. The legacy ``api-version`` protocol (beta
  event names, deprecated by livekit) is not emulated.
- ``xai``: xAI's Voice Agent API (``livekit-plugins-xai``). Known from the plugin's
  source, which works around each: ``conversation.item.added`` carries no
  ``previous_item_id`` (the plugin appends the item at the tail of its mirror), a
  ``conversation.item.deleted`` carries an empty ``item_id`` (the plugin takes it
  for the oldest delete it is waiting for), and ``session.update`` puts ``voice``
  and ``turn_detection`` at the top of the session. Assumed (no xAI documentation
  here says otherwise): a create's ``previous_item_id`` is honoured as OpenAI
  honours it (``root`` is the head), and deletes are answered in the order sent.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

__all__ = ["DIALECTS", "Dialect", "incoming", "outgoing", "paths"]

Dialect = Literal["openai", "azure", "xai"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)


def paths(dialect: Dialect) -> tuple[str, ...]:
    """The websocket paths the dialect's plugin connects to."""
    if dialect == "azure":
        return ("/openai/v1/realtime",)
    return ("/v1/realtime",)


def incoming(dialect: Dialect, event: dict[str, Any]) -> dict[str, Any]:
    """A client event in the dialect, read as the GA protocol's event."""
    if dialect == "xai" and event.get("type") == "session.update":
        session = dict(event.get("session") or {})
        audio = dict(session.get("audio") or {})
        if "voice" in session:
            audio["output"] = {**(audio.get("output") or {}), "voice": session.pop("voice")}
        if "turn_detection" in session:
            detection = session.pop("turn_detection")
            audio["input"] = {**(audio.get("input") or {}), "turn_detection": detection}
        if audio:
            session["audio"] = audio
        return {**event, "session": session}
    return event


def outgoing(dialect: Dialect, event: dict[str, Any]) -> dict[str, Any]:
    """A GA server event as the dialect's server writes it."""
    if dialect != "xai":
        return event
    if event["type"] in ("conversation.item.added", "conversation.item.done"):
        return {k: v for k, v in event.items() if k != "previous_item_id"}
    if event["type"] == "conversation.item.deleted":
        return {**event, "item_id": ""}
    return event
