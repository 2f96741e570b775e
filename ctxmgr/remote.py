"""The remote view of a realtime session: what the server has that the agent does not yet.

Two copies of the conversation exist on a realtime session: the remote mirror
(updated when the server announces an item) and the agent's local context (a
function call joins it when its tool starts, a reply after playout). livekit
may copy a remote item into the local context as a placeholder (livekit/agents
PR 5114) until the real item replaces it. No flag marks a placeholder, but it is
a shallow copy of the mirror's item (``model_copy()``): it shares the mirror
item's ``extra`` dict (and a message's ``content`` list), which the real item
never does. That identity, not the id, tells a placeholder.

Everything here is protected from deletion: remote-only items, pending
placeholders, the server's last item, and every item placed after the oldest of
them. A placeholder the conversation went a turn past is no longer pending (see
``remote_view``).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from livekit.agents import llm

from ._listeners import listener
from .chat_items import reaches_server

__all__ = [
    "PLACEHOLDER_GIVE_UP_S",
    "MirrorKeeper",
    "RemoteView",
    "is_placeholder",
    "place_as_requested",
    "remote_view",
    "unsynced_ids",
]

PLACEHOLDER_GIVE_UP_S = 10.0
"""Seconds after which a placeholder the conversation went a turn past is given up on:
its own item (a transcript, a reply's text) is not coming."""


@dataclass(frozen=True)
class RemoteView:
    """Ids that a compaction (or any update) must not delete, and why."""

    remote_only: frozenset[str]
    """On the server, not in the local context."""
    placeholders: frozenset[str]
    """Local copies of remote items that the real local item has not replaced yet, and
    will not: ``answered`` ones are not protected (see ``remote_view``)."""
    answered: frozenset[str]
    """Placeholders given up on: a user turn the server placed after them is settled in
    the agent's context, and they are older than ``PLACEHOLDER_GIVE_UP_S``."""
    protected: frozenset[str]
    """``remote_only`` | unanswered placeholders | the server's last item | every item
    after the oldest of them, in either order."""


def is_placeholder(local_item: llm.ChatItem, remote_item: llm.ChatItem) -> bool:
    """True when the local item is the mirror's own object or livekit's copy of it, or a
    spoken user turn whose transcript has not arrived in either copy."""
    if local_item is remote_item:
        return True
    extra = getattr(local_item, "extra", None)
    shared = extra is not None and extra is getattr(remote_item, "extra", None)
    return shared or _awaiting_transcript(local_item, remote_item)


def _awaiting_transcript(local_item: llm.ChatItem, remote_item: llm.ChatItem) -> bool:
    # livekit copies the whole context on some paths (an interruption's sync, a handoff):
    # the copy of a placeholder no longer shares the mirror's dict, but it still has no text
    return all(
        isinstance(i, llm.ChatMessage) and i.role == "user" and not i.text_content
        for i in (local_item, remote_item)
    )


def remote_view(
    local: llm.ChatContext,
    remote: llm.ChatContext | None,
    *,
    ignoring: Collection[str] = (),
    give_up_s: float | None = None,
) -> RemoteView:
    """Compute the protected ids from the two contexts.

    Unsettled: remote-only items and placeholders (the local object is the mirror's
    own, or livekit's shallow copy of it: no local version of the item exists yet).
    Protected: the unsettled ones, the server's last item (a response the server
    committed but has not announced yet chains to it), and everything after the oldest
    of them, in either order.

    A placeholder is given up on (``answered``), and settled, once a user turn the
    server placed after it is settled in the agent's context (the conversation went a
    turn past it) and it is older than ``give_up_s``: its own item is not coming (user
    audio whose transcription failed or is off, a reply cancelled before any text was
    forwarded), or comes as a transcript so late that the manager archives it if the
    turn was folded meanwhile. Without this, one such turn would freeze every later one
    for the rest of the call. Items in ``ignoring`` (a compaction's own summary, between
    its insert and its delete) are left out of both contexts first.
    """
    if remote is None:
        return RemoteView(frozenset(), frozenset(), frozenset(), frozenset())
    if ignoring:
        skip = set(ignoring)
        local = llm.ChatContext([i for i in local.items if i.id not in skip])
        remote = llm.ChatContext([i for i in remote.items if i.id not in skip])
    local_by_id = {item.id: item for item in local.items}
    remote_only = frozenset(item.id for item in remote.items if item.id not in local_by_id)
    placeholders = frozenset(
        item.id
        for item in remote.items
        if item.id in local_by_id and is_placeholder(local_by_id[item.id], item)
    )
    answered: set[str] = set()
    user_turn_after = False
    old = time.time() - (PLACEHOLDER_GIVE_UP_S if give_up_s is None else give_up_s)
    for item in reversed(remote.items):  # newest first
        if item.id in placeholders and user_turn_after and item.created_at <= old:
            answered.add(item.id)
        local_item = local_by_id.get(item.id)
        if (
            isinstance(local_item, llm.ChatMessage)
            and local_item.role == "user"
            and item.id not in placeholders
        ):
            user_turn_after = True  # settled: the user spoke after it
    unsettled = remote_only | (placeholders - answered)
    protected = set(unsettled)
    if remote.items:
        protected.add(remote.items[-1].id)
    for order in ([i.id for i in remote.items], [i.id for i in local.items]):
        first = next((n for n, i in enumerate(order) if i in protected), None)
        if first is not None:
            protected.update(order[first:])
    return RemoteView(remote_only, placeholders, frozenset(answered), frozenset(protected))


def unsynced_ids(local: llm.ChatContext, remote: llm.ChatContext | None) -> frozenset[str]:
    """Local conversation items the mirror does not hold: their server state is unknown.

    A create whose acknowledgement was lost is on the server but not in the mirror; a
    delete of it would never be sent (the plugin diffs against the mirror), so folding
    it would leave it, or its pair partner, orphaned on the server. Such items are kept,
    one by one (not everything after them: a lost acknowledgement never heals).
    """
    if remote is None:
        return frozenset()
    mirrored = {item.id for item in remote.items}
    return frozenset(i.id for i in local.items if i.id not in mirrored and reaches_server(i))


def place_as_requested(mirror: Any, item_id: str, previous: str) -> bool:
    """Move a created item in the plugin's mirror to where its create asked the server to
    put it: after ``previous`` (the ``previous_item_id`` its ``conversation.item.create``
    carried; ``"root"``: the head). True when it moved.

    A server that announces items without ``previous_item_id`` (xAI) leaves the plugin
    appending each at the tail of its mirror, while the server placed it as asked; the
    plugin's next diff, made against that mirror, would then delete and re-create the
    item, or place later items wrongly. ``mirror`` is the plugin's ``RemoteChatContext``
    (``_remote_chat_ctx``); an item the server refused (not in the mirror), or whose
    anchor the mirror lacks, is left where it is. On a plugin that places items as the
    server says (OpenAI), nothing moves.
    """
    anchor = None if previous == "root" else previous
    node = mirror.get(item_id) if mirror is not None else None
    if node is None or (anchor is not None and mirror.get(anchor) is None):
        return False
    ids = [i.id for i in mirror.to_chat_ctx().items]
    at = ids.index(item_id)
    if (ids[at - 1] if at > 0 else None) == anchor:
        return False
    mirror.delete(item_id)
    mirror.insert(anchor, node.item)
    return True


class MirrorKeeper:
    """Keeps a realtime plugin's mirror true to the server where the server's events say
    too little to place an item or to name a deleted one (xAI), whoever made the change
    (ctxmgr, the application, livekit itself).

    - *Placement*: it notes the ``previous_item_id`` of each ``conversation.item.create``
      the plugin sends (its ``openai_client_event_queued`` event) and, when the server
      announces the item (``remote_item_added``), puts it there in the mirror
      (``place_as_requested``). xAI's announcements carry no ``previous_item_id``, so
      its plugin appends every item at the tail of its mirror; its next diff would then
      delete and re-create items, or place later ones wrongly.
    - *Deletes*: xAI acknowledges a delete with an empty ``item_id``, which its plugin
      takes for the oldest delete still awaited, even one the server refused: after a
      refusal, each later acknowledgement removes the wrong item from the mirror. The
      keeper follows the deletes sent and the errors answering them, and names the
      deleted item in the raw event (``openai_server_event_received`` is emitted before
      the plugin reads the event).

    On a plugin whose server says both (OpenAI, Azure) nothing changes. Plugins that
    emit none of these events are left alone.
    """

    _REMEMBERED = 256

    def __init__(self, rt_session: Any) -> None:
        self._rt = rt_session
        self._requested: dict[str, str] = {}
        self._deletes: dict[str, str] = {}  # event id -> item id, in the order sent
        self.moved: list[str] = []
        """Ids this keeper moved in the mirror, oldest first."""
        self.named: list[str] = []
        """Ids this keeper named in delete acknowledgements that carried none."""
        self._listeners = {
            "openai_client_event_queued": listener(self._on_client_event),
            "openai_server_event_received": listener(self._on_server_event),
            "remote_item_added": listener(self._on_item_added),
        }
        for event, callback in self._listeners.items():
            rt_session.on(event, callback)

    def close(self) -> None:
        """Stop listening."""
        for event, callback in self._listeners.items():
            self._rt.off(event, callback)

    def _on_client_event(self, event: dict[str, Any]) -> None:
        kind, item = event.get("type"), event.get("item")
        if kind == "conversation.item.create" and isinstance(item, dict):
            if event.get("previous_item_id") is not None:  # without one, the tail: as appended
                _remember(self._requested, str(item.get("id")), event["previous_item_id"])
        elif kind == "conversation.item.delete":
            _remember(self._deletes, str(event.get("event_id")), str(event.get("item_id")))

    def _on_server_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "error":
            # a refused delete is answered by an error naming its event, and never acknowledged
            self._deletes.pop(str((event.get("error") or {}).get("event_id")), None)
        elif kind == "conversation.item.deleted" and self._deletes:
            sent = self._deletes.pop(next(iter(self._deletes)))
            if not event.get("item_id"):
                event["item_id"] = sent
                self.named.append(sent)

    def _on_item_added(self, event: llm.RemoteItemAddedEvent) -> None:
        if event.item.id not in self._requested:
            return
        previous = self._requested.pop(event.item.id)
        if place_as_requested(getattr(self._rt, "_remote_chat_ctx", None), event.item.id, previous):
            self.moved.append(event.item.id)


def _remember(entries: dict[str, Any], key: str, value: Any) -> None:
    """Add an entry, forgetting the oldest past ``MirrorKeeper._REMEMBERED`` (a change the
    server never answers must not grow the map for the rest of the call)."""
    if len(entries) >= MirrorKeeper._REMEMBERED:
        entries.pop(next(iter(entries)))
    entries[key] = value
