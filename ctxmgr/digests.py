"""Fingerprints of chat items: what an apply compares to tell that an item changed.

A fingerprint is livekit's digest of an item's content (about 15 µs an item: JSON and
BLAKE2), with a message's text. ``Digests`` keeps each item's fingerprint while the
item stays the same object with the same content, so that an apply re-validating a
plan of a thousand items against the live context does not digest them all again.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import Any, cast

from livekit.agents import llm

from .slicing import in_slices

__all__ = ["Digests", "Fingerprint", "fingerprint", "fingerprints"]

Fingerprint = tuple[bytes, str]
"""An item's content digest, and its text (a message's; empty for other items)."""

_Known = tuple[llm.ChatItem, str, Any, Fingerprint]
"""An item, the attribute holding its content, that content then, its fingerprint."""


def fingerprint(item: llm.ChatItem) -> Fingerprint:
    """``item``'s content digest and text, now."""
    text = (item.raw_text_content or "") if isinstance(item, llm.ChatMessage) else ""
    return item._fingerprint(), text


def fingerprints(chat_ctx: llm.ChatContext, ids: Collection[str]) -> dict[str, Fingerprint]:
    """Content digests (and texts) of ``ids`` now, to recognise items that change before
    the apply."""
    wanted = set(ids)
    return {item.id: fingerprint(item) for item in chat_ctx.items if item.id in wanted}


class Digests:
    """Fingerprints kept by item: one is made again only for another object or new content.

    As for a ``Tally``, an item's content is the attribute that holds it (a message's
    content list, a call's arguments, an output's text); the rest of an item is read
    once per object: livekit replaces it, never changes it. (Kept only for the items of
    the plan being applied.)
    """

    def __init__(self) -> None:
        self._known: dict[str, _Known] = {}

    def of(self, item: llm.ChatItem) -> Fingerprint:
        """``fingerprint(item)``, from what is kept when ``item`` is unchanged."""
        known = self._known.get(item.id)
        if known is not None and known[0] is item and getattr(item, known[1]) == known[2]:
            return known[3]
        made = fingerprint(item)
        self._known[item.id] = (item, *probe(item), made)
        return made

    def of_ids(self, items: Sequence[llm.ChatItem], ids: Sequence[str]) -> dict[str, Fingerprint]:
        """``fingerprints`` of ``ids`` among ``items``."""
        found = list(map(self._known.get, ids))
        if None not in found:
            # the usual re-validation, at C speed: every item kept is in ``items`` as the
            # same object (kept alive here: its id() is its own), with the same content
            known = cast(list[_Known], found)
            objects = list(map(_OBJECT, known))
            held = set(map(id, items))
            if all(map(held.__contains__, map(id, objects))) and all(
                map(operator.eq, map(getattr, objects, map(_FIELD, known)), map(_PROBE, known))
            ):
                return dict(zip(ids, map(_FINGERPRINT, known)))
        wanted = set(ids)
        return {item.id: self.of(item) for item in items if item.id in wanted}

    async def taken(self, chat_ctx: llm.ChatContext, ids: Collection[str]) -> dict[str, Fingerprint]:
        """``fingerprints(chat_ctx, ids)``, the event loop running between slices; what
        is kept is only ``ids``' (those of the plan being applied)."""
        wanted = set(ids)
        self._known = {i: known for i, known in self._known.items() if i in wanted}
        items = [item for item in chat_ctx.items if item.id in wanted]
        return dict(zip((i.id for i in items), await in_slices(items, self.of)))

    def forget(self, ids: Collection[str]) -> None:
        """Drop what is kept of ``ids`` (items that left the context)."""
        for item_id in ids:
            self._known.pop(item_id, None)


_OBJECT, _FIELD, _PROBE, _FINGERPRINT = (itemgetter(n) for n in range(4))


def probe(item: llm.ChatItem) -> tuple[str, Any]:
    """The attribute that holds ``item``'s content, and a copy of it to compare with."""
    if isinstance(item, llm.ChatMessage):
        return "content", list(item.content)  # a copy: livekit fills the list in place
    if isinstance(item, llm.FunctionCall):
        return "arguments", item.arguments
    if isinstance(item, llm.FunctionCallOutput):
        return "output", item.output
    return "type", item.type
