"""The ``ctxmgr`` command line, run in-process: output, exit codes, field-naming errors."""

from __future__ import annotations

import os
import subprocess
import sys
import re
from pathlib import Path

import pytest

from ctxmgr import Settings, available_presets, load_preset
from ctxmgr.cli import main

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CTXMGR_ variable or .env from the developer's machine leaks into a test."""
    for key in list(os.environ):
        if key.upper().startswith("CTXMGR_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- ctxmgr policies ---------------------------------------------------------------------


def test_policies_lists_every_preset_with_its_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "policies")
    assert code == 0 and err == ""
    for name in available_presets():
        assert f"== {name}" in out
        first_words = " ".join(str(load_preset(name)["description"]).split()[:4])
        assert first_words in out
    assert "== token-budget (default) ==" in out
    assert "description =" not in out  # the description is prose, not a setting


def test_policies_prints_each_presets_effective_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "policies", "realtime")
    assert code == 0
    expected = Settings(policy="realtime")
    assert f"max_tokens = {expected.max_tokens}" in out
    assert f"keep_last_turns = {expected.keep_last_turns}" in out
    assert "[summarizer]" in out and 'role = "system"' in out
    assert "[trigger]" in out and f"budget_fraction = {expected.trigger.budget_fraction}" in out
    assert "compacts at 9600 tokens, down to 1200" in out
    assert "== trim" not in out


def test_policies_ignores_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "9000")
    _, out, _ = _run(capsys, "policies", "trim")
    assert "max_tokens = 16000" in out


def test_policies_unknown_name_exits_2_listing_the_presets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "policies", "nope")
    assert code == 2 and out == ""
    assert "unknown policy preset 'nope'" in err and "token-budget" in err


# -- ctxmgr settings ---------------------------------------------------------------------


def test_settings_prints_the_defaults_as_toml(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "settings")
    assert code == 0 and err == ""
    assert 'policy = "token-budget"' in out
    assert 'strategy = "token_budget"  # preset' in out
    assert "max_tokens = 16000  # preset" in out
    assert "# target_tokens = (not set)" in out
    assert "protect_tail_on_updates = true" in out
    assert out.index("[trigger]") < out.index("[summarizer]")
    assert "token-budget.toml" in out


def test_settings_shows_env_and_dotenv_overrides_and_their_origin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("CTXMGR_KEEP_LAST_TURNS=7\nCTXMGR_POLICY=summarize\n")
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "12000")
    monkeypatch.setenv("CTXMGR_TRIGGER__ITEMS", "300")
    code, out, _ = _run(capsys, "settings")
    assert code == 0
    assert 'policy = "summarize"  # .env' in out
    assert "max_tokens = 12000  # env" in out
    assert "keep_last_turns = 7  # .env" in out
    assert "items = 300  # env" in out.split("[trigger]")[1]
    assert "compacts at 9600 tokens, down to 1200" in out


def test_settings_policy_flag_beats_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_POLICY", "trim")
    code, out, _ = _run(capsys, "settings", "--policy", "realtime")
    assert code == 0
    assert 'policy = "realtime"  # cli' in out and "max_tokens = 24000  # preset" in out


def test_settings_reads_the_env_file_it_is_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text("CTXMGR_MAX_TOKENS=20000\n")
    code, out, _ = _run(capsys, "settings", "--env-file", str(env_file))
    assert code == 0 and "max_tokens = 20000  # .env" in out


def test_missing_env_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "settings", "--env-file", "prod.env")
    assert code == 2 and out == "" and "prod.env" in err


def test_negative_max_tokens_exits_2_naming_the_field(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "-5")
    code, out, err = _run(capsys, "settings")
    assert code == 2 and out == ""
    assert "max_tokens" in err
    assert "greater than 0" in err and "-5" in err


def test_inconsistent_water_marks_exit_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_TARGET_TOKENS", "20000")
    code, _, err = _run(capsys, "settings")
    assert code == 2
    assert "target_tokens (20000) must be below max_tokens (16000)" in err


def test_unknown_preset_exits_2_with_the_settings_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_POLICY", "agressive")
    code, _, err = _run(capsys, "settings")
    assert code == 2
    assert "unknown policy preset 'agressive'" in err and "summarize" in err


def test_unknown_key_in_a_policy_file_exits_2_naming_key_and_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "mine.toml"
    policy.write_text('strategy = "trim"\nmax_tokenz = 9000\n')
    code, _, err = _run(capsys, "settings", "--policy", str(policy))
    assert code == 2
    assert "'max_tokenz'" in err and "mine.toml" in err


def test_misspelt_variable_is_warned_about_not_silently_ignored(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_MAX_TOKEN", "9000")
    code, out, err = _run(capsys, "settings")
    assert code == 0
    assert "CTXMGR_MAX_TOKEN is not a setting" in err and "CTXMGR_MAX_TOKENS?" in err
    assert "max_tokens = 16000" in out


# -- the parser ----------------------------------------------------------------------------


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys)
    assert code == 2 and "usage: ctxmgr" in err


def test_help_lists_the_subcommands_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    assert "policies" in out and "settings" in out


def test_python_dash_m_ctxmgr_runs_the_same_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CTXMGR_")}
    env["CTXMGR_MAX_TOKENS"] = "-5"
    proc = subprocess.run(
        [sys.executable, "-m", "ctxmgr", "settings"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "max_tokens" in proc.stderr and proc.stdout == ""


def test_simulate_prints_the_table_for_one_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "simulate", "--policy", "trim", "--turns", "14", "--budget", "3000")
    assert code == 0
    assert re.search(r"^trim\s+session\s", out, re.M)
    assert not re.search(r"^summarize\s+session\s", out, re.M)
    assert "cookbook summarizer" in out


def test_simulate_rejects_an_unknown_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "simulate", "--policy", "nope")
    assert code == 2 and "nope" in err


def test_archive_show_prints_what_each_compaction_replaced(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from livekit.agents import llm

    from ctxmgr.archive import SQLiteArchive

    db = tmp_path / "calls.db"
    archive = SQLiteArchive(db)
    items = [llm.ChatMessage(role="user", content=["My order number is 4417-B."]),
             llm.ChatMessage(role="assistant", content=["Noted."])]
    archive.write("call-1", items, compaction_id="k1", summary_id="sum1",
                  summary_text="Ana's order is 4417-B.")
    archive.close()
    code, out, _ = _run(capsys, "archive", "show", "--db", str(db))
    assert (code, out.split()) == (0, ["call-1"])
    code, out, _ = _run(capsys, "archive", "show", "--session", "call-1", "--db", str(db))
    assert code == 0
    assert "compaction 1 (k1): 2 items summarized" in out
    assert "user: My order number is 4417-B." in out and "Ana's order is 4417-B." in out
    code, _, err = _run(capsys, "archive", "show", "--session", "other", "--db", str(db))
    assert code == 2 and "other" in err
