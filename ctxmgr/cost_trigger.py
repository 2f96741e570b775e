"""When compacting pays: the cost rule, from the price table.

```python
rule = CostTrigger.from_settings(Settings(policy="realtime"))   # None without trigger.price_model
due = rule.on_response(CutEstimate(folded_tokens=8_200, kept_tokens=900, folded_text_tokens=7_900))
```

Every response bills the whole context it is sent, the prefix the provider's cache
still holds at the cached rate. Carrying the part a compaction would fold costs that
cached rate once per response; a compaction costs once: the part it keeps is billed
uncached on the next response (the summary at the head changes the prefix) and the
summarizer is paid to read the folded span and write the summary. The rule rents
until renting has cost as much as buying (ski rental): it adds up, response by
response since the last compaction, what carrying the foldable part cost, and
compacts when that sum reaches what a compaction would cost now. The budget's
high-water mark still fires on its own: the rule only ever compacts earlier.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from livekit.agents import llm

from .chat_items import is_instruction, is_reply, is_spoken_turn
from .cost import CacheRules, Modality, ModelPrices, load_prices
from .guard import TailWindow, frozen_boundary
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
    outside_tokens: int = 0,
    sent_before: Collection[str] = (),
) -> CutEstimate:
    """A compaction cutting everything before the tail window, priced from item counts.

    ``counts`` are text tokens per item. ``speech_scale``: what the provider bills per
    transcript token of a spoken turn (audio is billed per second; 1 for text).
    ``outside_tokens``: what the provider is sent before the items (tool definitions;
    a realtime session's instructions, which are not an item there).
    ``sent_before``: ids of the items the response before was sent. What the model
    produced since (its reply, its tool calls and their outputs) is *fresh*: the next
    response is the first to be sent it, uncached, unless a compaction folds it first.
    That is counted only with an empty tail window: otherwise the reply sits in the tail
    when it could be folded, and it counts as carried, at the cached rate. With an empty
    tail window, what is kept and new (the turn being answered) is billed uncached either
    way: it is not counted as re-billed.
    """
    boundary = frozen_boundary(items, counts, tail, protected_ids).index
    # what the response before was not sent counts apart only with an empty tail window
    new_apart = tail.keep_last_turns == 0 and tail.keep_last_tokens == 0 and bool(sent_before)
    head = outside_tokens
    folded = folded_text = kept = fresh = fresh_text = 0.0
    for i, (item, count) in enumerate(zip(items, counts)):
        if i < boundary and is_instruction(item):
            head += count
            continue
        billed = count * speech_scale if is_spoken_turn(item) else count
        new = new_apart and item.id not in sent_before
        if i < boundary:
            folded += billed
            folded_text += count
            if new and isinstance(item, (llm.FunctionCall, llm.FunctionCallOutput)):
                fresh_text += count
            elif new and is_reply(item):
                fresh += billed
        elif not new:
            kept += billed  # (the turn being answered is uncached either way)
    return CutEstimate(
        round(folded), round(kept), round(folded_text), head, round(fresh), round(fresh_text)
    )


class CostTrigger:
    """Compacts when carrying the foldable part has cost what a compaction would.

    Args:
        prices: the conversation model's price list.
        summarizer: the summarizer's price list; ``None`` when nothing is summarized (trim).
        speech: how the conversation's turns are billed (``audio`` on a speech-to-speech
            model, ``text`` on a pipeline or a text-only session).
        summary_tokens: the summary's expected size.
        margin: compact when the rent reaches ``margin`` x the compaction's cost (1: the
            break-even of the ski-rental rule).
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
        """What carrying the foldable part has cost since the last compaction."""
        self.responses = 0
        """Responses since the last compaction."""

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
        """What one response pays to carry what the compaction would fold, less the
        summary that would replace it: the fresh part at the uncached rate, the rest cached."""
        p, speech = self.prices, self.speech
        fresh = cut.fresh_tokens + cut.fresh_text_tokens
        cached = max(0, cut.folded_tokens - fresh - self.summary_tokens)
        return (
            cached * p.rate(f"{speech}_cached_input")
            + cut.fresh_tokens * p.rate(f"{speech}_input")
            + cut.fresh_text_tokens * p.rate("text_input")
        )

    def compaction_usd(self, cut: CutEstimate) -> float:
        """What a compaction now costs beyond not compacting: the kept part re-billed
        uncached once, and the summarizer."""
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
        read = cut.folded_text_tokens + SUMMARY_PROMPT_TOKENS
        return (
            rebill
            + read * self.summarizer.rate("text_input")
            + self.summary_tokens * self.summarizer.rate("text_output")
        )

    def on_response(self, cut: CutEstimate) -> bool:
        """A response was sent the context ``cut`` describes: add its carrying cost; is a
        compaction now due?"""
        self.responses += 1
        self.rent_usd += self.carry_usd(cut)
        return self.due(cut)

    def due(self, cut: CutEstimate) -> bool:
        """Whether the rent so far pays for a compaction now."""
        if cut.folded_tokens <= self.summary_tokens:
            return False
        return self.rent_usd >= self.margin * self.compaction_usd(cut)

    def reset(self) -> None:
        """A compaction was applied (or found nothing to fold): renting starts over."""
        self.rent_usd = 0.0
        self.responses = 0
