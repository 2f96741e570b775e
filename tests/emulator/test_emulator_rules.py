"""The emulator enforces the Realtime server's conversation rules (raw websocket client)."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from ctxmgr.testing.emulator import (
    CallTool,
    RealtimeServerEmulator,
    ResponsePlan,
    Say,
    Usage,
)

pytestmark = pytest.mark.emulator


class RawClient:
    """A bare websocket client: send events, read the server's in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def send(self, type_: str, **fields: Any) -> None:
        """Send one client event."""
        await self.ws.send_json({"type": type_, **fields})

    async def expect(self, type_: str, timeout: float = 2.0) -> dict[str, Any]:
        """Read until an event of this type arrives; earlier ones stay in ``received``."""
        deadline = time.monotonic() + timeout
        while True:
            event: dict[str, Any] = await self.ws.receive_json(
                timeout=max(0.01, deadline - time.monotonic())
            )
            self.received.append(event)
            if event["type"] == type_:
                return event

    async def create(self, text: str, item_id: str, previous: str | None = None) -> dict[str, Any]:
        """Create a user text item and return its ``conversation.item.added``."""
        await self.send_create(text, item_id, previous)
        return await self.expect("conversation.item.added")

    async def send_create(self, text: str, item_id: str, previous: str | None = None) -> None:
        """Send the create of a user text item (event id ``evt_<item_id>``)."""
        fields: dict[str, Any] = {"previous_item_id": previous} if previous else {}
        await self.send(
            "conversation.item.create",
            event_id=f"evt_{item_id}",
            item={
                "id": item_id,
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
            **fields,
        )


@pytest.fixture
async def client(emulator: RealtimeServerEmulator) -> AsyncIterator[RawClient]:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{emulator.url}/realtime?model=gpt-realtime") as ws:
            raw = RawClient(ws)
            await raw.expect("session.created")
            yield raw


async def test_created_item_chains_after_previous_item_id(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    await client.create("a", "item_a")
    await client.create("b", "item_b")
    added = await client.create("c", "item_c", previous="item_a")
    head = await client.create("z", "item_z", previous="root")

    assert added["previous_item_id"] == "item_a"
    assert head["previous_item_id"] is None
    assert emulator.item_ids == ["item_z", "item_a", "item_c", "item_b"]
    assert [i.text for i in emulator.conversation] == ["z", "a", "c", "b"]


async def test_unknown_previous_item_id_is_an_error_and_the_item_is_not_inserted(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    await client.create("a", "item_a")
    await client.send(
        "conversation.item.create",
        event_id="evt_orphan",
        previous_item_id="item_gone",
        item={"id": "item_x", "type": "message", "role": "user", "content": []},
    )
    error = (await client.expect("error"))["error"]

    assert error["code"] == "item_create_invalid_previous_item_id"
    assert error["event_id"] == "evt_orphan"
    assert error["param"] == "previous_item_id"
    assert "item_gone" in error["message"]
    assert emulator.item_ids == ["item_a"]


async def test_duplicate_item_id_is_an_error(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    await client.create("a", "item_a")
    await client.send(
        "conversation.item.create",
        event_id="evt_dup",
        item={"id": "item_a", "type": "message", "role": "user", "content": []},
    )
    error = (await client.expect("error"))["error"]

    assert (error["code"], error["event_id"]) == ("item_create_duplicate_item_id", "evt_dup")
    assert emulator.item_ids == ["item_a"]


async def test_delete_removes_the_item_and_an_unknown_id_is_an_error(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    await client.create("a", "item_a")
    await client.send("conversation.item.delete", event_id="evt_del", item_id="item_a")
    deleted = await client.expect("conversation.item.deleted")
    await client.send("conversation.item.delete", event_id="evt_again", item_id="item_a")
    error = (await client.expect("error"))["error"]

    assert deleted["item_id"] == "item_a"
    assert emulator.item_ids == []
    assert emulator.deleted_ids == ["item_a"]
    assert (error["code"], error["event_id"]) == ("item_delete_invalid_item_id", "evt_again")


async def test_response_echoes_the_client_event_id_and_streams_in_order(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    await client.send("session.update", session={"type": "realtime", "output_modalities": ["text"]})
    await client.expect("session.updated")
    await client.create("hi", "item_u")
    emulator.queue_response(ResponsePlan.say("hello there"))
    await client.send(
        "response.create",
        event_id="evt_resp",
        response={"metadata": {"client_event_id": "evt_resp"}},
    )
    created = await client.expect("response.created")
    done = await client.expect("response.done")

    assert created["response"]["metadata"] == {"client_event_id": "evt_resp"}
    streamed = [e["type"] for e in client.received[client.received.index(created) :]]
    assert streamed == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    assert done["response"]["status"] == "completed"
    assert [(i.role, i.text) for i in emulator.conversation] == [
        ("user", "hi"),
        ("assistant", "hello there"),
    ]


async def test_function_call_is_announced_before_its_arguments_are_done(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    await client.send(
        "session.update",
        session={"type": "realtime", "tools": [{"type": "function", "name": "lookup"}]},
    )
    await client.expect("session.updated")
    emulator.queue_response(ResponsePlan.call("lookup", '{"query": "x"}', dispatch_delay=0.2))
    await client.send("response.create")
    added = await client.expect("conversation.item.added")
    announced_at = time.monotonic()
    done = await client.expect("response.output_item.done")

    assert added["item"]["type"] == "function_call"
    assert added["item"]["arguments"] == ""
    assert time.monotonic() - announced_at >= 0.15
    assert done["item"]["arguments"] == '{"query": "x"}'
    assert emulator.conversation[0].arguments == '{"query": "x"}'


async def test_only_one_response_at_a_time(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    emulator.queue_response(ResponsePlan(outputs=(Say("slow", chunks=4, chunk_delay=0.1),)))
    await client.send("response.create", event_id="evt_1")
    created = await client.expect("response.created")
    await client.send("response.create", event_id="evt_2")
    error = (await client.expect("error"))["error"]

    assert error["code"] == "conversation_already_has_active_response"
    assert error["event_id"] == "evt_2"
    assert created["response"]["id"] in error["message"]


async def test_cancel_stops_the_response_and_without_one_is_an_error(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    emulator.queue_response(
        ResponsePlan(outputs=(Say("a long answer", chunks=5, chunk_delay=0.1),))
    )
    await client.send("response.create")
    await client.expect("response.content_part.added")
    await client.send("response.cancel", event_id="evt_cancel")
    done = await client.expect("response.done")
    await client.send("response.cancel", event_id="evt_cancel_again")
    error = (await client.expect("error"))["error"]

    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["response"]["output"][0]["status"] == "incomplete"
    assert error["code"] == "response_cancel_not_active"
    assert error["message"].startswith("Cancellation failed")


async def test_unsupported_and_invalid_events_get_a_clear_error(client: RawClient) -> None:
    await client.send("conversation.item.retrieve", event_id="evt_r", item_id="item_a")
    unsupported = (await client.expect("error"))["error"]
    await client.send("conversation.item.teleport", event_id="evt_t")
    unknown = (await client.expect("error"))["error"]
    await client.send("conversation.item.create", event_id="evt_m")
    malformed = (await client.expect("error"))["error"]

    assert (unsupported["code"], unsupported["event_id"]) == ("emulator_unsupported_event", "evt_r")
    assert "conversation.item.retrieve" in unsupported["message"]
    assert (unknown["code"], unknown["param"]) == ("invalid_value", "type")
    assert (malformed["code"], malformed["param"]) == ("missing_required_parameter", "item")


async def test_committed_response_keeps_its_anchor_after_the_anchor_is_deleted(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    await client.create("a", "item_a")
    response = emulator.commit_response(ResponsePlan.say("late"), held=True)
    await client.create("b", "item_b")
    await client.send("conversation.item.delete", item_id="item_a")
    await client.expect("conversation.item.deleted")
    response.release()
    added = await client.expect("conversation.item.added")

    assert response.anchor == "item_a"
    assert added["previous_item_id"] == "item_a"
    assert emulator.item_ids == ["item_b", response.item_ids[0]]
    assert emulator.conversation[-1].stale_anchor


async def test_rejecting_server_leaves_a_stale_anchored_item_out(
    emulator: RealtimeServerEmulator,
) -> None:
    emulator.stale_anchor_policy = "reject"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{emulator.url}/realtime") as ws:
            client = RawClient(ws)
            await client.create("a", "item_a")
            response = emulator.commit_response(ResponsePlan.say("late"), held=True)
            await client.send("conversation.item.delete", item_id="item_a")
            await client.expect("conversation.item.deleted")
            response.release()
            error = (await client.expect("error"))["error"]
            await client.expect("response.done")

    assert error["code"] == "item_create_invalid_previous_item_id"
    assert error["event_id"] is None
    assert emulator.item_ids == []
    assert "conversation.item.added" not in [e["type"] for e in client.received[-12:]]


async def test_reported_usage_is_the_scripted_one(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    emulator.queue_response(
        ResponsePlan.say("ok", usage=Usage(input_tokens=1500, output_tokens=12, cached_tokens=1024))
    )
    await client.send("response.create")
    usage = (await client.expect("response.done"))["response"]["usage"]

    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
        1500,
        12,
        1512,
    )
    assert usage["input_token_details"]["cached_tokens"] == 1024


async def test_acks_can_be_delayed_or_dropped_while_the_change_applies(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    emulator.delay_acks(0.3, "create", count=1)
    started = time.monotonic()
    await client.create("a", "item_a")
    delayed_by = time.monotonic() - started
    emulator.drop_acks("delete")
    await client.send("conversation.item.delete", item_id="item_a")
    await emulator.wait_until(lambda: emulator.item_ids == [])
    await client.create("b", "item_b")

    assert delayed_by >= 0.25
    assert [e["type"] for e in emulator.dropped_acks] == ["conversation.item.deleted"]
    assert "conversation.item.deleted" not in [e["type"] for e in client.received]


async def test_audio_buffer_commit_needs_100_ms(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    await client.send("input_audio_buffer.commit", event_id="evt_empty")
    error = (await client.expect("error"))["error"]
    silence = base64.b64encode(bytes(48 * 200)).decode()  # 200 ms of pcm16 at 24 kHz
    await client.send("input_audio_buffer.append", audio=silence)
    await client.send("input_audio_buffer.commit")
    committed = await client.expect("input_audio_buffer.committed")

    assert error["code"] == "input_audio_buffer_commit_empty"
    assert emulator.item_ids == [committed["item_id"]]
    assert emulator.conversation[0].role == "user"


async def test_truncate_drops_the_transcript_of_assistant_audio(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    response = emulator.commit_response(ResponsePlan.say("unheard words"))
    await response.wait_done()
    await client.send(
        "conversation.item.truncate", item_id=response.item_ids[0], content_index=0, audio_end_ms=0
    )
    truncated = await client.expect("conversation.item.truncated")

    assert truncated["item_id"] == response.item_ids[0]
    assert emulator.conversation[0].text == ""


async def test_truncating_an_unknown_item_is_an_error(client: RawClient) -> None:
    await client.send(
        "conversation.item.truncate",
        event_id="evt_trunc",
        item_id="item_nope",
        content_index=0,
        audio_end_ms=10,
    )
    error = (await client.expect("error"))["error"]

    assert (error["code"], error["event_id"]) == ("item_truncate_invalid_item_id", "evt_trunc")


async def test_server_response_with_user_turn_chains_after_it(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    await client.create("a", "item_a")
    response = emulator.commit_response(ResponsePlan.say("sure"), user_transcript="what now")
    await response.wait_done()

    assert response.anchor == emulator.item_ids[1]
    assert [(i.role, i.text) for i in emulator.conversation] == [
        ("user", "a"),
        ("user", "what now"),
        ("assistant", "sure"),
    ]


async def test_scripted_call_to_an_unknown_tool_fails_the_response(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    emulator.queue_response(ResponsePlan(outputs=(CallTool("not_a_tool"),)))
    await client.send("response.create")
    done = await client.expect("response.done")

    assert done["response"]["status"] == "failed"
    assert done["response"]["status_details"]["error"]["code"] == "emulator_tool_not_available"
    assert emulator.item_ids == []


async def test_a_refused_change_gets_a_server_error_and_is_not_applied(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    emulator.refuse_changes("create", count=1)
    await client.send_create("x", "item_x")
    error = (await client.expect("error"))["error"]
    await client.send_create("y", "item_y", previous="item_x")
    chained = (await client.expect("error"))["error"]
    await client.create("a", "item_a")  # the rule was for one create only
    emulator.refuse_changes("delete", item_ids={"item_a"})
    await client.send("conversation.item.delete", event_id="evt_del", item_id="item_a")
    refused_delete = (await client.expect("error"))["error"]

    assert (error["type"], error["event_id"]) == ("server_error", "evt_item_x")
    assert refused_delete["event_id"] == "evt_del"
    assert chained["code"] == "item_create_invalid_previous_item_id"
    # item_y never got on because of the refusal: the harness counts it with it
    assert emulator.item_ids == ["item_a"]
    assert emulator.refused == ["item_x", "item_y", "item_a"]


async def test_a_refusal_by_role_spares_creates_of_other_roles(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    emulator.refuse_changes("create", count=1, role="user")
    note = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "n"}]}
    await client.send("conversation.item.create", event_id="evt_s", item={**note, "id": "item_s"})
    await client.expect("conversation.item.added")
    await client.send_create("x", "item_x")
    error = (await client.expect("error"))["error"]
    await client.create("y", "item_y")  # one user create only

    assert error["event_id"] == "evt_item_x"
    assert emulator.item_ids == ["item_s", "item_y"]
    assert emulator.refused == ["item_x"]


async def test_user_audio_is_transcribed_after_the_set_delay(
    client: RawClient, emulator: RealtimeServerEmulator
) -> None:
    emulator.transcription_delay = 0.2
    response = emulator.commit_response(ResponsePlan.say("sure"), user_transcript="what now")
    added = await client.expect("conversation.item.added")
    assert added["item"]["content"][0]["transcript"] is None
    assert emulator.transcribing == 1 and emulator.conversation[0].text == ""
    done = await client.expect("conversation.item.input_audio_transcription.completed")
    await response.wait_done()

    assert (done["item_id"], done["transcript"]) == (added["item"]["id"], "what now")
    assert emulator.transcribing == 0 and emulator.conversation[0].text == "what now"
