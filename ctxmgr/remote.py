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

from livekit.agents import llm

from .chat_items import reaches_server

__all__ = ["PLACEHOLDER_GIVE_UP_S", "RemoteView", "is_placeholder", "remote_view", "unsynced_ids"]

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
