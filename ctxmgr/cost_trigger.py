"""When compacting pays: the cost rule, from the price table.

```python
rule = CostTrigger.from_settings(Settings(policy="realtime"))   # None without trigger.price_model
rule.on_response(cut_sent)      # each response: what it paid to carry the foldable part
due = rule.due(cut_now)         # at the end of a turn: is a compaction due?
```

Every response bills the whole context it is sent, the prefix the provider's cache
still holds at the cached rate. A compaction has a fixed price (K): the part it keeps
is billed uncached on the next response (the summary at the head changes the prefix),
and the summarizer is paid its instructions, the previous summary it re-reads and the
summary it writes. Reading the folded span is not part of it: each item is read once,
whenever it is folded. Not compacting has a price per response (m): carrying the part a
compaction would fold at the cached rate, sending the model's latest output (its reply,
its tool calls) for the first time, uncached, and re-billing the cache's last partial
step (hits count in whole steps). A compaction resets m: the context it leaves holds
nothing to carry, and the first response after it is billed uncached whole, in K.

A cycle of T responses between two compactions costs K + m_1 + ... + m_T, and m only
grows within a cycle (the context only grows). The cheapest cost per response is then
reached at the first T where one more response would cost more than the cycle's
average so far: m_(T+1) x T >= K + m_1 + ... + m_T. That is the rule, checked when a
turn ends (a turn of several responses is folded whole), with m_(T+1) priced from the
context as it is then. With a carrying cost that grows by the same amount every
response it is exactly the best cycle length (sqrt(2K/c) responses for growth c).

That rule assumes every cycle grows as this one: what a cycle carries without growing
(a preloaded history, one large tool output) raises every response's cost alike and
never the average's slope, yet a compaction removes it for good. So the rule also
compacts once carrying, at the cached rate, has cost K since the last compaction (ski
rental: rent until renting has cost the price of buying), whichever comes first; under
steady growth both say the same response. ``margin`` scales K (1: the rule as
derived). The budget's high-water mark still fires on its own: the rule only ever
compacts earlier.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import mul, not_
from typing import TYPE_CHECKING

from livekit.agents import llm

from .chat_items import CALL, INSTRUCTION, MESSAGE, OUTPUT, USER_TURN, kind_of
from .cost import CacheRules, Modality, ModelPrices, load_prices
from .guard import TailWindow, frozen_boundary
from .tally import Tally
from .tokens import TokenCounter

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["CostTrigger", "CutEstimate", "estimate_cut", "tools_tokens"]

SUMMARY_PROMPT_TOKENS = 450
"""The summarizer's instructions and form, besides the folded items (the built-in prompt)."""


@dataclass(frozen=True)
class CutEstimate:
    """What a compaction now would fold and keep, in the units the bill counts."""

    folded_tokens: int
    """What the compaction removes: what each response carries until it runs."""
    kept_tokens: int
    """The tail it keeps after the new summary: re-billed uncached once (the
    instructions before the summary stay a cached prefix and are not counted)."""
    folded_text_tokens: int
    """The folded items as the summarizer reads them (transcripts: text tokens)."""
    head_tokens: int = 0
    """The instructions before the cut: a prefix the cache keeps, unless it is too short."""
    fresh_tokens: int = 0
    """Of ``folded_tokens``, the model's own spoken replies the response before was not
    sent: the next response bills them uncached (see ``estimate_cut``)."""
    fresh_text_tokens: int = 0
    """The same for its tool calls and their outputs (text)."""
    prefix_end_spoken: bool | None = None
    """Whether the context the response before was sent ends in speech (the next response
    bills the last, partial cache step of it uncached); ``None``: nothing was sent."""


def tools_tokens(tools: Sequence[llm.Tool | llm.Toolset], counter: TokenCounter) -> int:
    """Tokens of the tool definitions, as OpenAI's function schema spells them."""
    schema = llm.ToolContext(list(tools)).parse_function_tools("openai")
    return counter.count_text(json.dumps(schema)) if schema else 0


def estimate_cut(
    items: Sequence[llm.ChatItem],
    counts: Sequence[int],
    tail: TailWindow,
    *,
    protected_ids: Collection[str] = (),
    speech_scale: float = 1.0,
    agent_speech_scale: float | None = None,
    outside_tokens: int = 0,
    sent_before: Collection[str] = (),
    tally: Tally | None = None,
) -> CutEstimate:
    """A compaction cutting everything before the tail window, priced from item counts.

    ``counts`` are text tokens per item. ``speech_scale``: what the provider bills per
    transcript token of a spoken turn (audio is billed per second; 1 for text);
    ``agent_speech_scale``, the same for the agent's own speech when it differs (see
    ``ctxmgr.speech_rates``).
    ``outside_tokens``: what the provider is sent before the items (tool definitions;
    a realtime session's instructions, which are not an item there).
    ``sent_before``: ids of the items the response before was sent. What the model
    produced since (its reply, its tool calls and their outputs) is *fresh*: the next
    response is the first to be sent it, uncached, unless a compaction folds it first.
    That is counted only with an empty tail window: otherwise the reply sits in the tail
    when it could be folded, and it counts as carried, at the cached rate. With an empty
    tail window, what is kept and new (the turn being answered) is billed uncached either
    way: it is not counted as re-billed.
    ``tally``: ``items``' tally, when the caller has one: its facts are read instead of
    the items (the same answer, faster: the manager prices the context every response).
    """
    b = frozen_boundary(items, counts, tail, protected_ids, tally=tally).index
    ids = tally.ids if tally is not None else [item.id for item in items]
    kinds = tally.kinds if tally is not None else [kind_of(item) for item in items]
    agent_scale = speech_scale if agent_speech_scale is None else agent_speech_scale
    scale = {MESSAGE: agent_scale, MESSAGE | USER_TURN: speech_scale}  # the spoken turns
    billed = list(map(mul, counts, map(scale.get, kinds, repeat(1.0))))
    # before the boundary: the instructions stay (the head), the rest is folded
    instructions = sum(c for k, c in zip(kinds[:b], counts[:b]) if k & INSTRUCTION)
    head = outside_tokens + instructions
    folded_text = sum(counts[:b]) - instructions
    folded = sum(x for k, x in zip(kinds[:b], billed[:b]) if not k & INSTRUCTION)
    sent = list(map(sent_before.__contains__, ids)) if sent_before else [False] * len(ids)
    last_sent = next((i for i in range(len(sent) - 1, -1, -1) if sent[i]), None)
    end_spoken = None if last_sent is None else kinds[last_sent] in scale
    # what the response before was not sent counts apart only with an empty tail window
    new_apart = tail.keep_last_turns == 0 and tail.keep_last_tokens == 0 and bool(sent_before)
    fresh = fresh_text = 0.0
    kept = sum(billed[b:])
    if new_apart:
        for i in compress(range(len(sent)), map(not_, sent)):
            if i >= b:
                kept -= billed[i]  # (the turn being answered is uncached either way)
            elif kinds[i] & (CALL | OUTPUT):
                fresh_text += counts[i]
            elif kinds[i] == MESSAGE:  # the agent's reply
                fresh += billed[i]
    return CutEstimate(
        round(folded),
        round(kept),
        round(folded_text),
        head,
        round(fresh),
        round(fresh_text),
        end_spoken,
    )


class CostTrigger:
    """Compacts when one more response would cost more than the cycle's average so far,
    or carrying has cost a compaction (the two rules above).

    Args:
        prices: the conversation model's price list.
        summarizer: the summarizer's price list; ``None`` when nothing is summarized (trim).
        speech: how the conversation's turns are billed (``audio`` on a speech-to-speech
            model, ``text`` on a pipeline or a text-only session).
        summary_tokens: the summary's expected size.
        margin: what the compaction's fixed price counts for in the cycle's cost (1:
            the rule as derived; less compacts sooner).
        rules: the provider's prompt-cache rules.
    """

    def __init__(
        self,
        prices: ModelPrices,
        *,
        summarizer: ModelPrices | None,
        speech: Modality,
        summary_tokens: int,
        margin: float = 1.0,
        rules: CacheRules = CacheRules(),
    ) -> None:
        if margin <= 0:
            raise ValueError(f"margin must be positive, not {margin}")
        self.prices = prices
        self.summarizer = summarizer
        self.speech: Modality = speech
        self.summary_tokens = summary_tokens if summarizer is not None else 0
        self.margin = margin
        self.rules = rules
        self.rent_usd = 0.0
        """What the responses since the last compaction paid for not compacting."""
        self.responses = 0
        """Responses since the last compaction."""
        self.carried_usd = 0.0
        """Of ``rent_usd``, what carrying cost at the cached rate."""

    @classmethod
    def from_settings(cls, settings: Settings) -> CostTrigger | None:
        """The rule ``settings.trigger.price_model`` names, or ``None`` when it names none."""
        t = settings.trigger
        if t.price_model is None:
            return None
        table = load_prices(t.prices_file)
        prices = table[t.price_model]
        speech = t.speech_billed_as or ("audio" if "audio_input" in prices.figures else "text")
        summarizer = None if settings.strategy == "trim" else table[t.summarizer_price_model]
        return cls(
            prices,
            summarizer=summarizer,
            speech=speech,
            summary_tokens=settings.summarizer.max_summary_tokens,
            margin=t.cost_margin,
        )

    def carry_usd(self, cut: CutEstimate) -> float:
        """What one response pays, at the cached rate, to carry what the compaction would
        fold, less the summary that would replace it. The fresh part is not rent: it is
        paid once whenever it is sent (see ``fresh_usd``)."""
        fresh = cut.fresh_tokens + cut.fresh_text_tokens
        cached = max(0, cut.folded_tokens - fresh - self.summary_tokens)
        return cached * self.prices.rate(f"{self.speech}_cached_input")

    def fresh_usd(self, cut: CutEstimate) -> float:
        """What the next response pays, uncached, to be sent for the first time what the
        compaction would fold of the model's output since the response before."""
        p = self.prices
        return cut.fresh_tokens * p.rate(f"{self.speech}_input") + cut.fresh_text_tokens * p.rate(
            "text_input"
        )

    def step_usd(self, cut: CutEstimate) -> float:
        """What the next response pays, on average, for the cache's last partial step: hits
        count in whole steps, so half a step of the end of the context the response
        before was sent is billed uncached again (a compaction's first response, billed
        uncached whole, does not pay it)."""
        if cut.prefix_end_spoken is None:
            return 0.0
        kind = self.speech if cut.prefix_end_spoken else "text"
        p = self.prices
        return self.rules.step_tokens / 2 * (p.rate(f"{kind}_input") - p.rate(f"{kind}_cached_input"))

    def compaction_usd(self, cut: CutEstimate) -> float:
        """A compaction's fixed price: the kept part re-billed uncached once, and the
        summarizer's instructions, the previous summary it re-reads and the summary it
        writes. Reading the folded span is not counted: each item is read once, whenever
        it is folded."""
        p, speech = self.prices, self.speech
        text_extra = p.rate("text_input") - p.rate("text_cached_input")
        # after the cut only the instructions stay a common prefix: too short, it is not cached
        head = cut.head_tokens - self.rules.cached(cut.head_tokens)
        rebill = (
            cut.kept_tokens * (p.rate(f"{speech}_input") - p.rate(f"{speech}_cached_input"))
            + (self.summary_tokens + head) * text_extra
        )
        if self.summarizer is None:
            return rebill
        read = SUMMARY_PROMPT_TOKENS + self.summary_tokens
        return (
            rebill
            + read * self.summarizer.rate("text_input")
            + self.summary_tokens * self.summarizer.rate("text_output")
        )

    def response_usd(self, cut: CutEstimate, *, first: bool = False) -> float:
        """What a response sent the context ``cut`` describes pays for not compacting:
        the carrying, the fresh part and (unless it is the ``first`` after a compaction,
        billed uncached whole) the cache's partial step."""
        step = 0.0 if first else self.step_usd(cut)
        return self.carry_usd(cut) + self.fresh_usd(cut) + step

    def on_response(self, cut: CutEstimate) -> None:
        """A response was sent the context ``cut`` describes: add what it paid."""
        self.rent_usd += self.response_usd(cut, first=not self.responses)
        self.carried_usd += self.carry_usd(cut)
        self.responses += 1

    def due(self, cut: CutEstimate) -> bool:
        """Whether a compaction now, cutting as ``cut`` says, is due: one more response
        would pay more than the cycle's average so far (``margin`` x the fixed price and
        the rent, over the responses since the last compaction), or carrying has cost
        ``margin`` x the fixed price already. Never before a response since the last
        compaction."""
        if not self.responses or cut.folded_tokens <= self.summary_tokens:
            return False
        price = self.margin * self.compaction_usd(cut)
        if self.carried_usd >= price:
            return True
        return self.response_usd(cut) * self.responses >= price + self.rent_usd

    def reset(self) -> None:
        """A compaction was applied (or found nothing to fold): a new cycle starts."""
        self.rent_usd = self.carried_usd = 0.0
        self.responses = 0
