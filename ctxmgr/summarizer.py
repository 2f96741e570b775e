"""Summarizer: one summary of a span of chat items from any ``livekit.agents.llm.LLM``.

```python
summarizer = Summarizer(openai.LLM(model="gpt-4o-mini"), settings.summarizer)
result = await summarizer.summarize(span, previous_summaries=earlier)
message = summary_message(
    result, role="system", created_at=span[0].created_at, folded_ids=[i.id for i in span]
)
```

Items are rendered as livekit's own ``ChatContext._summarize`` renders them
(``<user>``, ``<assistant>``, ``<function_call name= call_id=>``,
``<function_call_output>``), earlier summaries go first as the summary so far,
and the whole call is bounded by ``settings.timeout_s``. Every failure is a
:class:`~ctxmgr.SummarizerError`; cancellation stays a ``CancelledError``.

With the built-in prompt the answer is a handover form, merged field by field into
the earlier one (:mod:`ctxmgr.handover`), after at most six short questions to the
same LLM within the same timeout: the address and phone checks and the phone choice
(:mod:`ctxmgr.field_checks`) and up to three address questions. A question that fails
leaves the form as it stands; their tokens are in the result's usage.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from livekit.agents import APIConnectOptions, llm, utils
from livekit.agents.llm.chat_context import to_xml

from ._exceptions import SummarizerError
from .chat_items import SUMMARY_MARKER, is_summary
from .field_checks import (
    CHOICE_SYSTEM, YES_OR_NO, around, field_checks, phone_choice, picked, yes_or_no,
)
from .handover import (
    ADDRESS, ASSISTANT_PROMISED, FORM, IDS, NAME, PHONE, PREFERENCES, TOOL_RESULTS,
    USER_PROMISED, Handover, acknowledged_wishes, addresses, assistant_promises, commitments,
    confirmed_phone, holds_address, name_ledger, names_street, parse_handover,
    read_back_addresses, read_back_ids, stale_ids, steady_name, taken_off_numbers, tool_ledger,
    wishes, words,
)
from .log import logger
from .settings import SummarizerSettings
from .slicing import in_slices
from .tokens import REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE, TokenCounter

__all__ = [
    "CTXMGR_EXTRA_KEY",
    "DEFAULT_PROMPT",
    "EARLIER_HANDOVER",
    "SUMMARY_TAG",
    "Summarizer",
    "SummaryResult",
    "summary_message",
]

SUMMARY_TAG = "chat_history_summary"
"""XML tag wrapped around a summary's text, as livekit's ``ChatContext._summarize`` does."""

CTXMGR_EXTRA_KEY = "ctxmgr"
"""``extra`` key of a summary message holding ctxmgr's bookkeeping (request id, folded ids)."""

DEFAULT_PROMPT = f"""\
You hand a conversation over to a colleague who will continue it without the older \
turns: what your handover leaves out is lost. The conversation is formatted as XML: \
<user> is the user, <assistant> is the assistant, <function_call> is an action the \
assistant took and <function_call_output> its result.

Write the handover in this form, one line per field, copying names, numbers, ids, \
addresses, phone numbers, amounts and dates exactly; write "none" for an empty field:
{FORM}
At most {{max_summary_tokens}} tokens."""
"""The built-in system prompt; ``{max_summary_tokens}`` is replaced by the setting.

The handover written before follows it in the system message (``EARLIER_HANDOVER``),
for reference; the model writes the form for the new turns and its answer is merged
field by field into the earlier handover in code (:mod:`ctxmgr.handover`): a
correction replaces the old value, and an id or a promise the model drops is kept.
(Given the summary so far beside the turns, as a custom prompt is, a 1.5B model
tended to copy it out rather than write the form: ``bench/quality.md``.)"""

EARLIER_HANDOVER = "\n\nThe handover written before (for reference; write only the form):\n"
"""Appended to ``DEFAULT_PROMPT``, then the earlier handover, or ``none yet``."""

ADDRESS_QUESTION = (
    'The user said: "{said}"\n'
    "Should we use {address} as the user's address from now on? Answer yes or no."
)
"""Asked (system prompt: answer yes or no) of each street address a user turn of the span
gave that the form's current address does not hold, at most ``MAX_ADDRESS_QUESTIONS``
per summary: a small model tends not to write a corrected address into the form, and
the old one would then stay current. A "yes" makes it the current address."""

MAX_ADDRESS_QUESTIONS = 3

_T = TypeVar("_T")


@dataclass(frozen=True)
class SummaryResult:
    """A summary written by :class:`Summarizer`."""

    text: str
    """The summary, stripped; never empty."""

    request_id: str
    """Fresh per request: an applier drops a result whose id is no longer the one it awaits."""

    input_tokens: int
    """Prompt tokens of every request the summary took (the handover form and its address
    questions): the LLM's reported usage when present, else counted (the form's request
    alone)."""

    output_tokens: int
    """Summary tokens: the LLM's reported usage when present, else counted."""

    duration_s: float
    """Wall time of the LLM requests, in seconds."""

    usage_reported: bool = False
    """``True`` when the token figures are the LLM's reported usage, ``False`` when counted."""

    truncated: bool = False
    """``True`` when the LLM wrote more than ``max_summary_tokens`` and ``text`` was cut to it
    (at a line or sentence end when one is near)."""


class Summarizer:
    """Writes a summary of chat items with any livekit ``llm.LLM``, within a timeout.

    Usage::

        summarizer = Summarizer(my_llm, SummarizerSettings(timeout_s=10))
        try:
            result = await summarizer.summarize(items, previous_summaries=[old_summary])
        except SummarizerError:
            ...  # leave the context as it was

    Args:
        llm: The model that writes summaries; it is not closed by the summarizer.
        settings: Prompt, size bound and timeout.
        counter: Counts tokens when the LLM reports no usage; ``None`` creates one
            on first need.
    """

    def __init__(
        self,
        llm: llm.LLM[Any],
        settings: SummarizerSettings = SummarizerSettings(),
        *,
        counter: TokenCounter | None = None,
    ) -> None:
        self._llm = llm
        self._settings = settings
        self._counter = counter

    @property
    def settings(self) -> SummarizerSettings:
        """The settings in use."""
        return self._settings

    def build_prompt(
        self,
        items: Sequence[llm.ChatItem],
        *,
        previous_summaries: Sequence[llm.ChatMessage] = (),
    ) -> llm.ChatContext:
        """The chat context sent to the LLM: the prompt, then the summary so far and the items.

        Summaries found among ``items`` are folded as earlier summaries too.
        Instructions, config updates, handoffs and messages without text are skipped.

        Raises:
            SummarizerError: Nothing to summarize (no renderable item, no earlier summary).
        """
        lines = [line for line, _ in map(_read, items) if line]
        earlier = [_summary_body(s) for s in _earlier_summaries(items, previous_summaries)]
        return self._prompt(lines, earlier, list(map(parse_handover, earlier)))

    def _prompt(
        self, lines: list[str], earlier: Sequence[str], parsed: Sequence[Handover | None]
    ) -> llm.ChatContext:
        """``parsed``: each of ``earlier`` read as a handover (``None``: it is none)."""
        so_far = "\n\n".join(text for text in earlier if text)
        if not lines and not so_far:
            raise SummarizerError("nothing to summarize: no item with text and no earlier summary")

        parts: list[str] = []
        if self._settings.prompt is None:
            # a handover without its ledgers' quotes (merged back in code): shown them, a
            # small model copies sentences into its answer, the user's under the assistant
            shown = "\n\n".join(
                handover.unquoted().render() if handover is not None else text
                for text, handover in zip(earlier, parsed)
                if text
            )
            prompt = DEFAULT_PROMPT + EARLIER_HANDOVER + (shown or "none yet")
        else:
            prompt = self._settings.prompt
            if so_far:
                parts.append(f"Summary so far:\n\n{to_xml('summary_so_far', so_far)}")
        parts.append("Conversation to summarize:\n\n" + ("\n".join(lines) or "(nothing new)"))
        prompt = prompt.replace("{max_summary_tokens}", str(self._settings.max_summary_tokens))
        chat_ctx = llm.ChatContext()
        chat_ctx.add_message(role="system", content=prompt)
        chat_ctx.add_message(role="user", content="\n\n".join(parts))
        return chat_ctx

    async def summarize(
        self,
        items: Sequence[llm.ChatItem],
        *,
        previous_summaries: Sequence[llm.ChatMessage] = (),
        request_id: str | None = None,
    ) -> SummaryResult:
        """Summarize ``items``, folding ``previous_summaries`` (oldest first) into the result.

        What the request and the handover need is read from ``items`` before the request
        is sent (a long span in slices, the event loop running between them): the items
        may change while it runs.

        Args:
            items: The span to fold, in context order.
            previous_summaries: Earlier summary messages; they go first, as the summary so far.
            request_id: Id of this request; ``None`` makes a fresh one.

        Raises:
            SummarizerError: The LLM raised, timed out, or returned no text; the
                original exception is the ``__cause__``.
            asyncio.CancelledError: The caller was cancelled; never turned into an error.
        """
        request_id = request_id or utils.shortuuid("summary_")
        earlier = [_summary_body(s) for s in _earlier_summaries(items, previous_summaries)]
        results = [
            (item.name, item.output)
            for item in items
            if isinstance(item, llm.FunctionCallOutput) and not item.is_error
        ]
        read = await in_slices(items, _read)
        lines = [line for line, _ in read if line]
        said = [spoken for _, spoken in read if spoken is not None]
        parsed = list(map(parse_handover, earlier))
        chat_ctx = self._prompt(lines, earlier, parsed)
        logger.debug(
            "summary requested",
            extra={"request_id": request_id, "items": len(items), "llm": self._llm.label},
        )
        started = time.perf_counter()
        try:
            text, usage = await _bounded(self._complete(chat_ctx), self._settings.timeout_s)
        except asyncio.TimeoutError as e:
            logger.debug("summary timed out", extra={"request_id": request_id})
            raise SummarizerError(
                f"summarizer timed out after {self._settings.timeout_s:g} s"
            ) from e
        except Exception as e:
            logger.debug("summary failed", extra={"request_id": request_id}, exc_info=True)
            raise SummarizerError(f"summarizer failed: {type(e).__name__}") from e
        if not text:
            logger.debug("summary empty", extra={"request_id": request_id})
            raise SummarizerError("summarizer returned an empty summary")
        if self._settings.prompt is None:
            deadline = started + self._settings.timeout_s
            text, usage = await self._handover(text, usage, parsed, results, said, deadline)
        duration = time.perf_counter() - started
        limit = self._settings.max_summary_tokens
        cut = self._counter_or_default().truncate_text(text, limit)
        if cut != text:
            # a summary longer than asked would push the context back over the trigger
            logger.warning(
                "summary longer than max_summary_tokens; cut to it",
                extra={"request_id": request_id, "max_summary_tokens": limit},
            )

        if usage is not None:
            input_tokens, output_tokens = usage.prompt_tokens, usage.completion_tokens
        else:
            input_tokens, output_tokens = await self._count(chat_ctx, text)

        result = SummaryResult(
            text=cut,
            request_id=request_id,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            duration_s=duration,
            usage_reported=usage is not None,
            truncated=cut != text,
        )
        logger.debug(
            "summary written",
            extra={
                "request_id": request_id,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "duration_s": round(duration, 3),
                "lk.pii.summary": text,
            },
        )
        return result

    async def _handover(
        self,
        answer: str,
        usage: llm.CompletionUsage | None,
        earlier: Sequence[Handover | None],
        results: Sequence[tuple[str, str]],
        said: Sequence[tuple[str, str]],
        deadline: float,
    ) -> tuple[str, llm.CompletionUsage | None]:
        """The model's form, without what the span cannot have given it
        (:meth:`Handover.grounded`) nor what the checks refuse (:mod:`ctxmgr.field_checks`),
        folded into the earlier handover after the address questions
        (``ADDRESS_QUESTION``) and the ledgers, and the usage of every request. A question
        that fails or would end past ``deadline`` (``perf_counter`` time) ends the asking:
        the form stands as it is then."""
        folded = Handover()
        for handover in earlier:
            if handover is not None:
                folded = folded.merge(handover)
        parsed = parse_handover(answer)
        if parsed is None:
            # not a handover: as written, after the earlier handover's fields if there is one
            return (f"{folded.render()}\n{answer}" if folded.values else answer), usage
        # a long span's text is read off the event loop
        span = await asyncio.to_thread(_read_span, parsed, folded, results, said)
        given, ledgers, newer = span.given, span.ledgers, span.newer
        asking = _Asking(self, usage, deadline)
        confirmed = set()
        if span.phone is not None:
            # the number the assistant read back stands: no check or choice asked of it
            newer = Handover({**newer.values, PHONE: [span.phone]})
            confirmed.add(PHONE)
        if span.address is not None:
            # so does the address it read back, unless the model's own names its street
            if not names_street(" ".join(newer.values.get(ADDRESS, [])), span.address):
                newer = Handover({**newer.values, ADDRESS: [span.address]})
            confirmed.add(ADDRESS)
        newer, folded = await asking.checked(newer, folded, said, confirmed=confirmed)
        known = " ".join(newer.values.get(ADDRESS, []) + folded.values.get(ADDRESS, []))
        asked = [(turn, a) for turn, a in given if not holds_address(known, a)]
        for turn, address in asked[-MAX_ADDRESS_QUESTIONS:]:
            question = ADDRESS_QUESTION.format(said=around(turn, address), address=address)
            if await asking.ask(question) is True:
                # a correction, also where the rest of the form quotes the old address
                newer = newer.merge(Handover({ADDRESS: [address]}))
        for name in ledgers.values.get(NAME, []):
            # the model's name stands when it holds the ledger's ("Femke Dijkstra" over "Dijkstra")
            written = newer.values.get(NAME) or folded.values.get(NAME) or [""]
            if name.split()[-1].lower() in written[0].lower():
                ledgers = ledgers.without(NAME, name)
        newer = newer.merge(ledgers)
        handover = folded.merge(newer).story_checked(folded).without_numbers(span.taken_off)
        return handover.render(), asking.usage

    async def _complete(self, chat_ctx: llm.ChatContext) -> tuple[str, llm.CompletionUsage | None]:
        chunks: list[str] = []
        usage: llm.CompletionUsage | None = None
        # livekit's default gives each attempt 10 s, then retries: a self-hosted model
        # that reads a long span for longer than that before its first token would
        # fail (and be billed again per retry) whatever timeout_s says
        conn_options = APIConnectOptions(timeout=self._settings.timeout_s)
        async with self._llm.chat(chat_ctx=chat_ctx, conn_options=conn_options) as stream:
            async for chunk in stream:
                if chunk.delta and chunk.delta.content:
                    chunks.append(chunk.delta.content)
                if chunk.usage is not None:
                    usage = chunk.usage
        return "".join(chunks).strip(), usage

    def _counter_or_default(self) -> TokenCounter:
        if self._counter is None:
            self._counter = TokenCounter()
        return self._counter

    async def _count(self, chat_ctx: llm.ChatContext, text: str) -> tuple[int, int]:
        """Tokens of the prompt and of the answer, for an LLM that reports no usage. The
        prompt holds the whole span: it is encoded in a thread (tiktoken lets go of the
        GIL), not on the event loop."""
        counter = self._counter_or_default()
        parts = [
            [part for part in item.content if isinstance(part, str)]
            for item in chat_ctx.items
            if isinstance(item, llm.ChatMessage)
        ]

        def encode() -> tuple[int, int]:
            # as TokenCounter counts a text message, without its cache (not thread-safe)
            prompt = sum(
                TOKENS_PER_MESSAGE + 1 + sum(map(counter.count_text, texts)) for texts in parts
            )
            return REPLY_PRIMING_TOKENS + prompt, counter.count_text(text)

        return await asyncio.to_thread(encode)


class _Asking:
    """The short questions of one summary: their usage added up, and none asked after one
    failed or past the deadline."""

    def __init__(
        self, summarizer: Summarizer, usage: llm.CompletionUsage | None, deadline: float
    ) -> None:
        self._summarizer = summarizer
        self._deadline = deadline
        self._failed = False
        self.usage = usage

    async def ask(self, question: str) -> bool | None:
        """The answer to a yes/no question (``None``: neither yes nor no, or no answer)."""
        reply = await self._reply(YES_OR_NO, question)
        return None if reply is None else yes_or_no(reply)

    async def checked(
        self,
        newer: Handover,
        folded: Handover,
        said: Sequence[tuple[str, str]],
        *,
        confirmed: Collection[str] = (),
    ) -> tuple[Handover, Handover]:
        """``newer`` and ``folded`` without the address or phone a check refused
        (:mod:`ctxmgr.field_checks`); a refused phone, or none at all, gives way to the
        user's number the model picks. ``confirmed``: the fields the assistant read back
        (:func:`~ctxmgr.handover.confirmed_phone`,
        :func:`~ctxmgr.handover.read_back_addresses`), neither checked nor chosen."""
        refused = None
        for check in field_checks(newer, folded, said):
            if check.label in confirmed:
                continue
            if await self.ask(check.question) is not False:
                continue
            logger.debug("a check refused a value", extra={"field": check.label})
            newer = newer.without(check.label, check.entry)
            folded = folded.without(check.label, check.entry)
            if check.label == PHONE:
                refused = check.entry
        if refused is not None or not (newer.values.get(PHONE) or folded.values.get(PHONE)):
            newer = await self._picked_phone(newer, said, refused=refused or "")
        return newer, folded

    async def _picked_phone(
        self, newer: Handover, said: Sequence[tuple[str, str]], refused: str
    ) -> Handover:
        """``newer`` with the phone the model picks among the user's numbers but
        ``refused`` (:func:`phone_choice`), if it picks one."""
        choice = phone_choice(said, refused)
        if choice is None:
            return newer
        if len(choice.options) == 1:
            number = choice.options[0] if await self.ask(choice.question) else None
        else:
            reply = await self._reply(CHOICE_SYSTEM, choice.question)
            number = picked(choice, reply) if reply is not None else None
        return newer if number is None else newer.merge(Handover({PHONE: [number]}))

    async def _reply(self, system: str, question: str) -> str | None:
        if self._failed:
            return None
        chat_ctx = llm.ChatContext()
        chat_ctx.add_message(role="system", content=system)
        chat_ctx.add_message(role="user", content=question)
        try:
            reply, used = await _bounded(
                self._summarizer._complete(chat_ctx), self._deadline - time.perf_counter()
            )
        except Exception:  # a timeout too; a cancellation is no Exception and goes on
            logger.debug("a question failed; the form stands", exc_info=True)
            self._failed = True
            return None
        self.usage = _added(self.usage, used)
        return reply


def summary_message(
    result: SummaryResult,
    *,
    role: llm.ChatRole,
    created_at: float,
    folded_ids: Sequence[str],
    note: str | None = None,
) -> llm.ChatMessage:
    """The chat message that carries ``result`` into a context.

    Marked as livekit marks its own summaries (``extra["is_summary"] = True``,
    text wrapped in ``<chat_history_summary>``), plus ``extra["ctxmgr"]`` with
    the request id and the ids of the items the summary replaces.
    """
    return llm.ChatMessage(
        role=role,
        content=[to_xml(SUMMARY_TAG, f"{result.text}\n\n{note}" if note else result.text)],
        created_at=created_at,
        extra={
            SUMMARY_MARKER: True,
            CTXMGR_EXTRA_KEY: {"request_id": result.request_id, "folded_ids": list(folded_ids)},
        },
    )


async def _bounded(aw: Awaitable[_T], timeout_s: float) -> _T:
    if sys.version_info >= (3, 11):
        # asyncio.timeout keeps a caller's cancellation a CancelledError even when the
        # inner call finishes in the same loop step (wait_for can swallow it on 3.10/3.11)
        async with asyncio.timeout(timeout_s):
            return await aw
    return await asyncio.wait_for(aw, timeout_s)


UNTRANSCRIBED_TURN = "(spoke; no transcript: the reply that follows shows what was said)"
"""How a folded user turn with no text (its audio never transcribed) reaches the summarizer."""


def _message_text(message: llm.ChatMessage) -> str:
    parts = [message.text_content or ""]
    # realtime items may carry their words only as an audio transcript
    parts += [
        part.transcript
        for part in message.content
        if isinstance(part, llm.AudioContent) and part.transcript
    ]
    return "\n".join(part for part in parts if part).strip()


def _read(item: llm.ChatItem) -> tuple[str | None, tuple[str, str] | None]:
    """The prompt's line for ``item`` and, for a user or assistant message, ``(role, text)``
    (earlier summaries go in the prompt, not as lines; instructions stay in the context:
    they are not history)."""
    if isinstance(item, llm.ChatMessage):
        if is_summary(item) or item.role not in ("user", "assistant"):
            return None, None
        text = _message_text(item)
        if not text and item.role == "user" and not any(isinstance(c, str) for c in item.content):
            # a spoken turn never transcribed: the model heard it, the summarizer cannot
            return to_xml(item.role, UNTRANSCRIBED_TURN), (item.role, text)
        return (to_xml(item.role, text) if text else None), (item.role, text)
    return _render_call(item), None


def _render_call(item: llm.ChatItem) -> str | None:
    if isinstance(item, llm.FunctionCall):
        return to_xml(
            "function_call", item.arguments, attrs={"name": item.name, "call_id": item.call_id}
        )
    if isinstance(item, llm.FunctionCallOutput):
        output = to_xml("error", item.output) if item.is_error else item.output
        return to_xml(
            "function_call_output", output, attrs={"call_id": item.call_id, "name": item.name}
        )
    return None  # handoffs and config updates are bookkeeping


def _earlier_summaries(
    items: Sequence[llm.ChatItem], previous_summaries: Sequence[llm.ChatMessage]
) -> list[llm.ChatMessage]:
    """``previous_summaries``, then the summaries among ``items``, each once."""
    summaries = list(previous_summaries)
    seen = {summary.id for summary in summaries}
    for item in items:
        if isinstance(item, llm.ChatMessage) and is_summary(item) and item.id not in seen:
            summaries.append(item)
            seen.add(item.id)
    return summaries


class _SpanReading(NamedTuple):
    given: list[tuple[str, str]]
    """The addresses the user gave, each with its turn (after the last the assistant read
    back, if any)."""
    ledgers: Handover
    """The span's ledgers, as a handover."""
    newer: Handover
    """The model's answer, with only what the span or the earlier handover gives
    (:meth:`Handover.grounded`) and its name steadied (:func:`steady_name`)."""
    phone: str | None
    """The phone the assistant read back (:func:`confirmed_phone`), if any."""
    address: str | None
    """The last address the assistant read back from the user's words
    (:func:`read_back_addresses`), if any."""
    taken_off: set[str]
    """The numbers the span takes off (:func:`taken_off_numbers`)."""


def _read_span(
    newer: Handover,
    folded: Handover,
    results: Sequence[tuple[str, str]],
    said: Sequence[tuple[str, str]],
) -> _SpanReading:
    """What the span says, beside the model's answer ``newer`` and the earlier handover
    ``folded``. ``said``: the span's ``(role, text)`` turns, in order."""
    user = [text for role, text in said if role == "user"]
    assistant = [text for role, text in said if role == "assistant"]
    read_back = read_back_addresses(said)
    # an address the user gave before the last one the assistant read back is past
    after = user.index(read_back[-1][0]) + 1 if read_back else 0
    given = [(turn, a) for turn in user[after:] for a in addresses(turn)]
    ledgers = {
        NAME: name_ledger(said, folded),
        IDS: read_back_ids(said),
        ASSISTANT_PROMISED: assistant_promises(assistant),
        USER_PROMISED: commitments(user),
        PREFERENCES: list(dict.fromkeys(wishes(user) + acknowledged_wishes(said))),
        TOOL_RESULTS: tool_ledger(results),
    }
    returned = words(output for _, output in results)
    earlier = words(e for entries in folded.values.values() for e in entries)
    grounded = (
        newer.attributed(said, folded)
        .bounded()
        .grounded(words([*user, *assistant]) | returned, returned, earlier)
        .without_ids(stale_ids(said, ledgers[IDS]))
        .without_id_phone(ledgers[IDS])
    )
    return _SpanReading(
        given=given,
        ledgers=Handover({k: v for k, v in ledgers.items() if v}),
        newer=steady_name(grounded, folded, said),
        phone=confirmed_phone(said),
        address=read_back[-1][1] if read_back else None,
        taken_off=taken_off_numbers(said),
    )


def _added(
    usage: llm.CompletionUsage | None, more: llm.CompletionUsage | None
) -> llm.CompletionUsage | None:
    """Two requests' usage as one (``None`` when neither reported any)."""
    if usage is None or more is None:
        return usage or more
    return llm.CompletionUsage(
        completion_tokens=usage.completion_tokens + more.completion_tokens,
        prompt_tokens=usage.prompt_tokens + more.prompt_tokens,
        prompt_cached_tokens=usage.prompt_cached_tokens + more.prompt_cached_tokens,
        total_tokens=usage.total_tokens + more.total_tokens,
    )


def _summary_body(message: llm.ChatMessage) -> str:
    text = _message_text(message)
    start, end = f"<{SUMMARY_TAG}>", f"</{SUMMARY_TAG}>"
    if text.startswith(start) and text.endswith(end):
        text = text[len(start) : -len(end)].strip()
    return text
