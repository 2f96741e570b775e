"""The remote view of a realtime session: what the server has that the agent does not yet.

Two copies of the conversation exist on a realtime session: the remote mirror
(updated when the server announces an item) and the agent's local context (a
function call joins it when its tool starts, a reply after playout). livekit
may copy a remote item into the local context as a placeholder (livekit/agents
PR 5114) until the real item replaces it; no flag marks a placeholder, only its
id and the object identity, which :class:`PlaceholderTracker` records.

Everything here is protected from deletion: remote-only items, pending
placeholders, and every item the server placed after the oldest of them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from livekit.agents import llm

__all__ = ["RemoteView", "PlaceholderTracker", "remote_view"]


@dataclass(frozen=True)
class RemoteView:
    """Ids that a compaction (or any update) must not delete, and why."""

    remote_only: frozenset[str]
    """On the server, not in the local context."""
    placeholders: frozenset[str]
    """Local copies of remote items that the real item has not replaced yet."""
    protected: frozenset[str]
    """``remote_only`` | ``placeholders`` | every item after the oldest of them (server order)."""


def remote_view(
    local: llm.ChatContext,
    remote: llm.ChatContext | None,
    pending_placeholders: Collection[str] = (),
) -> RemoteView:
    """Compute the protected ids from the two contexts (order of the server's copy)."""
    if remote is None:
        return RemoteView(frozenset(), frozenset(), frozenset())
    local_ids = {item.id for item in local.items}
    remote_ids = [item.id for item in remote.items]
    remote_only = frozenset(i for i in remote_ids if i not in local_ids)
    placeholders = frozenset(i for i in pending_placeholders if i in local_ids)
    unsettled = remote_only | placeholders
    protected = set(unsettled)
    first = next((n for n, i in enumerate(remote_ids) if i in unsettled), None)
    if first is not None:
        protected.update(remote_ids[first:])
        # a pending placeholder that the server no longer lists still freezes the local tail
    local_order = [item.id for item in local.items]
    local_first = next((n for n, i in enumerate(local_order) if i in protected), None)
    if local_first is not None:
        protected.update(local_order[local_first:])
    return RemoteView(remote_only, placeholders, frozenset(protected))


class PlaceholderTracker:
    """Records the placeholders livekit adds for remote items, by id and object identity.

    Holds the placeholder objects (not their ids) so an identity is never confused
    with a later object at the same address.

    A placeholder is pending while the local context still holds the very object
    livekit created for it; once the real item replaces it (``_upsert_item``), the
    id is reconciled and the item is treated as any other.
    """

    def __init__(self) -> None:
        self._objects: dict[str, llm.ChatItem] = {}

    def on_remote_item_added(self, local: llm.ChatContext, item_id: str) -> None:
        """Call after livekit handled ``remote_item_added``: remember its placeholder, if any."""
        placeholder = local.get_by_id(item_id)
        if placeholder is not None:
            self._objects[item_id] = placeholder

    def pending(self, local: llm.ChatContext) -> frozenset[str]:
        """Ids whose placeholder object is still the one in the local context."""
        live = {item.id: item for item in local.items if item.id in self._objects}
        pending = frozenset(i for i, obj in self._objects.items() if live.get(i) is obj)
        for reconciled in [i for i in self._objects if i not in pending]:
            del self._objects[reconciled]
        return pending

    def placeholder_object(self, local: llm.ChatContext, item_id: str) -> Any:
        """The live placeholder object for ``item_id``, or ``None`` when it is reconciled."""
        item = local.get_by_id(item_id)
        return item if item is not None and item is self._objects.get(item_id) else None
