"""The scripted support call behind ``make demo`` and ``ctxmgr simulate``.

A deterministic ~120-turn call played through a real ``AgentSession`` with an
offline stand-in model, once per preset and once without a manager, beside the
baselines (server-side truncation, the OpenAI cookbook's summarizer, a naive
every-turn summarizer) and the offline floor, all billed by :mod:`ctxmgr.cost`.
"""

from .run import main

__all__ = ["main"]
