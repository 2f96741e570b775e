"""Build the contexts an apply sends: the live union of local and remote, in the server's order.

An ``update_chat_ctx`` on a realtime session diffs the context it is given
against the remote mirror: a remote item missing from it is deleted, and shared
items whose relative order differs are deleted and re-created (assistant audio
comes back only as text). So every context ctxmgr sends holds every remote item
it does not mean to delete, in the server's order, with the local items the
server does not have anchored after the latest (in the server's order) of the items
before them locally, and of the remote items that arrived before they were made.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from livekit.agents import llm

__all__ = ["weave", "live_union"]


def weave(
    primary: Sequence[llm.ChatItem],
    secondary: Sequence[llm.ChatItem],
    *,
    only: Collection[str] | None = None,
    arrived: Sequence[float] | None = None,
) -> list[llm.ChatItem]:
    """``primary`` in its order, plus the items of ``secondary`` it lacks.

    Each added item goes right after the item that comes last in ``primary`` among
    those before it in ``secondary`` (at the start when there is none), so runs keep
    their order and an added item never lands before anything that preceded it in
    ``secondary``: when the two orders differ (livekit orders its copy by creation
    time), a typed turn the server refused is not sent back before a turn the server
    had first (chaos seeds 503, 538).

    Args:
        primary: the order to keep.
        secondary: where the extra items come from, and their anchors.
        only: add only these ids from ``secondary`` (default: every missing item).
        arrived: when each ``primary`` item arrived (``created_at``); an added item then
            also goes after every primary item that arrived before it was created, as
            if it had been sent when it was made (livekit anchors a create to the
            mirror's last item).
    """
    position = {item.id: n for n, item in enumerate(primary)}
    followers: dict[str | None, list[llm.ChatItem]] = {}
    anchor: str | None = None
    latest = -1  # the position in ``primary`` of the latest placed item seen so far
    for item in secondary:
        if item.id in position:
            if position[item.id] > latest:
                anchor, latest = item.id, position[item.id]
            continue
        if only is not None and item.id not in only:
            continue
        if arrived is not None:
            last = max((n for n, at in enumerate(arrived) if at <= item.created_at), default=-1)
            if last > latest:
                anchor, latest = primary[last].id, last
        followers.setdefault(anchor, []).append(item)
        anchor = item.id
    # an added item can itself anchor later ones: emit recursively
    result: list[llm.ChatItem] = []

    def emit(item: llm.ChatItem) -> None:
        result.append(item)
        for follower in followers.pop(item.id, ()):
            emit(follower)

    for item in followers.pop(None, ()):
        emit(item)
    for item in primary:
        emit(item)
    return result


def live_union(local: llm.ChatContext, remote: llm.ChatContext | None) -> list[llm.ChatItem]:
    """The server's items in the server's order (local objects where the agent has them),
    with the local-only items woven in after everything before them locally and every
    remote item that arrived before they were made."""
    if remote is None:
        return list(local.items)
    local_by_id = {item.id: item for item in local.items}
    server_order = [local_by_id.get(item.id, item) for item in remote.items]
    return weave(server_order, local.items, arrived=[item.created_at for item in remote.items])
