"""The backend protocol: read local, read remote, update, is quiescent."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from livekit.agents import llm

__all__ = ["Backend"]


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

    def protected_ids(self) -> frozenset[str]:
        """Ids no update may delete: remote-only items, placeholders, all after them."""
        ...

    def is_quiescent(self) -> bool:
        """True when no response is being generated, spoken or executed."""
        ...

    async def update(self, chat_ctx: llm.ChatContext) -> None:
        """Make ``chat_ctx`` the context (locally, and on the server when there is one)."""
        ...
