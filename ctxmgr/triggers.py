"""When to compact: the high-water mark, from settings. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .settings import Settings

__all__ = ["Trigger", "TriggerDecision", "TriggerCondition"]

TriggerCondition = Literal["tokens", "window_fraction", "items"]


@dataclass(frozen=True)
class TriggerDecision:
    """Whether to compact now, and which conditions held."""

    fire: bool
    held: tuple[TriggerCondition, ...]
    """Conditions that held (all of them are listed, whatever the mode)."""


@dataclass(frozen=True)
class Trigger:
    """Fires when the context passes the high-water mark.

    Usage::

        trigger = Trigger.from_settings(settings)
        if trigger.check(tokens=counter.count(ctx), items=len(ctx.items)).fire:
            ...
    """

    tokens: int | None = None
    """Token high-water mark."""
    window_tokens: int | None = None
    """``window_fraction`` x ``context_window``, in tokens."""
    items: int | None = None
    """Item-count high-water mark."""
    mode: Literal["any", "all"] = "any"

    @classmethod
    def from_settings(cls, settings: Settings) -> Trigger:
        """The trigger a ``Settings`` describes."""
        t = settings.trigger
        window = (
            int(t.window_fraction * t.context_window)
            if t.window_fraction is not None and t.context_window is not None
            else None
        )
        return cls(tokens=settings.high_water_tokens, window_tokens=window, items=t.items, mode=t.mode)

    def check(self, *, tokens: int, items: int) -> TriggerDecision:
        """Evaluate the configured conditions against the context's size."""
        conditions: list[tuple[TriggerCondition, bool]] = []
        if self.tokens is not None:
            conditions.append(("tokens", tokens >= self.tokens))
        if self.window_tokens is not None:
            conditions.append(("window_fraction", tokens >= self.window_tokens))
        if self.items is not None:
            conditions.append(("items", items >= self.items))
        held = tuple(name for name, ok in conditions if ok)
        if not conditions:
            return TriggerDecision(False, held)
        fire = all(ok for _, ok in conditions) if self.mode == "all" else bool(held)
        return TriggerDecision(fire, held)
