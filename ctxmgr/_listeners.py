"""Callbacks for livekit's event emitters that cost nothing to look at.

``rtc.EventEmitter.emit`` asks ``inspect.signature`` of every callback, on every event,
to know how many arguments to pass it: some 10 µs for a bound method, several times a
turn per session. A plain function that carries its signature (``__signature__``)
answers at once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["listener"]


def listener(handle: Callable[[Any], None]) -> Callable[[Any], None]:
    """``handle`` as an event callback whose signature livekit reads without computing it."""

    def on_event(ev: Any) -> None:
        handle(ev)

    on_event.__signature__ = inspect.signature(on_event)  # type: ignore[attr-defined]
    return on_event
