"""The backend protocol: read local, read remote, update, is quiescent."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol, Union, runtime_checkable

from livekit.agents import llm

__all__ = ["Backend", "ContextSource"]

ContextSource = Union[llm.ChatContext, Callable[[], llm.ChatContext]]
"""A context, or a function that builds it: built at the last moment, right before the
update is diffed, so that nothing that arrived meanwhile is left out."""


@runtime_checkable
class Backend(Protocol):
    """Where a compaction lands. The applier is one code path over this seam."""

    @property
    def mutable(self) -> bool:
        """False for append-only models: nothing may be deleted."""
        ...

    @property
    def two_step(self) -> bool:
        """True when an update reaches a server: insert the summary, confirm, then delete."""
        ...

    def read_local(self) -> llm.ChatContext:
        """The live local context (not a copy: do not mutate it)."""
        ...

    def read_remote(self) -> llm.ChatContext | None:
        """The server's conversation as last seen (the remote mirror), or None without one."""
        ...

    def protected_ids(self, ignoring: Collection[str] = ()) -> frozenset[str]:
        """Ids no update may delete: remote-only items, placeholders, all after them
        (computed without the items in ``ignoring``)."""
        ...

    def pinned_ids(self) -> frozenset[str]:
        """Ids no update may delete, one by one: local items the server never confirmed."""
        ...

    def is_running(self) -> bool:
        """False while the context belongs to someone else (an agent not running in a
        session): nothing may be compacted then."""
        ...

    def is_quiescent(self) -> bool:
        """True when no response is being generated, spoken or executed."""
        ...

    async def update(self, source: ContextSource) -> None:
        """Make the context what ``source`` is or builds (locally, and on the server)."""
        ...
