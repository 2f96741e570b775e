"""InMemoryBackend: the backend seam with no session, for testing appliers and policies.

```python
backend = InMemoryBackend(chat_ctx, remote=True)
backend.quiescent = False                 # a response is "in progress"
backend.fail_next_update = RuntimeError("boom")
applier = Applier(backend, counter=TokenCounter(), tail=TailWindow(2), quiescence_timeout_s=0.1)
```
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from livekit.agents import llm

from ..backends.base import ContextSource
from ..remote import remote_view, unsynced_ids

__all__ = ["InMemoryBackend"]


class InMemoryBackend:
    """A chat context in memory, optionally mirrored to a fake "server" copy.

    With ``remote=True`` the backend is two-step like a realtime session: every
    update is copied to ``remote`` after ``ack_delay_s`` (``None`` drops the
    acknowledgement, leaving the mirror stale).
    """

    def __init__(
        self,
        chat_ctx: llm.ChatContext | None = None,
        *,
        remote: bool = False,
        mutable: bool = True,
        ack_delay_s: float | None = 0.0,
    ) -> None:
        self.local = chat_ctx if chat_ctx is not None else llm.ChatContext()
        # the server's copy holds its own objects, as a realtime plugin's mirror does
        self.remote: llm.ChatContext | None = (
            llm.ChatContext([i.model_copy(deep=True) for i in self.local.items]) if remote else None
        )
        self.quiescent = True
        """Set to False to simulate a response in progress."""
        self.running = True
        """Set to False to simulate an agent not running (e.g. a handoff to it pending)."""
        self.fail_next_update: BaseException | None = None
        """Raised (once) by the next ``update`` instead of applying it."""
        self.ack_delay_s = ack_delay_s
        self.updates: list[list[str]] = []
        """Ids of every context passed to ``update``, in order."""
        self.on_update: Callable[[llm.ChatContext], None] | None = None
        """Called with each update before it is applied (to race it in tests)."""
        self._mutable = mutable

    @property
    def mutable(self) -> bool:
        return self._mutable

    @property
    def two_step(self) -> bool:
        return self.remote is not None

    def read_local(self) -> llm.ChatContext:
        return self.local

    def read_remote(self) -> llm.ChatContext | None:
        return self.remote

    def protected_ids(self, ignoring: Collection[str] = ()) -> frozenset[str]:
        return remote_view(self.local, self.remote, ignoring=ignoring).protected

    def pinned_ids(self) -> frozenset[str]:
        return unsynced_ids(self.local, self.remote)

    def is_running(self) -> bool:
        return self.running

    def is_quiescent(self) -> bool:
        return self.quiescent

    async def update(self, source: ContextSource) -> None:
        chat_ctx = source() if callable(source) else source
        self.updates.append([item.id for item in chat_ctx.items])
        if self.on_update is not None:
            self.on_update(chat_ctx)
        if self.fail_next_update is not None:
            error, self.fail_next_update = self.fail_next_update, None
            raise error
        self.local = llm.ChatContext(list(chat_ctx.items))
        if self.remote is not None and self.ack_delay_s is not None:
            await asyncio.sleep(self.ack_delay_s)
            known = {i.id: i for i in self.remote.items}
            self.remote = llm.ChatContext(
                [known.get(i.id) or i.model_copy(deep=True) for i in chat_ctx.items]
            )

    def append(self, item: llm.ChatItem, *, remote_only: bool = False) -> None:
        """A new item arrives: locally (and on the server), or on the server only."""
        if not remote_only:
            self.local.items.append(item)
        if self.remote is not None:
            self.remote.items.append(item.model_copy(deep=True))
