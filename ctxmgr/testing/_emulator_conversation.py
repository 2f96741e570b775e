"""The server's ordered conversation and the rules it enforces.

Pure and synchronous: the websocket layer turns a :class:`ConversationError`
into the ``error`` event the real server sends, and an accepted change into
``conversation.item.added`` / ``conversation.item.deleted``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from ._emulator_protocol import new_id

StaleAnchorPolicy = Literal["append", "reject"]
"""Where a generated item goes when the item it chains after was deleted meanwhile.

The real server's behaviour is undocumented. ``"append"`` (default) places it at
the tail and still announces the stale ``previous_item_id``, which is what the
livekit plugin assumes; ``"reject"`` leaves it out of the conversation and sends
an ``error`` event instead of ``conversation.item.added``.
"""


class ConversationError(Exception):
    """A change the server refuses; carries the error event's code and param."""

    def __init__(self, code: str, subject: str) -> None:
        super().__init__(code)
        self.code = code
        self.subject = subject
        """The id the error is about (the unknown anchor, the duplicate or unknown item)."""


@dataclass(frozen=True)
class ServerItem:
    """One item of the emulated server's conversation, as a test reads it."""

    id: str
    """The item id."""
    type: Literal["message", "function_call", "function_call_output"]
    """The item type."""
    role: str | None = None
    """``user``, ``assistant`` or ``system`` for messages, else None."""
    text: str = ""
    """Message text (text parts and transcripts joined), empty for other types."""
    call_id: str | None = None
    """The call id of a function call or its output."""
    name: str | None = None
    """The function name of a call."""
    arguments: str | None = None
    """The arguments of a call."""
    output: str | None = None
    """The output of a function call output."""
    status: str = "completed"
    """``in_progress`` while a response is still generating the item."""
    previous_item_id: str | None = None
    """The ``previous_item_id`` announced with the item."""
    stale_anchor: bool = False
    """True when that anchor was not in the conversation when the item was placed."""


def item_text(item: dict[str, Any]) -> str:
    """Join the text parts and transcripts of a wire message item."""
    parts = item.get("content") or []
    return "".join(p.get("text") or p.get("transcript") or "" for p in parts)


def _to_server_item(item: dict[str, Any], previous: str | None, stale: bool) -> ServerItem:
    return ServerItem(
        id=item["id"],
        type=item["type"],
        role=item.get("role"),
        text=item_text(item) if item["type"] == "message" else "",
        call_id=item.get("call_id"),
        name=item.get("name"),
        arguments=item.get("arguments"),
        output=item.get("output"),
        status=item.get("status") or "completed",
        previous_item_id=previous,
        stale_anchor=stale,
    )


@dataclass
class _Entry:
    item: dict[str, Any]
    previous_item_id: str | None
    stale_anchor: bool = False


class ServerConversation:
    """An ordered conversation that applies the server's placement rules."""

    def __init__(self, *, stale_anchor_policy: StaleAnchorPolicy = "append") -> None:
        self._entries: list[_Entry] = []
        self.stale_anchor_policy: StaleAnchorPolicy = stale_anchor_policy
        """Where a generated item goes when its anchor was deleted (see StaleAnchorPolicy)."""
        self.deleted_ids: list[str] = []
        """Ids deleted so far, in order."""
        self.arrivals: dict[str, int] = {}
        """Each id ever placed, with the order in which the server placed it first."""

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def ids(self) -> list[str]:
        """The item ids in conversation order."""
        return [e.item["id"] for e in self._entries]

    @property
    def tail_id(self) -> str | None:
        """The id of the last item, or None when empty."""
        return self._entries[-1].item["id"] if self._entries else None

    def snapshot(self) -> tuple[ServerItem, ...]:
        """The conversation as immutable items, in order."""
        return tuple(
            _to_server_item(e.item, e.previous_item_id, e.stale_anchor) for e in self._entries
        )

    def get(self, item_id: str) -> dict[str, Any] | None:
        """The wire item with this id (a live reference), or None."""
        return next((e.item for e in self._entries if e.item["id"] == item_id), None)

    def insert(
        self, item: dict[str, Any], previous_item_id: str | None
    ) -> tuple[dict[str, Any], str | None]:
        """Insert a client-created item; return a copy as stored and the id now before it.

        ``previous_item_id`` None appends, ``"root"`` inserts at the head, an id
        inserts after that item. Raises ConversationError for an unknown anchor
        or a duplicate id; the item is then not inserted.
        """
        item = self._with_id(item)
        if previous_item_id is None:
            index = len(self._entries)
        elif previous_item_id == "root":
            index = 0
        elif (found := self._index(previous_item_id)) is not None:
            index = found + 1
        else:
            raise ConversationError("item_create_invalid_previous_item_id", previous_item_id)
        return copy.deepcopy(item), self._place(item, index)

    def place_generated(self, item: dict[str, Any], anchor: str | None) -> str | None:
        """Place an item a response generates after ``anchor``; return the announced anchor.

        The anchor was fixed when the response was committed. When it has been
        deleted since, the stale-anchor policy decides (see StaleAnchorPolicy).
        """
        if anchor is None:
            return self._place(self._with_id(item), len(self._entries))
        index = self._index(anchor)
        if index is not None:
            return self._place(self._with_id(item), index + 1)
        if self.stale_anchor_policy == "reject":
            raise ConversationError("item_create_invalid_previous_item_id", anchor)
        self._place(self._with_id(item), len(self._entries))
        self._entries[-1].previous_item_id = anchor
        self._entries[-1].stale_anchor = True
        return anchor

    def delete(self, item_id: str) -> None:
        """Delete an item; raises ConversationError when it is unknown."""
        index = self._index(item_id)
        if index is None:
            raise ConversationError("item_delete_invalid_item_id", item_id)
        del self._entries[index]
        self.deleted_ids.append(item_id)

    def update(self, item_id: str, **fields: Any) -> None:
        """Set fields of an item still in the conversation (no-op once deleted)."""
        if (item := self.get(item_id)) is not None:
            item.update(copy.deepcopy(fields))

    def _with_id(self, item: dict[str, Any]) -> dict[str, Any]:
        item = copy.deepcopy(item)
        item.setdefault("id", None)
        if not item["id"]:
            item["id"] = new_id("item_")
        if self._index(item["id"]) is not None:
            raise ConversationError("item_create_duplicate_item_id", item["id"])
        return item

    def _place(self, item: dict[str, Any], index: int) -> str | None:
        self.arrivals.setdefault(item["id"], len(self.arrivals))
        previous = self._entries[index - 1].item["id"] if index > 0 else None
        self._entries.insert(index, _Entry(item=item, previous_item_id=previous))
        return previous

    def _index(self, item_id: str) -> int | None:
        return next((i for i, e in enumerate(self._entries) if e.item["id"] == item_id), None)
