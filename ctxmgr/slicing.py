"""Long walks over chat items, cut into slices so that the event loop runs between them.

A compaction of a long call copies and digests hundreds or thousands of items; done in
one go, that holds the event loop (and every session on it) for tens of milliseconds.
``in_slices`` does the same work in slices of ``SLICE_S``, yielding to the loop between
them: what each item gets is computed in one piece, at one moment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["SLICE_S", "in_slices"]

SLICE_S = 0.001
"""The longest stretch of work between two yields to the event loop."""

_T = TypeVar("_T")
_R = TypeVar("_R")


async def in_slices(items: Iterable[_T], fn: Callable[[_T], _R]) -> list[_R]:
    """``[fn(item) for item in items]``, yielding to the event loop every ``SLICE_S``."""
    out: list[_R] = []
    clock = time.perf_counter
    deadline = clock() + SLICE_S
    for item in items:
        out.append(fn(item))
        if clock() >= deadline:
            await asyncio.sleep(0)
            deadline = clock() + SLICE_S
    return out
