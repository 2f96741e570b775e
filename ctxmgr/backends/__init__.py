"""Where a plan lands: one small seam, like an httpx transport."""

from .agent import AgentBackend
from .base import Backend

__all__ = ["AgentBackend", "Backend"]
