import pytest
from livekit.agents import llm

from ctxmgr.compose import live_union, weave

pytestmark = pytest.mark.unit


def _m(i: str) -> llm.ChatMessage:
    return llm.ChatMessage(id=i, role="user", content=[i])


def _ids(items: list[llm.ChatItem]) -> list[str]:
    return [i.id for i in items]


def test_weave_keeps_primary_order_and_anchors_extras_after_their_predecessor() -> None:
    primary = [_m("a"), _m("c"), _m("e")]
    secondary = [_m("x"), _m("a"), _m("b"), _m("b2"), _m("c"), _m("d"), _m("e"), _m("f")]
    assert _ids(weave(primary, secondary)) == ["x", "a", "b", "b2", "c", "d", "e", "f"]


def test_weave_only_adds_the_named_extras() -> None:
    primary = [_m("a"), _m("c")]
    secondary = [_m("a"), _m("b"), _m("c"), _m("d")]
    assert _ids(weave(primary, secondary, only={"d"})) == ["a", "c", "d"]


def test_live_union_uses_server_order_local_objects_and_keeps_remote_only_items() -> None:
    sys_msg = llm.ChatMessage(id="sys", role="system", content=["be brief"])
    a, b = _m("a"), _m("b")
    local = llm.ChatContext([sys_msg, b, a])  # local order differs from the server's
    remote_a = _m("a")
    call = llm.FunctionCall(id="fc", call_id="c1", name="lookup", arguments="{}")
    remote = llm.ChatContext([remote_a, _m("b"), call])
    union = live_union(local, remote)
    assert _ids(union) == ["sys", "a", "b", "fc"]
    assert union[1] is a and union[3] is call


def test_live_union_without_remote_is_the_local_context() -> None:
    local = llm.ChatContext([_m("a"), _m("b")])
    assert live_union(local, None) == local.items
