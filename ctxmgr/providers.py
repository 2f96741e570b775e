"""Which realtime plugins can delete from the server's context, read from their source.

``RealtimeCapabilities.mutable_chat_context`` is the plugin's own word. Two plugins
of livekit 1.8.9 declare it ``True`` although their ``update_chat_ctx`` deletes
nothing on the server (read from the 1.8.9 sources):

- Gemini Live (``livekit.plugins.google.realtime``): removals are dropped with the
  warning "Gemini Live does not support removing messages", system and developer
  messages are dropped, new items are appended at the end of Gemini's history, and
  the plugin then adopts the context it was given as its ``chat_ctx``, so its
  mirror claims the removals happened.
- Phonic (``livekit.plugins.phonic.realtime``): removals are ignored without a word,
  system messages are sent as ``add_system_message`` (appended), and the context it
  was given is adopted the same way.

A compaction there would add a summary it can never remove, and every later try
one more, so ctxmgr treats them as append-only. The check is by the plugin session's
module, since nothing the plugin reports tells it apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["REMOVALS_IGNORED", "append_only_reason", "gemini_context_compression"]

REMOVALS_IGNORED: dict[str, str] = {
    "livekit.plugins.google.realtime": (
        "Gemini Live ignores removals (livekit-plugins-google: 'does not support removing"
        " messages'); use its context_window_compression instead"
    ),
    "livekit.plugins.phonic.realtime": "Phonic's plugin ignores removals",
}
"""Plugin session modules whose ``update_chat_ctx`` never deletes, and why."""


def append_only_reason(rt_session: Any) -> str | None:
    """Why nothing can be deleted from this realtime session's server context, or None
    when it can (a pipeline agent, ``rt_session`` None, always can)."""
    if rt_session is None:
        return None
    module = type(rt_session).__module__
    for prefix, why in REMOVALS_IGNORED.items():
        if module == prefix or module.startswith(prefix + "."):
            return why
    if not rt_session.capabilities.mutable_chat_context:
        return f"{module} declares mutable_chat_context=False"
    return None


def gemini_context_compression(settings: Settings) -> Any:
    """Gemini Live's own compression, set from ctxmgr's settings: it triggers at the
    settings' high-water mark and cuts to their target, both in tokens.

    Pass it as ``google.realtime.RealtimeModel(context_window_compression=...)``. Gemini
    compresses on its server (a sliding window: it drops the oldest turns, with no
    summary); ctxmgr cannot compact a Gemini Live session itself. Needs
    ``google-genai`` (``livekit-plugins-google`` brings it) and a token trigger.
    """
    from google.genai import types

    trigger = settings.high_water_tokens
    if trigger is None:
        raise ValueError(
            "gemini_context_compression needs a token trigger (trigger.tokens or"
            " trigger.budget_fraction); these settings trigger on items only"
        )
    return types.ContextWindowCompressionConfig(
        trigger_tokens=trigger,
        sliding_window=types.SlidingWindow(target_tokens=settings.effective_target_tokens),
    )
