"""Cost model: what a provider bills for the contexts a session sent, prompt cache included.

```python
from ctxmgr.cost import CostModel, PromptBill, SentItem, load_prices

prices = load_prices()                                   # ctxmgr/data/prices.toml
model = CostModel(prices["gpt-realtime"])
bills = model.bill(contexts, outputs=[(0, 140), (12, 0)])  # one context per response
total = sum(bills, PromptBill())
print(total.cached_tokens, total.uncached_tokens, model.usd(total))
```

The rules, as OpenAI documents prompt caching (Realtime and chat models alike):

- every response is billed for the whole context it was sent, as a list of
  :class:`SentItem` in order;
- the longest prefix unchanged since the previous response's context (items equal
  by id and content fingerprint) is billed at the cached rate, the rest uncached;
- a prefix under 1,024 tokens is never cached, and cache hits count in 128-token
  steps (a 1,300-token prefix bills 1,280 tokens cached, 20 uncached);
- so a compaction that deletes or inserts at position p re-bills everything after
  p uncached on the next response; the responses after that hit the cache again.

Not modelled: cache eviction after minutes of inactivity, the transcript tokens
billed beside audio output, per-message special tokens.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable

    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    from importlib.abc import Traversable

    import tomli as tomllib

__all__ = [
    "BillingClass",
    "CacheRules",
    "CostModel",
    "Modality",
    "ModelPrices",
    "Price",
    "PromptBill",
    "SentItem",
    "bill_prompt",
    "common_prefix_tokens",
    "load_prices",
]

Modality = Literal["text", "audio"]
"""How an item's tokens are billed."""

BillingClass = Literal[
    "text_input",
    "text_cached_input",
    "text_output",
    "audio_input",
    "audio_cached_input",
    "audio_output",
]
"""One line of a provider's price list; ``*_input`` is the uncached rate."""

_CLASSES: tuple[str, ...] = get_args(BillingClass)
_FIGURE_KEYS = frozenset({"usd_per_million", "date", "source"})


@dataclass(frozen=True)
class SentItem:
    """One item of a context sent to the model, as the bill sees it."""

    item_id: str
    """The item's id; with ``fingerprint``, what decides whether the prefix is unchanged."""

    fingerprint: str
    """A digest of the item's content: an item edited in place breaks the prefix too."""

    tokens: int
    """What the provider counts for this item."""

    modality: Modality = "text"
    """``audio`` items are billed at the audio rates."""


@dataclass(frozen=True)
class Price:
    """One published price figure."""

    usd_per_million: float
    """US dollars per 1M tokens."""

    date: str
    """When the figure was published (ISO date)."""

    source: str
    """Where it was published (URL)."""


@dataclass(frozen=True)
class ModelPrices:
    """A model's price list: one :class:`Price` per billing class it has."""

    model: str
    figures: Mapping[str, Price]
    """Billing class -> price; a text-only model has no ``audio_*`` entries."""

    def rate(self, kind: str) -> float:
        """Dollars per token for ``kind``.

        Raises:
            KeyError: the model has no price for ``kind`` (e.g. audio on a text model).
        """
        figure = self.figures.get(kind)
        if figure is None:
            raise KeyError(f"{self.model} has no {kind} price; it has {sorted(self.figures)}")
        return figure.usd_per_million / 1_000_000

    def usd(self, bill: PromptBill) -> float:
        """Dollars for ``bill``; classes with zero tokens need no price."""
        return sum(count * self.rate(kind) for kind in _CLASSES if (count := bill.tokens(kind)) > 0)


@dataclass(frozen=True)
class PromptBill:
    """Tokens of one response (or a sum of them), by billing class."""

    text_input: int = 0
    """Uncached text input."""
    text_cached_input: int = 0
    audio_input: int = 0
    """Uncached audio input."""
    audio_cached_input: int = 0
    text_output: int = 0
    audio_output: int = 0

    def tokens(self, kind: str) -> int:
        """Tokens billed as ``kind``."""
        value: int = getattr(self, kind)
        return value

    @property
    def cached_tokens(self) -> int:
        """Input tokens billed at the cached rate."""
        return self.text_cached_input + self.audio_cached_input

    @property
    def uncached_tokens(self) -> int:
        """Input tokens billed at the full rate."""
        return self.text_input + self.audio_input

    @property
    def prompt_tokens(self) -> int:
        """All input tokens, cached or not."""
        return self.cached_tokens + self.uncached_tokens

    @property
    def output_tokens(self) -> int:
        """Text and audio output tokens."""
        return self.text_output + self.audio_output

    def __add__(self, other: PromptBill) -> PromptBill:
        return PromptBill(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True)
class CacheRules:
    """When a prefix is a cache hit, and how much of it counts."""

    min_prefix_tokens: int = 1024
    """A prefix shorter than this is never cached."""

    step_tokens: int = 128
    """Cache hits count in whole steps of this many tokens."""

    def cached(self, prefix_tokens: int) -> int:
        """Tokens billed cached for an unchanged prefix of ``prefix_tokens``."""
        if prefix_tokens < self.min_prefix_tokens:
            return 0
        return prefix_tokens // self.step_tokens * self.step_tokens


def common_prefix_tokens(previous: Sequence[SentItem], current: Sequence[SentItem]) -> int:
    """Tokens of the longest run of items, from the start, equal by id and fingerprint."""
    total = 0
    for before, now in zip(previous, current):
        if before.item_id != now.item_id or before.fingerprint != now.fingerprint:
            break
        total += now.tokens
    return total


def bill_prompt(
    previous: Sequence[SentItem] | None,
    current: Sequence[SentItem],
    *,
    rules: CacheRules = CacheRules(),
    output_text: int = 0,
    output_audio: int = 0,
) -> PromptBill:
    """The bill of one response sent ``current`` after a response sent ``previous``.

    The cached tokens are taken from the start of ``current`` in order, so a 128-token
    step that ends inside an item splits that item between cached and uncached.
    """
    cached = rules.cached(common_prefix_tokens(previous or (), current))
    split = {"text": [0, 0], "audio": [0, 0]}  # modality -> [cached, uncached]
    for item in current:
        hit = min(cached, item.tokens)
        cached -= hit
        split[item.modality][0] += hit
        split[item.modality][1] += item.tokens - hit
    return PromptBill(
        text_input=split["text"][1],
        text_cached_input=split["text"][0],
        audio_input=split["audio"][1],
        audio_cached_input=split["audio"][0],
        text_output=output_text,
        audio_output=output_audio,
    )


class CostModel:
    """Bills a session's responses under one model's prices and the cache rules.

    Usage::

        model = CostModel(load_prices()["gpt-realtime"])
        bills = model.bill(contexts, outputs=outputs)    # one PromptBill per response
        dollars = [model.usd(b) for b in bills]

    Args:
        prices: the model's price list.
        rules: the prompt cache's rules (OpenAI's by default).
    """

    def __init__(self, prices: ModelPrices, rules: CacheRules = CacheRules()) -> None:
        self.prices = prices
        self.rules = rules

    def bill(
        self,
        contexts: Iterable[Sequence[SentItem]],
        outputs: Iterable[tuple[int, int]] | None = None,
    ) -> list[PromptBill]:
        """One bill per response, in order.

        Args:
            contexts: the context each response was sent, in order.
            outputs: ``(text_tokens, audio_tokens)`` each response produced; ``None``: none.
        """
        contexts = list(contexts)
        outs = list(outputs) if outputs is not None else [(0, 0)] * len(contexts)
        if len(outs) != len(contexts):
            raise ValueError(f"{len(contexts)} contexts but {len(outs)} outputs")
        bills: list[PromptBill] = []
        previous: Sequence[SentItem] | None = None
        for context, (text_out, audio_out) in zip(contexts, outs):
            bills.append(
                bill_prompt(
                    previous,
                    context,
                    rules=self.rules,
                    output_text=text_out,
                    output_audio=audio_out,
                )
            )
            previous = context
        return bills

    def usd(self, bill: PromptBill) -> float:
        """Dollars for ``bill`` (input and output)."""
        return self.prices.usd(bill)


PriceSource = str | Path | Traversable


def load_prices(source: PriceSource | None = None) -> dict[str, ModelPrices]:
    """Read a price table: ``{model: {billing_class: {usd_per_million, date, source}}}``.

    Args:
        source: a TOML file; ``None`` reads the table shipped in ``ctxmgr/data/prices.toml``.

    Raises:
        ValueError: an unknown billing class, or a figure without its price, date or
            source (the message names the file, the model and the class).
    """
    if source is None:
        source = resources.files("ctxmgr").joinpath("data", "prices.toml")
    elif isinstance(source, str):
        source = Path(source)
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    table: dict[str, ModelPrices] = {}
    for model, entries in data.items():
        if not isinstance(entries, dict):
            raise ValueError(f"{source}: {model!r} must be a table of billing classes")
        figures: dict[str, Price] = {}
        for kind, figure in entries.items():
            where = f"{source}: {model}.{kind}"
            if kind not in _CLASSES:
                raise ValueError(f"{where}: unknown billing class; allowed: {', '.join(_CLASSES)}")
            if not isinstance(figure, dict) or set(figure) != _FIGURE_KEYS:
                raise ValueError(f"{where}: needs exactly {', '.join(sorted(_FIGURE_KEYS))}")
            figures[kind] = Price(
                usd_per_million=float(figure["usd_per_million"]),
                date=str(figure["date"]),
                source=str(figure["source"]),
            )
        table[model] = ModelPrices(model, figures)
    return table
