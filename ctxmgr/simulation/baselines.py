"""Baselines beside ctxmgr's presets, replayed over the same scripted call, and the floor.

The baselines are not ctxmgr policies, so they run as simulations: no session and
no concurrency, the context each response is sent rebuilt from the script item by
item as a session builds it (``none`` here bills exactly what the no-manager
session bills), and their summaries written by the same stand-in.

- ``server truncation``: OpenAI Realtime's ``truncation`` with
  ``token_limits.post_instructions`` at the budget: before a response whose
  conversation (after the instructions) is over the limit, the oldest items are
  dropped until it fits (``auto``), or until 80% of the limit (``retention_ratio``
  0.8). Dropped items stay on the server but the model no longer sees them.
- ``cookbook``: the OpenAI cookbook's realtime summarizer: when the last response's
  total tokens (input + output) reach the trigger, everything but the last 2
  messages is summarized, the summary created at the root as a ``system`` message,
  then each summarized item deleted. The cookbook tracks messages only; here a
  tool call and its output are summarized and deleted with the span.
- ``naive``: livekit's ``ChatContext._summarize(keep_last_turns=2)`` after every
  turn: the older messages and tool items become a new summary placed after the
  earlier summaries, which it keeps as they are.

The floor (:func:`floor`) is the cheapest compaction schedule that keeps every
response under the budget: compactions between turns, each cutting at a turn
boundary and keeping one running summary (or, for the trim floor, none), found by
dynamic programming under the same cost model, then replayed and billed like
every other run.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .stand_in import (
    NOTHING_TO_KEEP,
    Response,
    RunResult,
    billing_view,
    fact_sentences,
    summary_item,
    summary_reply,
)
from .support_call import SupportCall
from livekit.agents import llm

from ctxmgr import Summarizer, SummarizerSettings, TokenCounter
from ctxmgr.cost import CacheRules, Modality, ModelPrices, SentItem
from ctxmgr.testing import FakeLLM
from ctxmgr.tokens import REPLY_PRIMING_TOKENS

__all__ = [
    "CookbookSummarizer",
    "NaiveEveryTurn",
    "NoCompaction",
    "Replay",
    "ServerTruncation",
    "floor",
    "simulate",
]

Mode = Literal["summary", "drop"]
Kind = Literal["summary", "drop", "none"]


class Replay:
    """The script as chat items with fixed ids, billed and summarized as a session would."""

    def __init__(
        self,
        call: SupportCall,
        counter: TokenCounter,
        tools_tokens: int,
        *,
        speech: Modality = "audio",
        summary_cap: int | None = None,
    ) -> None:
        self.call = call
        self.counter = counter
        self.tools_tokens = tools_tokens
        self.speech: Modality = speech
        """How turns are billed: ``audio`` (a speech-to-speech model) or ``text``."""
        self.summary_cap = summary_cap
        """Summaries are cut to this many tokens, as ctxmgr cuts its own (``None``: not cut)."""
        self.instructions = llm.ChatMessage(
            id="instructions", role="system", content=[call.instructions]
        )
        self.turn_items: list[list[llm.ChatItem]] = []
        self.outputs: list[list[tuple[int, int]]] = []
        """Per turn, per response: (text, audio) output tokens."""
        self.turn_of: dict[str, int] = {}
        for turn in call.turns:
            t = turn.index
            items: list[llm.ChatItem] = [
                llm.ChatMessage(id=f"t{t}_user", role="user", content=[turn.user.text])
            ]
            outputs: list[tuple[int, int]] = []
            if turn.tool is not None:
                name, arguments = turn.tool.name, json.dumps(turn.tool.arguments)
                call_id = f"call_t{t}"
                items += [
                    llm.FunctionCall(
                        id=f"t{t}_call", call_id=call_id, name=name, arguments=arguments
                    ),
                    llm.FunctionCallOutput(
                        id=f"t{t}_output",
                        call_id=call_id,
                        name=name,
                        output=turn.tool.output,
                        is_error=False,
                    ),
                ]
                outputs.append((counter.count_text(name) + counter.count_text(arguments), 0))
            items.append(
                llm.ChatMessage(
                    id=f"t{t}_assistant", role="assistant", content=[turn.assistant.text]
                )
            )
            said = turn.assistant.text
            outputs.append(
                (0, call.speech_tokens("assistant", said))
                if speech == "audio"
                else (counter.count_text(said), 0)
            )
            self.turn_items.append(items)
            self.outputs.append(outputs)
            self.turn_of.update((item.id, t) for item in items)
        self._summarizer = Summarizer(FakeLLM(), SummarizerSettings())

    def billed(self, item: llm.ChatItem) -> int:
        """Tokens the provider bills for one item."""
        return billing_view([item], self.call, self.counter, 0, speech=self.speech)[0].tokens

    def sent(self, conversation: Sequence[llm.ChatItem]) -> list[SentItem]:
        """The context a response is sent: instructions, tools, then ``conversation``."""
        return billing_view(
            [self.instructions, *conversation],
            self.call,
            self.counter,
            self.tools_tokens,
            speech=self.speech,
        )

    def cut(self, summary: str) -> str:
        """``summary`` cut to ``summary_cap`` tokens, as ctxmgr's summarizer cuts its own."""
        if self.summary_cap is None:
            return summary
        return self.counter.truncate_text(summary, self.summary_cap)

    def summarize(
        self, items: Sequence[llm.ChatItem], previous: Sequence[llm.ChatMessage] = ()
    ) -> tuple[str, int, int]:
        """The stand-in's summary of ``items``, folding ``previous``: text, tokens in and out."""
        prompt = self._summarizer.build_prompt(items, previous_summaries=previous)
        text = self.cut(summary_reply(prompt, []).text)
        tokens_in = REPLY_PRIMING_TOKENS + sum(self.counter.count_items(prompt.items))
        self.counter.forget([i.id for i in prompt.items])
        return text, tokens_in, self.counter.count_text(text)


@dataclass
class SimState:
    """A simulated session: the server's conversation and what the model sees of it."""

    replay: Replay
    result: RunResult
    conversation: list[llm.ChatItem] = field(default_factory=list)
    start: int = 0
    """Items before ``start`` were truncated server-side: kept, but not sent."""
    removed: set[str] = field(default_factory=set)
    spent: list[int] = field(default_factory=lambda: [0, 0])
    """Summarizer (input, output) tokens spent this turn."""

    @property
    def visible(self) -> list[llm.ChatItem]:
        return self.conversation[self.start :]

    def summary(
        self, items: Sequence[llm.ChatItem], *, item_id: str, role: llm.ChatRole, fold: bool = True
    ) -> llm.ChatMessage:
        """Summarize ``items`` (earlier summaries among them folded unless ``fold`` is off)."""
        previous = [
            i for i in items if isinstance(i, llm.ChatMessage) and i.extra.get("is_summary")
        ]
        span = [i for i in items if i not in previous]
        text, tokens_in, tokens_out = self.replay.summarize(span, previous if fold else ())
        self.spent[0] += tokens_in
        self.spent[1] += tokens_out
        self.result.compactions += 1
        return summary_item(text, item_id=item_id, role=role)


class SimPolicy(Protocol):
    """A baseline: hooks the simulation calls around each turn and response."""

    name: str
    kind: Kind

    def before_turn(self, state: SimState, turn: int) -> None: ...
    def before_response(self, state: SimState) -> None: ...
    def after_turn(self, state: SimState, last: Response) -> None: ...


class NoCompaction:
    """Lets the context grow."""

    def __init__(self, name: str = "none (simulated)", kind: Kind = "none") -> None:
        self.name = name
        self.kind: Kind = kind

    def before_turn(self, state: SimState, turn: int) -> None:
        return None

    def before_response(self, state: SimState) -> None:
        return None

    def after_turn(self, state: SimState, last: Response) -> None:
        return None


class ServerTruncation(NoCompaction):
    """OpenAI's server-side ``truncation`` with ``post_instructions`` at the budget."""

    def __init__(self, name: str, *, budget: int, retention_ratio: float | None = None) -> None:
        super().__init__(name, "drop")
        self.budget = budget
        self.retention_ratio = retention_ratio

    def before_response(self, state: SimState) -> None:
        replay = state.replay
        limit = self.budget - sum(i.tokens for i in replay.sent([]))
        post = sum(replay.billed(item) for item in state.visible)
        if post <= limit:
            return
        goal = limit if self.retention_ratio is None else self.retention_ratio * limit
        while post > goal and state.start < len(state.conversation) - 1:
            item = state.conversation[state.start]
            post -= replay.billed(item)
            state.removed.add(item.id)
            state.start += 1


class CookbookSummarizer(NoCompaction):
    """The OpenAI cookbook's realtime summarizer (trigger on the last response's total tokens)."""

    def __init__(self, name: str, *, trigger_tokens: int, keep_messages: int = 2) -> None:
        super().__init__(name, "summary")
        self.trigger_tokens = trigger_tokens
        self.keep_messages = keep_messages

    def after_turn(self, state: SimState, last: Response) -> None:
        total = sum(i.tokens for i in last.context) + last.output_text + last.output_audio
        conv = state.conversation
        messages = [i for i, item in enumerate(conv) if isinstance(item, llm.ChatMessage)]
        if total < self.trigger_tokens or len(messages) <= self.keep_messages:
            return
        cut = messages[-self.keep_messages]
        old = conv[:cut]
        summary_id = f"cookbook_summary_{state.result.compactions}"
        summary = state.summary(old, item_id=summary_id, role="system")
        state.removed.update(item.id for item in old)
        conv[:cut] = [summary]


class NaiveEveryTurn(NoCompaction):
    """livekit's ``ChatContext._summarize(keep_last_turns=2)``, called after every turn."""

    def __init__(self, name: str, *, keep_last_turns: int = 2) -> None:
        super().__init__(name, "summary")
        self.keep_last_turns = keep_last_turns

    def after_turn(self, state: SimState, last: Response) -> None:
        conv = state.conversation
        budget, count, split = self.keep_last_turns * 2, 0, None
        for i in range(len(conv) - 1, -1, -1):
            item = conv[i]
            if isinstance(item, llm.ChatMessage) and item.role in ("user", "assistant"):
                count += 1
                if count >= budget:
                    split = i
                    break
        if not split:
            return
        head = conv[:split]
        kept = [i for i in head if isinstance(i, llm.ChatMessage) and i.extra.get("is_summary")]
        span = [i for i in head if i not in kept]
        if not span:
            return
        summary_id = f"naive_summary_{state.result.compactions}"
        summary = state.summary(span, item_id=summary_id, role="assistant", fold=False)
        state.removed.update(item.id for item in span)
        conv[:split] = [*kept, summary]


class ScheduledCuts(NoCompaction):
    """Replays a schedule: before turn t, cut the context down to turns >= ``cuts[t]``."""

    def __init__(self, name: str, cuts: dict[int, int], mode: Mode) -> None:
        super().__init__(name, mode)
        self.cuts = cuts
        self.mode = mode

    def before_turn(self, state: SimState, turn: int) -> None:
        cut = self.cuts.get(turn)
        if cut is None:
            return
        turn_of = state.replay.turn_of
        old = [i for i in state.conversation if turn_of.get(i.id, -1) < cut]
        state.removed.update(item.id for item in old)
        rest = state.conversation[len(old) :]
        if self.mode == "summary":
            rest.insert(0, state.summary(old, item_id=f"floor_summary_{turn}", role="system"))
        else:
            state.result.compactions += 1
        state.conversation[:] = rest


def simulate(replay: Replay, policy: SimPolicy, *, run: Literal["sim", "DP"] = "sim") -> RunResult:
    """Replay the script under ``policy``; every response's context is recorded for the bill."""
    result = RunResult(policy.name, run, policy.kind)
    state = SimState(replay, result)
    for turn, items in enumerate(replay.turn_items):
        policy.before_turn(state, turn)
        before = {i.id for i in state.visible}
        user, *middle, assistant = items
        state.conversation.append(user)
        for k, (text_out, audio_out) in enumerate(replay.outputs[turn]):
            policy.before_response(state)
            response = Response(turn, replay.sent(state.visible), text_out, audio_out)
            result.responses.append(response)
            if k == 0:
                state.conversation.extend(middle)
        state.conversation.append(assistant)
        policy.after_turn(state, result.responses[-1])
        result.lost += len(before - {i.id for i in state.visible} - state.removed)
        result.summarizer_by_turn.append((state.spent[0], state.spent[1]))
        state.spent = [0, 0]
    return result


@dataclass(frozen=True)
class Floor:
    """The cheapest schedule found offline, replayed."""

    result: RunResult
    cuts: dict[int, int]
    """Turn -> first turn kept, for every turn before which a compaction happens."""
    prompt_usd: float
    """The DP's own price of the schedule's prompts; billing the replay must give the same."""


class _Timeline:
    """The script's items as prefix sums, to price a context by arithmetic, not by replay."""

    def __init__(self, replay: Replay, prices: ModelPrices, rules: CacheRules) -> None:
        self.tok, self.aud, self.start = [0], [0], []
        for items in replay.turn_items:
            self.start.append(len(self.tok) - 1)
            for item in items:
                sent = billing_view([item], replay.call, replay.counter, 0, speech=replay.speech)[0]
                self.tok.append(self.tok[-1] + sent.tokens)
                self.aud.append(self.aud[-1] + (sent.tokens if sent.modality == "audio" else 0))
        self.start.append(len(self.tok) - 1)
        # each response's context ends after the user message, or after the tool output
        self.ends = [
            [self.start[t] + 1] + ([self.start[t] + 3] if len(items) == 4 else [])
            for t, items in enumerate(replay.turn_items)
        ]
        self.head = sum(i.tokens for i in replay.sent([]))
        self.rules = rules
        self.rate = {  # a text model has no audio prices (and bills no audio)
            k: prices.rate(k) if k in prices.figures else 0.0
            for k in ("text_input", "text_cached_input", "audio_input", "audio_cached_input")
        }

    def size(self, top: int, c: int, end: int) -> int:
        """Tokens of head + summary (``top``) + turns from ``c`` up to item ``end``."""
        return top + self.tok[end] - self.tok[self.start[c]]

    def price(self, top: int, c: int, end: int, prefix: int) -> float:
        """Dollars of one prompt whose first ``prefix`` tokens are unchanged."""
        tok, aud, first = self.tok, self.aud, self.start[c]
        cached = self.rules.cached(prefix)
        text_hit, audio_hit = min(cached, top), 0
        if cached > top:
            target = tok[first] + cached - top
            j = bisect.bisect_right(tok, target) - 1
            audio_hit = aud[j] - aud[first]
            text_hit += tok[j] - tok[first] - audio_hit
            if target > tok[j]:  # the last 128-token step ends inside item j
                if aud[j + 1] > aud[j]:
                    audio_hit += target - tok[j]
                else:
                    text_hit += target - tok[j]
        audio = aud[end] - aud[first]
        text = self.size(top, c, end) - audio
        r = self.rate
        return (
            r["text_cached_input"] * text_hit
            + r["audio_cached_input"] * audio_hit
            + r["text_input"] * (text - text_hit)
            + r["audio_input"] * (audio - audio_hit)
        )


def floor(
    replay: Replay,
    prices: ModelPrices,
    *,
    budget: int,
    mode: Mode,
    summarizer: ModelPrices,
    min_tail_turns: int = 1,
    rules: CacheRules = CacheRules(),
    name: str | None = None,
) -> Floor:
    """The cheapest schedule of compactions that keeps every response within ``budget``.

    ``min_tail_turns``: a compaction keeps at least this many turns, the one being
    answered included (1: the physical limit; a policy's ``keep_last_turns`` to
    price that policy's own schedule).

    State: the first turn kept (``c``) after each turn. Between turns the schedule
    keeps ``c`` (the prompt extends the previous one and hits the cache) or moves
    it forward (a compaction: everything after the instructions and tools is
    billed uncached once, and the summarizer is paid). The summarizer's prompt is
    priced from per-turn token counts; the reported floor bills the replay exactly.
    """
    n = len(replay.turn_items)
    line = _Timeline(replay, prices, rules)
    counter, builder = replay.counter, replay._summarizer
    # the stand-in's summary of turns [0, c) does not depend on when it was folded:
    # it keeps every sentence with a name or a number once, in order
    top, s_out, rendered = [line.head] * (n + 1), [0] * (n + 1), [0] * (n + 1)
    sentences: list[str] = []
    for c in range(1, n + 1):
        prompt = builder.build_prompt(replay.turn_items[c - 1])
        rendered_turn = prompt.messages()[-1].text_content or ""
        sentences += [s for s in fact_sentences(rendered_turn) if s not in sentences]
        text = replay.cut("\n".join(sentences) or NOTHING_TO_KEEP)
        s_out[c] = counter.count_text(text)
        if mode == "summary":
            top[c] += counter.count_item(summary_item(text, item_id=f"floor_{c}"))
        rendered[c] = rendered[c - 1] + counter.count_items(prompt.items[-1:])[0]
    overhead = counter.count_items(builder.build_prompt(replay.turn_items[0]).items[:1])[0]
    rate_in = summarizer.rate("text_input") if mode == "summary" else 0.0
    rate_out = summarizer.rate("text_output") if mode == "summary" else 0.0

    def turn_cost(c: int, t: int, compacted: bool) -> float:
        prefix = (
            line.head if compacted else (line.size(top[c], c, line.ends[t - 1][-1]) if t else 0)
        )
        total = 0.0
        for end in line.ends[t]:
            if line.size(top[c], c, end) > budget:
                return INF
            total += line.price(top[c], c, end, prefix)
            prefix = line.size(top[c], c, end)
        return total

    value = [turn_cost(0, 0, False)] + [INF] * n
    back: list[list[int]] = [list(range(n + 1))]
    for t in range(1, n):
        new, choice = [INF] * (n + 1), list(range(n + 1))
        best, arg = INF, 0  # min over c0 < c of value[c0] + the c0-dependent summarizer share
        for c in range(t + 1):
            if 0 < c <= t + 1 - min_tail_turns:
                share = value[c - 1] + rate_in * (s_out[c - 1] - rendered[c - 1])
                if share < best:
                    best, arg = share, c - 1
                fold = rate_in * (overhead + rendered[c]) + rate_out * s_out[c]
                moved = best + fold + turn_cost(c, t, True)
                if moved < new[c]:
                    new[c], choice[c] = moved, arg
            if c < t and value[c] < INF:
                stay = value[c] + turn_cost(c, t, False)
                if stay < new[c]:
                    new[c], choice[c] = stay, c
        value = new
        back.append(choice)
    c = min(range(n + 1), key=lambda k: value[k])
    if value[c] == INF:
        raise ValueError(f"no schedule keeps every response within {budget} tokens")
    kept = [0] * n
    for t in range(n - 1, -1, -1):
        kept[t] = c
        c = back[t][c]
    cuts = {t: kept[t] for t in range(1, n) if kept[t] != kept[t - 1]}
    prompt_usd = sum(turn_cost(kept[t], t, t in cuts) for t in range(n))
    if name is None:
        name = f"floor: {'summarize' if mode == 'summary' else 'trim'}, tail >= {min_tail_turns}"
    result = simulate(replay, ScheduledCuts(name, cuts, mode), run="DP")
    return Floor(result, cuts, prompt_usd)


INF = float("inf")
