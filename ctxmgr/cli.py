"""The ``ctxmgr`` command line: inspect presets and check settings before a deploy.

```
ctxmgr policies                 # every preset: its description and its settings
ctxmgr policies realtime        # one preset
ctxmgr settings                 # the effective settings (env, .env, preset); exit 2 if invalid
ctxmgr settings --policy trim   # as if CTXMGR_POLICY=trim
ctxmgr simulate --policy realtime --turns 60   # the scripted call: the cost table
ctxmgr archive show --session ID --db calls.db # what each compaction replaced
python -m ctxmgr settings       # the same, without the console script
```

Exit codes: 0 success, 2 invalid settings or usage. A subcommand is one
``_add_<name>(subparsers)`` function, listed in ``COMMANDS``, that sets
``run=`` to a handler ``(args) -> int``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
)

from . import __version__
from ._exceptions import SettingsError
from .presets import available_presets, load_preset, preset_source
from .settings import DEFAULT_POLICY, PresetSettingsSource, Settings

__all__ = ["COMMANDS", "build_parser", "main"]

EXIT_OK = 0
EXIT_INVALID = 2
"""Invalid settings, as for a usage error: argparse exits with 2 too."""

ENV_PREFIX = "CTXMGR_"

Handler = Callable[[argparse.Namespace], int]
Subparsers = Any  # argparse._SubParsersAction is private


# -- entry point -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version and usage errors
        if e.code is None:
            return EXIT_OK
        return e.code if isinstance(e.code, int) else EXIT_INVALID
    handler: Handler = args.run
    return handler(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand in ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="ctxmgr",
        description="Inspect ctxmgr's presets, check the effective settings, simulate a call,"
        " audit the archive.",
    )
    parser.add_argument("--version", action="version", version=f"ctxmgr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


# -- ctxmgr policies -------------------------------------------------------------------


def _add_policies(sub: Subparsers) -> None:
    p = sub.add_parser(
        "policies",
        help="list the presets with their descriptions and settings",
        description="List the presets shipped with ctxmgr: what each does and the settings"
        " it gives (preset file over defaults; the environment is not applied here,"
        " `ctxmgr settings` shows that).",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="show only these presets")
    p.set_defaults(run=_run_policies)


def _run_policies(args: argparse.Namespace) -> int:
    names: list[str] = args.names or available_presets()
    blocks: list[str] = []
    for name in names:
        try:
            description = str(load_preset(name).get("description", "")).strip()
            settings = _PresetOnlySettings(policy=name)
        except (SettingsError, ValidationError) as e:
            return _invalid(e)
        title = f"{name} (default)" if name == DEFAULT_POLICY else name
        lines = [f"== {title} =="]
        lines += textwrap.wrap(description, width=88) if description else []
        lines += ["", f"# {_water_marks(settings)}"]
        lines += _toml_lines(settings, origins={})
        blocks.append("\n".join(lines))
    _print("\n\n".join(blocks))
    return EXIT_OK


class _PresetOnlySettings(Settings):
    """A preset's own settings: keyword arguments and the preset file, no environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, PresetSettingsSource(settings_cls, (init_settings,)))


# -- ctxmgr settings -------------------------------------------------------------------


def _add_settings(sub: Subparsers) -> None:
    p = sub.add_parser(
        "settings",
        help="validate and print the effective settings (exit 2 if invalid)",
        description="Build the settings the way ContextManager.from_settings() does"
        " (CTXMGR_* environment > .env > preset file > defaults), print them as TOML with"
        " where each value came from, or print the error and exit with 2.",
    )
    p.add_argument("--policy", help="a preset name or a policy file (overrides CTXMGR_POLICY)")
    p.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="read this dotenv file instead of ./.env",
    )
    p.set_defaults(run=_run_settings)


def _run_settings(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.policy:
        overrides["policy"] = args.policy
    if args.env_file is not None and not args.env_file.is_file():
        print(f"ctxmgr: env file {str(args.env_file)!r} does not exist", file=sys.stderr)
        return EXIT_INVALID
    env_file: Path | str = args.env_file if args.env_file is not None else ".env"
    _warn_unknown_env_vars(sys.stderr)
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except (SettingsError, ValidationError) as e:
        return _invalid(e)
    origins = _origins(overrides, env_file)
    lines = [
        f"# policy file: {_source_name(settings.policy)}",
        f"# {_water_marks(settings)}",
        "# (value origins: cli, env, .env, preset; unmarked values are defaults)",
    ]
    lines += _toml_lines(settings, origins=origins)
    _print("\n".join(lines))
    return EXIT_OK


def _origins(overrides: Mapping[str, Any], env_file: Path | str) -> dict[str, str]:
    """``"trigger.items" -> "env"``: the highest-precedence source that set each key."""
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("cli", overrides),
        ("env", EnvSettingsSource(Settings)()),
        (".env", DotEnvSettingsSource(Settings, env_file=env_file)()),
    ]
    policy = next((d["policy"] for _, d in layers if isinstance(d.get("policy"), str)), None)
    layers.append(("preset", load_preset(policy or DEFAULT_POLICY)))
    origins: dict[str, str] = {}
    for name, values in reversed(layers):  # lowest precedence first, overwritten by higher
        for key in _flat_keys(values):
            origins[key] = name
    return origins


def _flat_keys(values: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _flat_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def _warn_unknown_env_vars(err: TextIO) -> None:
    # pydantic-settings ignores a CTXMGR_ variable that names no field: a typo would
    # silently leave the default in place
    fields = {name.upper() for name in Settings.model_fields}
    for var in sorted(os.environ):
        upper = var.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        field = upper[len(ENV_PREFIX) :].split("__", 1)[0]
        if field in fields:
            continue
        hint = difflib.get_close_matches(field, fields, n=1)
        suggestion = f" (did you mean {ENV_PREFIX}{hint[0]}?)" if hint else ""
        print(f"ctxmgr: warning: {var} is not a setting and is ignored{suggestion}", file=err)


# -- output ----------------------------------------------------------------------------


def _invalid(error: SettingsError | ValidationError) -> int:
    print(f"ctxmgr: invalid settings\n{error}", file=sys.stderr)
    return EXIT_INVALID


def _print(text: str) -> None:
    print(text, file=sys.stdout)


def _source_name(policy: str) -> str:
    try:
        return str(preset_source(policy))
    except SettingsError:  # pragma: no cover - Settings() already validated the policy
        return policy


def _water_marks(settings: Settings) -> str:
    high = settings.high_water_tokens
    start = f"compacts at {high} tokens" if high is not None else "compacts on its trigger"
    return (
        f"{start}, down to {settings.effective_target_tokens};"
        f" budget {settings.max_tokens} tokens"
    )


def _toml_lines(settings: BaseModel, *, origins: Mapping[str, str], table: str = "") -> list[str]:
    """TOML-ish ``key = value`` lines, nested models as ``[table]``s; unset values commented."""
    scalars: list[str] = []
    tables: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        key = f"{table}{name}"
        if isinstance(value, BaseModel):
            tables += ["", f"[{key}]"] + _toml_lines(value, origins=origins, table=f"{key}.")
            continue
        origin = origins.get(key)
        note = f"  # {origin}" if origin else ""
        if value is None:
            scalars.append(f"# {name} = (not set){note}")
        else:
            scalars.append(f"{name} = {_toml_value(value)}{note}")
    return scalars + tables


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


# -- ctxmgr simulate ------------------------------------------------------------------


def _add_simulate(sub: Subparsers) -> None:
    p = sub.add_parser(
        "simulate",
        help="run the scripted support call and print the cost table",
        description="Play the deterministic support call (offline stand-in model) through"
        " a real AgentSession under a preset, beside the baselines and the offline floor,"
        " and print what each bills.",
    )
    p.add_argument("--policy", action="append", metavar="NAME", help="a preset (repeatable)")
    p.add_argument("--turns", type=int, default=120, help="length of the call")
    p.add_argument("--budget", type=int, default=16_000, help="max_tokens for every policy")
    p.add_argument("--png", default=None, help="also save the picture here")
    p.set_defaults(run=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    from .simulation import main as simulate  # heavy: loaded only for this command

    argv = ["--turns", str(args.turns), "--budget", str(args.budget), "--no-progress"]
    for name in args.policy or ():
        argv += ["--policy", name]
    argv += ["--png", args.png] if args.png else ["--no-png"]
    return simulate(argv, prog="ctxmgr simulate")


# -- ctxmgr archive show ---------------------------------------------------------------


def _add_archive(sub: Subparsers) -> None:
    p = sub.add_parser(
        "archive",
        help="audit the archive: what each compaction replaced",
        description="Read a SQLite archive (settings' archive_path). The archive holds"
        " transcripts: treat its output like a call recording.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    show = verbs.add_parser("show", help="what each compaction of a session replaced")
    show.add_argument("--session", help="session id (manager.session_id); default: list them")
    show.add_argument("--db", help="the database (default: CTXMGR_ARCHIVE_PATH)")
    show.set_defaults(run=_run_archive_show)


def _run_archive_show(args: argparse.Namespace) -> int:
    from .archive import SQLiteArchive

    path = args.db or os.environ.get("CTXMGR_ARCHIVE_PATH")
    if not path or not Path(path).is_file():
        print(f"ctxmgr: no archive database at {path!r} (give --db PATH)", file=sys.stderr)
        return EXIT_INVALID
    archive = SQLiteArchive(path)
    try:
        if not args.session:
            for session_id in archive.sessions():
                print(session_id)
            return EXIT_OK
        compactions = archive.compactions(args.session)
        if not compactions:
            print(f"ctxmgr: no archived items for session {args.session!r}", file=sys.stderr)
            return EXIT_INVALID
        for n, compaction in enumerate(compactions, 1):
            kind = "summarized" if compaction.summary_id else "trimmed"
            print(f"== compaction {n} ({compaction.compaction_id}): {len(compaction.items)}"
                  f" items {kind} ==")
            for item in compaction.items:
                print(f"  [#{item.position}] {item.kind}: {item.text}")
            if compaction.summary_text:
                print(f"  -> summary {compaction.summary_id}:")
                print(textwrap.indent(compaction.summary_text, "     "))
        return EXIT_OK
    finally:
        archive.close()


COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    _add_policies,
    _add_settings,
    _add_simulate,
    _add_archive,
)
"""Every subcommand, in help order: each adds its parser and sets ``run=`` to its handler."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
