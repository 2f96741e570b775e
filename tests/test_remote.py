"""The remote view: what the server has that the agent does not, and what it freezes."""

import pytest
from livekit.agents import llm

from ctxmgr.remote import is_placeholder, remote_view

pytestmark = pytest.mark.unit


def _m(i: str, role: str = "user") -> llm.ChatMessage:
    return llm.ChatMessage(id=i, role=role, content=[i])  # type: ignore[arg-type]


def _server_copy(items: list[llm.ChatItem]) -> llm.ChatContext:
    return llm.ChatContext([i.model_copy(deep=True) for i in items])


def test_pipeline_has_nothing_remote() -> None:
    assert remote_view(llm.ChatContext([_m("a")]), None).protected == frozenset()


def test_remote_only_item_protects_itself_and_everything_after() -> None:
    a, b, c = _m("a"), _m("b", "assistant"), _m("c")
    call = llm.FunctionCall(id="fc", call_id="x", name="lookup", arguments="{}")
    remote = _server_copy([a, b])
    remote.items.insert(1, call)
    remote.items.append(_server_copy([c]).items[0])
    view = remote_view(llm.ChatContext([a, b, c]), remote)
    assert view.remote_only == {"fc"}
    assert view.protected == {"fc", "b", "c"}


def test_livekit_placeholder_is_recognised_by_shared_extra() -> None:
    a = _m("a")
    remote = _server_copy([a])
    reply = _m("r", "assistant")
    remote.items.append(reply)
    placeholder = reply.model_copy()  # what livekit's remote_item_added handler appends
    view = remote_view(llm.ChatContext([a, placeholder]), remote)
    assert is_placeholder(placeholder, reply)
    assert view.placeholders == {"r"} and "r" in view.protected
    real = _m("r", "assistant")  # the real item after playout replaces the placeholder
    assert remote_view(llm.ChatContext([a, real]), remote).placeholders == frozenset()


def test_server_tail_is_always_protected() -> None:
    a, b = _m("a"), _m("b", "assistant")
    assert remote_view(llm.ChatContext([a, b]), _server_copy([a, b])).protected == {"b"}


def test_a_spoken_turn_copied_before_its_transcript_is_still_a_placeholder() -> None:
    """livekit copies the whole context on an interruption's sync or a handoff: the copy
    of a placeholder no longer shares the mirror's dict, yet it still waits for text."""
    a = _m("a")
    spoken = llm.ChatMessage(id="s", role="user", content=[])
    remote = _server_copy([a, spoken])
    copied = spoken.model_copy(deep=True)
    assert is_placeholder(copied, remote.items[1])
    assert remote_view(llm.ChatContext([a, copied]), remote).placeholders == {"s"}
    heard = llm.ChatMessage(id="s", role="user", content=["And tomorrow?"])
    assert not is_placeholder(heard, remote.items[1])  # the transcript arrived locally
    silent_reply = llm.ChatMessage(id="r", role="assistant", content=[])
    assert not is_placeholder(silent_reply, silent_reply.model_copy(deep=True))


def test_a_placeholder_a_later_user_turn_answered_long_ago_is_given_up_on() -> None:
    """A spoken turn never transcribed: it freezes what follows until the user spoke again
    (a settled user turn after it) and ``give_up_s`` passed; then it is settled."""
    spoken = llm.ChatMessage(id="s", role="user", content=[], created_at=100.0)
    reply, typed, last = _m("r", "assistant"), _m("u"), _m("z", "assistant")
    remote = _server_copy([spoken, reply, typed, last])
    placeholder = remote.items[0].model_copy()  # shares the mirror's dict
    local = llm.ChatContext([placeholder, reply, typed, last])
    view = remote_view(local, remote, give_up_s=10.0)
    assert view.answered == {"s"} and view.protected == {"z"}
    # not yet old enough (created now), or nothing settled from the user after it: frozen
    young = remote.items[0].model_copy(update={"created_at": 1e12})
    young_remote = llm.ChatContext([young, *remote.items[1:]])
    assert remote_view(local, young_remote, give_up_s=10.0).protected == {"s", "r", "u", "z"}
    unanswered = remote_view(llm.ChatContext([placeholder, reply]), _keep(remote, 2), give_up_s=0)
    assert unanswered.answered == frozenset() and unanswered.protected == {"s", "r"}


def _keep(ctx: llm.ChatContext, n: int) -> llm.ChatContext:
    return llm.ChatContext(ctx.items[:n])
