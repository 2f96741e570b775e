"""The summarizer renders like livekit, folds the summary so far, fails only as SummarizerError."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from livekit.agents import APIConnectOptions, llm
from livekit.agents.llm.chat_context import to_xml

from ctxmgr import SummarizerError, SummarizerSettings, TokenCounter, slicing
from ctxmgr.chat_items import is_summary
from ctxmgr.handover import parse_handover
from ctxmgr.field_checks import CHOICE_SYSTEM
from ctxmgr.summarizer import (
    ADDRESS_QUESTION, DEFAULT_PROMPT, EARLIER_HANDOVER, YES_OR_NO, Summarizer, SummaryResult,
    summary_message,
)
from ctxmgr.testing.fake_llm import FakeLLM, Responder

pytestmark = pytest.mark.unit


def _msg(role: llm.ChatRole, text: str, **extra: object) -> llm.ChatMessage:
    return llm.ChatMessage(role=role, content=[text], extra=dict(extra))


def _call(call_id: str = "c1") -> llm.FunctionCall:
    return llm.FunctionCall(call_id=call_id, name="lookup_order", arguments='{"order": 4417}')


def _output(
    call_id: str = "c1", *, output: str = "shipped on 3 May", is_error: bool = False
) -> llm.FunctionCallOutput:
    return llm.FunctionCallOutput(
        call_id=call_id, name="lookup_order", output=output, is_error=is_error
    )


def _prompt(fake: FakeLLM, call: int = -1) -> str:
    return fake.calls[call].messages()[-1].text_content or ""


def _system(fake: FakeLLM, call: int = -1) -> str:
    return fake.calls[call].messages()[0].text_content or ""


def _sent(fake: FakeLLM, call: int = -1) -> str:
    return f"{_system(fake, call)}\n{_prompt(fake, call)}"


def _forms(*forms: str, answer: Callable[[str], str] = lambda question: "Yes.") -> Responder:
    """A responder giving ``forms`` in turn to summary requests, and ``answer(question)``
    to the yes/no questions."""
    queue = list(forms)

    def respond(chat_ctx: llm.ChatContext, tools: object) -> str:
        messages = chat_ctx.messages()
        if messages[0].text_content in (YES_OR_NO, CHOICE_SYSTEM):
            return answer(messages[-1].text_content or "")
        return queue.pop(0)

    return respond


def _questions(fake: FakeLLM) -> list[str]:
    return [
        call.messages()[-1].text_content or ""
        for call in fake.calls
        if call.messages()[0].text_content in (YES_OR_NO, CHOICE_SYSTEM)
    ]


async def test_items_are_rendered_in_order_after_the_summary_so_far() -> None:
    earlier = _msg(
        "assistant", to_xml("chat_history_summary", "Ana called about order 4417."), is_summary=True
    )
    items = [_msg("user", "It has not arrived."), _msg("assistant", "Let me check on that.")]
    async with FakeLLM(["Ana's order 4417 is late."]) as fake:
        custom = SummarizerSettings(prompt="Summarize.")
        await Summarizer(fake, custom).summarize(items, previous_summaries=[earlier])
    prompt = _prompt(fake)
    expected = [
        "Summary so far:",
        "<summary_so_far>\nAna called about order 4417.\n</summary_so_far>",
        "<user>\nIt has not arrived.\n</user>",
        "<assistant>\nLet me check on that.\n</assistant>",
    ]
    positions = [prompt.find(part) for part in expected]
    assert -1 not in positions and positions == sorted(positions)
    assert "<chat_history_summary>" not in prompt  # the earlier summary is unwrapped, not nested


async def test_the_default_prompt_shows_the_earlier_handover_after_the_form() -> None:
    # shown without the ledgers' quotes: a small model copies quoted sentences
    quoted = FORM_ANSWER.replace(
        "The user promised: none", 'The user promised: "I\'ll bring my MRI letter."'
    )
    earlier = _msg("assistant", to_xml("chat_history_summary", quoted), is_summary=True)
    async with FakeLLM(["User's name: Ana Lopez"]) as fake:
        result = await Summarizer(fake).summarize(
            [_msg("user", "It has not arrived.")], previous_summaries=[earlier]
        )
    system, prompt = _system(fake), _prompt(fake)
    shown = parse_handover(FORM_ANSWER)
    assert shown is not None
    assert system.endswith(EARLIER_HANDOVER + shown.render())
    assert "MRI" not in system
    assert 'The user promised: "I\'ll bring my MRI letter."' in result.text  # merged back
    assert system.startswith(DEFAULT_PROMPT.replace("{max_summary_tokens}", "400"))
    assert prompt == "Conversation to summarize:\n\n<user>\nIt has not arrived.\n</user>"


async def test_function_calls_and_outputs_are_rendered_like_livekit() -> None:
    items: list[llm.ChatItem] = [
        _call("c1"),
        _output("c1"),
        _call("c2"),
        _output("c2", output="not found", is_error=True),
    ]
    async with FakeLLM(["Order 4417 shipped on 3 May."]) as fake:
        await Summarizer(fake).summarize(items)
    prompt = _prompt(fake)
    call = '<function_call name="lookup_order" call_id="c1">\n{"order": 4417}\n</function_call>'
    output = (
        '<function_call_output call_id="c1" name="lookup_order">\n'
        "shipped on 3 May\n</function_call_output>"
    )
    assert call in prompt
    assert output in prompt
    assert prompt.index(call) < prompt.index(output)
    assert "<error>\nnot found\n</error>" in prompt


async def test_instructions_config_updates_and_handoffs_are_not_rendered() -> None:
    items: list[llm.ChatItem] = [
        _msg("system", "SECRET INSTRUCTIONS"),
        _msg("developer", "DEVELOPER NOTE"),
        llm.AgentConfigUpdate(instructions="NEW INSTRUCTIONS"),
        llm.AgentHandoff(old_agent_id="a", new_agent_id="b"),
        _msg("user", "My name is Ana."),
    ]
    async with FakeLLM(["Ana called."]) as fake:
        await Summarizer(fake).summarize(items)
    prompt = _prompt(fake)
    assert "<user>\nMy name is Ana.\n</user>" in prompt
    for hidden in ("SECRET", "DEVELOPER", "NEW INSTRUCTIONS", "<system>", "<developer>"):
        assert hidden not in prompt


async def test_a_summary_among_the_items_is_folded_once_as_the_summary_so_far() -> None:
    earlier = _msg("system", "Ana called about order 4417.", is_summary=True)
    items = [earlier, _msg("user", "Any news?")]
    async with FakeLLM(["Ana asked for news on order 4417."]) as fake:
        await Summarizer(fake).summarize(items, previous_summaries=[earlier])
    assert _sent(fake).count("Ana called about order 4417.") == 1


async def test_builtin_prompt_asks_to_keep_facts_and_stay_under_the_bound() -> None:
    settings = SummarizerSettings(max_summary_tokens=123)
    async with FakeLLM(["Ana called."]) as fake:
        await Summarizer(fake, settings).summarize([_msg("user", "I am Ana.")])
    system = _system(fake).lower()
    asks = ("names", "numbers", "dates", "addresses", "phone", "promised", "open tasks")
    for ask in (*asks, "tool results"):
        assert ask in system
    assert system.endswith(EARLIER_HANDOVER.lower() + "none yet")
    assert "at most 123 tokens" in system


async def test_settings_prompt_replaces_the_builtin_prompt() -> None:
    settings = SummarizerSettings(
        prompt="Summarize in {max_summary_tokens} tokens, in French.", max_summary_tokens=50
    )
    async with FakeLLM(["Ana a appelé."]) as fake:
        await Summarizer(fake, settings).summarize([_msg("user", "I am Ana.")])
    assert _system(fake) == "Summarize in 50 tokens, in French."


async def test_nothing_to_summarize_is_an_error_and_the_llm_is_not_called() -> None:
    async with FakeLLM(["unused"]) as fake:
        with pytest.raises(SummarizerError, match="nothing to summarize"):
            await Summarizer(fake).summarize([_msg("system", "instructions"), _msg("user", "  ")])
    assert fake.calls == []


async def test_timeout_becomes_a_summarizer_error_quickly() -> None:
    settings = SummarizerSettings(timeout_s=0.05)
    async with FakeLLM(["too late"], delay_s=5) as fake:
        started = time.perf_counter()
        with pytest.raises(SummarizerError, match="timed out") as caught:
            await Summarizer(fake, settings).summarize([_msg("user", "I am Ana.")])
    assert time.perf_counter() - started < 1.0
    assert isinstance(caught.value.__cause__, asyncio.TimeoutError)


async def test_llm_exception_becomes_a_summarizer_error_with_the_cause() -> None:
    boom = ConnectionError("provider down")
    async with FakeLLM(["never"], fail_with=boom) as fake:
        with pytest.raises(SummarizerError) as caught:
            await Summarizer(fake).summarize([_msg("user", "I am Ana.")])
    assert caught.value.__cause__ is boom


async def test_empty_summary_is_an_error() -> None:
    async with FakeLLM(["   \n "]) as fake:
        with pytest.raises(SummarizerError, match="empty"):
            await Summarizer(fake).summarize([_msg("user", "I am Ana.")])


async def test_cancellation_propagates_and_closes_the_stream() -> None:
    async with FakeLLM(["too late"], delay_s=5) as fake:
        task = asyncio.create_task(Summarizer(fake).summarize([_msg("user", "I am Ana.")]))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    running = [t for t in asyncio.all_tasks() if t.get_name() == "LLM._main_task" and not t.done()]
    assert running == []


async def test_reported_usage_is_recorded() -> None:
    async with FakeLLM(["Ana called about order 4417."]) as fake:
        result = await Summarizer(fake).summarize([_msg("user", "I am Ana, order 4417.")])
    usage = fake.usages[-1]
    assert result.input_tokens == usage.prompt_tokens
    assert result.output_tokens == usage.completion_tokens
    assert result.usage_reported
    assert result.duration_s >= 0


async def test_tokens_are_counted_when_no_usage_is_reported() -> None:
    counter = TokenCounter()
    async with FakeLLM(["Ana called about order 4417."], report_usage=False) as fake:
        result = await Summarizer(fake, counter=counter).summarize([_msg("user", "I am Ana.")])
    assert not result.usage_reported
    assert result.output_tokens == counter.count_text("Ana called about order 4417.")
    assert result.input_tokens == TokenCounter().count(fake.calls[-1])


async def test_counting_a_prompt_leaves_a_shared_counter_cache_as_it_was() -> None:
    counter = TokenCounter()
    live = llm.ChatContext([_msg("user", f"turn {n}") for n in range(100)])
    counter.count(live)
    async with FakeLLM(["Ana called."], report_usage=False) as fake:
        await Summarizer(fake, counter=counter).summarize([_msg("user", "I am Ana.")])
    assert counter.cached_items == 100
    calls_before = counter.encode_calls
    counter.count(live)
    assert counter.encode_calls == calls_before  # nothing had to be encoded again


async def test_each_request_gets_a_fresh_id() -> None:
    async with FakeLLM() as fake:  # default responder: extractive summary
        summarizer = Summarizer(fake)
        one = await summarizer.summarize([_msg("user", "I am Ana.")])
        two = await summarizer.summarize([_msg("user", "I am Ana.")])
        named = await summarizer.summarize([_msg("user", "I am Ana.")], request_id="r-7")
    assert one.request_id != two.request_id
    assert named.request_id == "r-7"


async def test_fake_llm_summary_keeps_names_and_numbers() -> None:
    items = [
        _msg("user", "Hi there. This is Ana Souza calling about order 4417."),
        _msg("assistant", "Thanks for waiting. I promise a refund by 3 May."),
    ]
    async with FakeLLM() as fake:
        result = await Summarizer(fake).summarize(items)
    assert result.text == "This is Ana Souza calling about order 4417. I promise a refund by 3 May."


def test_summary_message_carries_livekit_marker_and_ctxmgr_bookkeeping() -> None:
    result = SummaryResult(
        text="Ana called.", request_id="r-1", input_tokens=10, output_tokens=3, duration_s=0.1
    )
    message = summary_message(result, role="system", created_at=123.0, folded_ids=["u1", "a2"])
    assert is_summary(message)
    assert message.role == "system" and message.created_at == 123.0
    assert message.content == [to_xml("chat_history_summary", "Ana called.")]
    assert message.extra["ctxmgr"] == {"request_id": "r-1", "folded_ids": ["u1", "a2"]}


async def test_a_summary_message_is_folded_by_the_next_summary() -> None:
    first = SummaryResult(
        text="Ana called about order 4417.",
        request_id="r-1",
        input_tokens=1,
        output_tokens=1,
        duration_s=0,
    )
    message = summary_message(first, role="assistant", created_at=1.0, folded_ids=["u1"])
    async with FakeLLM(["Ana's order 4417 is late."]) as fake:
        await Summarizer(fake).summarize(
            [_msg("user", "Still waiting.")], previous_summaries=[message]
        )
    assert _system(fake).endswith(EARLIER_HANDOVER + "Ana called about order 4417.")


async def test_summary_text_is_logged_only_as_pii_extra(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ctxmgr")
    async with FakeLLM(["Ana Souza lives at 12 Elm Street."]) as fake:
        await Summarizer(fake).summarize([_msg("user", "I am Ana Souza, 12 Elm Street.")])
    records = [r for r in caplog.records if r.name == "ctxmgr"]
    assert records and all("Ana" not in r.getMessage() for r in records)
    pii = [getattr(r, "lk.pii.summary") for r in records if hasattr(r, "lk.pii.summary")]
    assert pii == ["Ana Souza lives at 12 Elm Street."]


async def test_a_summary_over_max_summary_tokens_is_cut_at_a_sentence_end() -> None:
    long = " ".join(f"Fact {n}: order {4400 + n} ships to {n} Baker Street." for n in range(60))
    counter = TokenCounter()
    settings = SummarizerSettings(max_summary_tokens=50)
    async with FakeLLM([long]) as fake:
        result = await Summarizer(fake, settings, counter=counter).summarize([_msg("user", "hi")])
    assert result.truncated and counter.count_text(result.text) <= 50
    assert result.text.endswith("Street.") and long.startswith(result.text)
    async with FakeLLM(["Short and sweet."]) as fake:
        short = await Summarizer(fake, settings, counter=counter).summarize([_msg("user", "hi")])
    assert not short.truncated and short.text == "Short and sweet."


async def test_each_attempt_gets_the_summarizer_timeout_not_livekits_10_s() -> None:
    # a self-hosted model reading a long span for more than livekit's default 10 s
    # before its first token failed and was retried (billed again) whatever timeout_s said
    seen: list[APIConnectOptions] = []

    class Recording(FakeLLM):
        def chat(self, **kwargs: Any) -> Any:
            seen.append(kwargs["conn_options"])
            return super().chat(**kwargs)

    async with Recording(["Ana called."]) as fake:
        await Summarizer(fake, SummarizerSettings(timeout_s=90)).summarize([_msg("user", "Hi")])
    assert [o.timeout for o in seen] == [90]


FORM_ANSWER = """\
User's name: Ana Lopez
Phone number to use (and any number not to use): 01223 760 114 (not 01223 760 000)
Current address: 9 Mill Road, Cambridge
Ids and amounts: P-20417; 15 pound fee
The assistant promised: move to Friday the 17th; waive the 15 pound fee
The user promised: none
Preferences: a female physiotherapist
Tool results: none
Open tasks: none
What happened (two sentences): Ana moved her appointment."""

ANA = _msg(
    "user",
    "I'm Ana Lopez, patient P-20417, at 9 Mill Road, Cambridge. Ring 01223 760 114,"
    " not 01223 760 000. Friday the 17th is fine, and the fee was 15 pounds.",
)
"""A turn that gives what FORM_ANSWER holds: an answer's values must come from the span."""


async def test_the_default_handover_is_folded_field_by_field_into_the_earlier_one() -> None:
    # the model corrects the address, drops the id and a promise, and adds a tool result:
    # the correction replaces the old value, the dropped entries stay
    later = """\
Summary so far:
<summary_so_far>
User's name: Ana Lopez
Current address: 27 Hills Road, Cambridge
Ids and amounts: none
The assistant promised: waive the 15 pound fee
The user promised: bring the MRI letter
Tool results: referral R-3390, valid
What happened: Ana moved house."""
    async with FakeLLM(_forms(FORM_ANSWER, later)) as fake:
        summarizer = Summarizer(fake)
        first = await summarizer.summarize([ANA])
        earlier = _msg("system", first.text, is_summary=True)
        moved = _msg("user", "I moved to 27 Hills Road, Cambridge.")
        referral = _output(output="referral R-3390, valid")
        second = await summarizer.summarize(
            [moved, _call(), referral], previous_summaries=[earlier]
        )
    assert "Current address: 27 Hills Road, Cambridge\n" in second.text
    assert "9 Mill Road" not in second.text
    # a field with several entries is a list under its label, one entry a line
    assert "Ids and amounts:\n- P-20417\n- 15 pound fee\n" in second.text
    assert (
        "The assistant promised:\n- move to Friday the 17th\n- waive the 15 pound fee\n"
        in second.text
    )
    assert "The user promised: bring the MRI letter\n" in second.text
    assert "Phone number to use: 01223 760 114 (not 01223 760 000)\n" in second.text
    assert "Tool results: lookup_order: R-3390\n" in second.text  # the tool's ledger
    assert "summary_so_far" not in second.text


async def test_what_the_user_said_they_will_do_is_kept_in_their_words() -> None:
    # the model gives the user's promise to nobody; the span's own words are kept
    async with FakeLLM([FORM_ANSWER]) as fake:
        result = await Summarizer(fake).summarize([
            ANA,
            _msg("user", "Thanks. I'll bring my MRI letter. Will I need a referral?"),
            _msg("assistant", "I will note that. I'll call you on Friday."),
        ])
    assert 'The user promised: "I\'ll bring my MRI letter."\n' in result.text
    # the assistant's, when dated; FORM_ANSWER's own two promises stay beside
    assert '- "I\'ll call you on Friday."\n' in result.text
    assert "I will note that" not in result.text
    assert "referral" not in result.text  # a question is no promise


async def test_the_id_read_back_and_what_the_user_asked_for_are_kept_whatever_the_model_wrote() -> None:
    dropped = FORM_ANSWER.replace("P-20417; 15 pound fee", "none").replace(
        "a female physiotherapist", "none"
    )
    span = [
        ANA,
        _msg("user", "My card is AB-1234. Please use the side entrance, the lift is broken."),
        _msg("assistant", "Thanks, AB-1234 it is."),
    ]
    async with FakeLLM([dropped]) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "Ids and amounts: AB-1234\n" in result.text
    assert 'Preferences: "Please use the side entrance, the lift is broken."\n' in result.text


async def test_a_name_the_user_spelled_replaces_the_one_the_model_gave_unless_it_holds_it() -> None:
    # the model names the neighbour who dialled; the user spelled his own name
    span = [
        ANA,
        _msg("user", "It's Carol, from next door, dialling for him. Wilf, speak up."),
        _msg("user", "Wilfred Penhaligon. P, E, N, H, A, L, I, G, O, N."),
    ]
    wrong = FORM_ANSWER.replace("User's name: Ana Lopez", "User's name: Carol")
    async with FakeLLM([wrong]) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "User's name: Wilfred Penhaligon\n" in result.text
    assert "Carol" not in result.text
    # a fuller name that holds the spelled word stands
    span[-1] = _msg("user", "Lopez. L-O-P-E-Z. Ana is fine.")
    async with FakeLLM([FORM_ANSWER]) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "User's name: Ana Lopez\n" in result.text


async def test_the_name_the_assistant_calls_the_user_by_replaces_the_model_s_other_one() -> None:
    span = [
        _msg("user", "Hello, my neighbour Ray Dunmore dialled for me. Edie Marsh speaking."),
        _msg("assistant", "Hello Mrs Marsh, how can I help?"),
        ANA,
    ]
    wrong = FORM_ANSWER.replace("User's name: Ana Lopez", "User's name: Ray Dunmore")
    async with FakeLLM(_forms(wrong)) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "User's name: Edie Marsh\n" in result.text


async def test_an_id_the_model_gives_as_the_phone_gives_way() -> None:
    span = [
        ANA,
        _msg("user", "My policy is 5512 0093 17."),
        _msg("assistant", "5512 0093 17, thank you."),
    ]
    answer = FORM_ANSWER.replace("01223 760 114 (not 01223 760 000)", "5512 0093 17")
    async with FakeLLM(_forms(answer)) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "Ids and amounts:\n- P-20417\n- 15 pound fee\n- 5512 0093 17\n" in result.text
    assert "Phone number to use: 5512" not in result.text


async def test_the_earlier_name_stands_over_someone_the_span_talks_about_or_the_agent() -> None:
    earlier = _msg("system", FORM_ANSWER, is_summary=True)
    span = [
        _msg("assistant", "Kerry speaking. Does your husband Luis still book for you?"),
        _msg("user", "Luis does, yes, but he's away. Thanks, Kerry."),
    ]
    for written in ("Luis", "Kerry"):
        answer = FORM_ANSWER.replace("User's name: Ana Lopez", f"User's name: {written}")
        async with FakeLLM(_forms(answer)) as fake:
            result = await Summarizer(fake).summarize([earlier, *span])
        assert "User's name: Ana Lopez\n" in result.text, written


async def test_a_story_naming_someone_the_form_does_not_is_left_out() -> None:
    # Luis is the physio another patient saw: the model's story gets it wrong
    told = "Ana moved her appointment. Luis booked it for her on 01223 760 000."
    async with FakeLLM([FORM_ANSWER.replace("Ana moved her appointment.", told)]) as fake:
        result = await Summarizer(fake).summarize([ANA])
    assert result.text.endswith("\nWhat happened: Ana moved her appointment.")


async def test_a_form_filled_with_what_no_one_said_leaves_the_earlier_values() -> None:
    placeholder = FORM_ANSWER.replace("Ana Lopez", "John Doe").replace(
        "9 Mill Road, Cambridge", "123 Main St, Anytown"
    )
    async with FakeLLM(_forms(FORM_ANSWER, placeholder)) as fake:
        summarizer = Summarizer(fake)
        first = await summarizer.summarize([ANA])
        earlier = _msg("system", first.text, is_summary=True)
        later = await summarizer.summarize(
            [_msg("user", "Is the flight on time?")], previous_summaries=[earlier]
        )
    assert "User's name: Ana Lopez\n" in later.text
    assert "Current address: 9 Mill Road, Cambridge\n" in later.text
    assert "John Doe" not in later.text and "Main St" not in later.text


async def test_an_answer_that_ignores_the_form_is_kept_as_written() -> None:
    async with FakeLLM(["Ana called about order 4417."]) as fake:
        result = await Summarizer(fake).summarize([_msg("user", "I am Ana.")])
    assert result.text == "Ana called about order 4417."


async def test_a_custom_prompt_is_never_parsed_as_a_handover() -> None:
    settings = SummarizerSettings(prompt="Summarize.")
    async with FakeLLM([FORM_ANSWER.replace("Ana Lopez", "Ana")]) as fake:
        earlier = _msg("system", FORM_ANSWER, is_summary=True)
        result = await Summarizer(fake, settings).summarize(
            [_msg("user", "Hi")], previous_summaries=[earlier]
        )
    assert "Ana Lopez" not in result.text and "What happened (two sentences)" in result.text


async def test_an_answer_that_ignores_the_form_never_loses_the_earlier_handover() -> None:
    async with FakeLLM(["<user>I moved.</user>"]) as fake:
        earlier = _msg("system", FORM_ANSWER, is_summary=True)
        result = await Summarizer(fake).summarize(
            [_msg("user", "I moved.")], previous_summaries=[earlier]
        )
    assert result.text.startswith("User's name: Ana Lopez\n")
    assert "P-20417" in result.text and result.text.endswith("\n<user>I moved.</user>")


async def test_a_prompt_without_reported_usage_is_counted_off_the_event_loop() -> None:
    counter = TokenCounter()
    threads: list[threading.Thread] = []
    count_text = counter.count_text

    def noting(text: str) -> int:
        threads.append(threading.current_thread())
        return count_text(text)

    counter.count_text = noting  # type: ignore[method-assign]
    async with FakeLLM(["Ana called about order 4417."], report_usage=False) as fake:
        result = await Summarizer(fake, counter=counter).summarize([_msg("user", "I am Ana.")])
    assert result.input_tokens == TokenCounter().count(fake.calls[-1])
    assert threads and threading.main_thread() not in threads


async def test_a_long_span_is_rendered_with_the_event_loop_running_between_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slicing, "SLICE_S", 0.0)  # a slice per item
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    span = [_msg("user", f"Turn {n}: order {4000 + n}.") for n in range(20)]
    async with FakeLLM(["Ana called."]) as fake:
        before = ticks
        await Summarizer(fake).summarize(span)
    ticker.cancel()
    assert ticks - before >= len(span)
    assert all(f"order {4000 + n}" in (fake.calls[-1].items[-1].text_content or "") for n in range(20))


async def test_a_new_address_the_form_left_out_is_asked_about_and_a_yes_makes_it_current() -> None:
    # FORM_ANSWER keeps 9 Mill Road; the user gave another address in the span
    span = [
        ANA,
        _msg("user", "I've left Mill Road. Send everything to 27 Hills Road, Cambridge now."),
        _msg("assistant", "Done."),
    ]
    answer = FORM_ANSWER.replace("move to Friday", "post to 9 Mill Road, Cambridge; move to Friday")
    async with FakeLLM(_forms(answer)) as fake:
        result = await Summarizer(fake).summarize(span)
    assert _questions(fake)[-1] == ADDRESS_QUESTION.format(
        said=span[1].text_content, address="27 Hills Road, Cambridge"
    )
    assert "Current address: 27 Hills Road, Cambridge\n" in result.text
    # the correction reaches what the rest of the handover quoted
    assert "post to 27 Hills Road, Cambridge" in result.text
    assert "9 Mill Road" not in result.text
    assert result.input_tokens == sum(u.prompt_tokens for u in fake.usages)  # both requests
    assert result.output_tokens == sum(u.completion_tokens for u in fake.usages)


async def test_a_no_leaves_the_address_and_a_known_or_custom_one_asks_nothing() -> None:
    span = [_msg("user", "My friend at 4 Oak Lane uses you. I'm at 9 Mill Road, Cambridge.")]
    def no_to_oak_lane(question: str) -> str:
        return "No." if "use 4 Oak Lane as" in question else "Yes."

    async with FakeLLM(_forms(FORM_ANSWER, answer=no_to_oak_lane)) as fake:
        result = await Summarizer(fake).summarize(span)
    # 9 Mill Road is in the form: it is checked, and only 4 Oak Lane is asked about
    asked = [q for q in _questions(fake) if "as the user's address from now on" in q]
    assert len(asked) == 1 and "use 4 Oak Lane as" in asked[0]
    assert "Current address: 9 Mill Road, Cambridge\n" in result.text
    async with FakeLLM(["Ana moved to 4 Oak Lane."]) as fake:
        await Summarizer(fake, SummarizerSettings(prompt="Summarize.")).summarize(span)
    assert len(fake.calls) == 1


async def test_no_more_than_three_addresses_are_asked_about_the_latest() -> None:
    said = " ".join(f"I stayed at {n} Oak Lane." for n in range(1, 6))
    async with FakeLLM([FORM_ANSWER, "No.", "No.", "Yes, from now on."]) as fake:
        result = await Summarizer(fake).summarize([_msg("user", said)])
    asked = [fake.calls[n].messages()[-1].text_content or "" for n in (1, 2, 3)]
    assert [q.split("use ")[1].split(" as")[0] for q in asked] == [
        "3 Oak Lane", "4 Oak Lane", "5 Oak Lane",
    ]
    assert "Current address: 5 Oak Lane\n" in result.text


async def test_an_address_question_that_fails_or_runs_late_leaves_the_form_as_written() -> None:
    span = [ANA, _msg("user", "Send everything to 27 Hills Road, Cambridge now.")]
    async with FakeLLM([FORM_ANSWER]) as fake:  # the question finds the script ended: it fails
        result = await Summarizer(fake).summarize(span)
    assert len(fake.calls) == 2
    assert "Current address: 9 Mill Road, Cambridge\n" in result.text

    def slow_after_the_form(chat_ctx: llm.ChatContext, tools: object) -> str:
        fake.delay_s = 30  # the question waits past the summarizer's timeout
        return FORM_ANSWER

    async with FakeLLM(slow_after_the_form) as fake:
        started = time.perf_counter()
        result = await Summarizer(fake, SummarizerSettings(timeout_s=0.3)).summarize(span)
    assert time.perf_counter() - started < 1.0
    assert len(fake.calls) == 2
    assert "Current address: 9 Mill Road, Cambridge\n" in result.text


async def test_a_phone_the_check_refuses_gives_way_to_the_number_the_model_picks() -> None:
    # the model files the cover plan's number as the phone to use
    span = [
        _msg("user", "I'm Ana Lopez. The number on the letter is 4402 1187 63."),
        _msg("assistant", "And the best number for the engineer?"),
        _msg("user", "The house phone, 01577 830 442. Or the mobile, 07701 402 966, at work."),
    ]
    answer = FORM_ANSWER.replace("01223 760 114 (not 01223 760 000)", "4402 1187 63").replace(
        "9 Mill Road, Cambridge", "none"
    )

    def refuse_the_plan(question: str) -> str:
        return "No." if "phoned on 4402 1187 63?" in question else "01577 830 442"

    async with FakeLLM(_forms(answer, answer=refuse_the_plan)) as fake:
        result = await Summarizer(fake).summarize(span)
    asked = _questions(fake)
    assert [q.splitlines()[-1] for q in asked] == [
        "Should the user be phoned on 4402 1187 63? Answer yes or no.",
        "Which number should we phone the user on: 01577 830 442 or 07701 402 966? "
        "Answer with the number only.",
    ]
    assert "Phone number to use: 01577 830 442\n" in result.text
    assert result.input_tokens == sum(u.prompt_tokens for u in fake.usages)  # every request

    def refuse_and_answer_nothing(question: str) -> str:
        return "No." if "phoned on 4402 1187 63?" in question else "Not sure."

    async with FakeLLM(_forms(answer, answer=refuse_and_answer_nothing)) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "Phone number to use: none\n" in result.text


async def test_a_phone_the_model_left_out_is_picked_among_the_users_even_said_in_words() -> None:
    span = [
        ANA,
        _msg("user", "Ring my cell. Six oh eight, five five five, oh one seven four."),
        _msg("assistant", "Got it."),
    ]
    answer = FORM_ANSWER.replace("01223 760 114 (not 01223 760 000)", "none")
    asked: list[str] = []

    def choose(question: str) -> str:
        asked.append(question.splitlines()[-1])
        return "608 555 0174" if "Which number" in question else "Yes."

    async with FakeLLM(_forms(answer, answer=choose)) as fake:
        result = await Summarizer(fake).summarize(span)
    # ANA gives two numbers in digits, the second turn one in words: three to choose from
    assert asked[1:] == [
        "Which number should we phone the user on: 01223 760 114 or 01223 760 000 or "
        "608 555 0174? Answer with the number only."
    ]
    assert "Phone number to use: 608 555 0174\n" in result.text
    # a phone the model gave and the check did not refuse: no choice is asked
    async with FakeLLM(_forms(FORM_ANSWER)) as fake:
        await Summarizer(fake).summarize(span)
    assert not any("Which number" in q for q in _questions(fake))


async def test_a_looping_answer_keeps_three_entries_a_field_and_the_fields_after_it() -> None:
    looped = "\n".join(
        f"- I will not call the {who} number" for who in ("office", "helpdesk", "support",
                                                         "engineer", "branch", "sales")
    )
    answer = FORM_ANSWER.replace("The user promised: none", f"The user promised:\n{looped}")
    async with FakeLLM(_forms(answer)) as fake:
        result = await Summarizer(fake, SummarizerSettings(max_summary_tokens=140)).summarize(
            [ANA]
        )
    assert result.text.count("I will not call") == 3
    # all six would push the summary past its size, and its last fields would be cut
    assert result.text.endswith("What happened: Ana moved her appointment.")
    assert not result.truncated


async def test_the_number_the_assistant_read_back_is_the_phone_and_asks_nothing() -> None:
    span = [
        ANA,
        _msg("assistant", "I have 01223 760 000 on file, is that still right?"),
        _msg("user", "No, that's reception. Ring 07311 482 906, and my husband is 07311 482 111."),
        _msg("assistant", "07311 482 906, lovely. I won't use the reception line."),
    ]
    # the model files the husband's number: the read-back stands, with no phone question
    answer = FORM_ANSWER.replace("01223 760 114 (not 01223 760 000)", "07311 482 111")
    async with FakeLLM(_forms(answer)) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "Phone number to use: 07311 482 906\n" in result.text
    assert not any("phoned on" in q or "Which number" in q for q in _questions(fake))
    assert any("address" in q for q in _questions(fake))  # the address is still checked


async def test_an_old_id_and_a_promise_under_the_wrong_party_are_mended_in_the_summary() -> None:
    span = [
        ANA,
        _msg("user", "My old patient number was P-19988, that one's closed."),
        _msg("assistant", "P-20417 it is. I'll post the new exercise sheet by Monday."),
    ]
    # the model lists the closed number and gives the assistant's promise to the user
    answer = FORM_ANSWER.replace(
        "P-20417; 15 pound fee", "P-20417; P-19988; 15 pound fee"
    ).replace("The user promised: none", "The user promised: I'll post the new exercise sheet")
    async with FakeLLM(_forms(answer)) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "P-19988" not in result.text
    assert "Ids and amounts:\n- P-20417\n- 15 pound fee\n" in result.text
    # moved to the assistant's promises, where the span's own words of it replace it
    assert "The user promised: none\n" in result.text
    assert '- "I\'ll post the new exercise sheet by Monday."\n' in result.text


async def test_a_stale_address_the_check_refuses_leaves_the_earlier_handover_too() -> None:
    earlier = _msg("system", FORM_ANSWER, is_summary=True)
    span = [
        _msg("user", "Hang on, Mill Road was the old flat. It's Kirkton Steading now."),
        _msg("assistant", "I've changed it."),
    ]
    kept = FORM_ANSWER.replace("01223 760 114 (not 01223 760 000)", "none")

    def not_mill_road(question: str) -> str:
        return "No." if "Is 9 Mill Road, Cambridge the user's address" in question else "Yes."

    for answer in (kept, kept.replace("9 Mill Road, Cambridge", "none")):
        async with FakeLLM(_forms(answer, answer=not_mill_road)) as fake:
            result = await Summarizer(fake).summarize(span, previous_summaries=[earlier])
        assert "Current address: none\n" in result.text
        assert "User's name: Ana Lopez\n" in result.text  # what was not asked about stays


async def test_an_answer_neither_yes_nor_no_leaves_the_value_and_a_failed_check_ends_the_asking() -> None:
    async with FakeLLM(_forms(FORM_ANSWER, answer=lambda q: "I cannot tell.")) as fake:
        result = await Summarizer(fake).summarize([ANA])
    assert len(_questions(fake)) == 2  # the address, the phone
    assert result.text.startswith(
        "User's name: Ana Lopez\nPhone number to use: 01223 760 114 (not 01223 760 000)\n"
        "Current address: 9 Mill Road, Cambridge\n"
    )

    def failing(question: str) -> str:
        raise RuntimeError("provider down")

    async with FakeLLM(_forms(FORM_ANSWER, answer=failing)) as fake:
        result = await Summarizer(fake).summarize([ANA])
    assert len(_questions(fake)) == 1
    assert "Current address: 9 Mill Road, Cambridge\n" in result.text


async def test_an_address_the_assistant_reads_back_stands_and_asks_nothing() -> None:
    # the user says the number in words; only the assistant's read-back gives it as written
    span = [
        ANA,
        _msg("user", "We've moved, it's forty-one Quarry Lane now."),
        _msg("assistant", "Lovely, so that's 41 Quarry Lane, Cambridge from today."),
    ]
    # none is asked of the read-back address, nor of the one the user gave before it
    async with FakeLLM(_forms(FORM_ANSWER, answer=lambda question: "No.")) as fake:
        result = await Summarizer(fake).summarize(span)
    assert not [q for q in _questions(fake) if "address" in q]
    assert "Current address: 41 Quarry Lane, Cambridge\n" in result.text
    assert "9 Mill Road" not in result.text
    # the model's own address stands when it names the read-back one's street
    answer = FORM_ANSWER.replace("9 Mill Road, Cambridge", "Quarry Lane, the new house")
    async with FakeLLM(_forms(answer, answer=lambda question: "No.")) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "Current address: Quarry Lane, the new house\n" in result.text


async def test_a_number_the_span_takes_off_leaves_the_ids_and_the_promises() -> None:
    # an eight-digit line, as in Singapore: no phone by the UK and US lengths
    span = [ANA, _msg("assistant", "Okay, and I'll delete 6275 0193 from your file.")]
    # the model lists the deleted line as an id and quotes the deletion as a promise
    answer = FORM_ANSWER.replace("P-20417; 15 pound fee", "P-20417; 6275 0193").replace(
        "The assistant promised: move to Friday the 17th; waive the 15 pound fee",
        "The assistant promised: I'll delete 6275 0193 from your file; move to Friday the 17th",
    )
    async with FakeLLM(_forms(answer)) as fake:
        result = await Summarizer(fake).summarize(span)
    assert "6275 0193" not in result.text
    assert "Ids and amounts: P-20417\n" in result.text
    assert "The assistant promised: move to Friday the 17th\n" in result.text
