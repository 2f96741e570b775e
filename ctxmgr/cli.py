"""The ``ctxmgr`` command line: inspect presets and check settings before a deploy.

```
ctxmgr policies                 # every preset: its description and its settings
ctxmgr policies realtime        # one preset
ctxmgr settings                 # the effective settings (env, .env, preset); exit 2 if invalid
ctxmgr settings --policy trim   # as if CTXMGR_POLICY=trim
ctxmgr settings --as-policy > mine.toml        # a policy file: CTXMGR_POLICY=mine.toml
ctxmgr simulate --policy realtime --turns 60   # the scripted call: the cost table
ctxmgr archive show --session ID --db calls.db # what each compaction replaced (read-only)
python -m ctxmgr settings       # the same, without the console script
```

Exit codes: 0 success, 2 invalid settings or usage, with one ``ctxmgr: ...`` line
on stderr that names the field or the file (no traceback). A subcommand is one
``_add_<name>(subparsers)`` function, listed in ``COMMANDS``, that sets
``run=`` to a handler ``(args) -> int``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pydantic_settings
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
)

from . import __version__
from ._exceptions import SettingsError
from .presets import available_presets, load_preset, preset_source
from .settings import DEFAULT_POLICY, PresetSettingsSource, Settings, _unwritable_file

if TYPE_CHECKING:
    from .archive import SQLiteArchive

__all__ = ["COMMANDS", "build_parser", "main"]

EXIT_OK = 0
EXIT_INVALID = 2
"""Invalid settings, as for a usage error: argparse exits with 2 too."""

SETTINGS_ERRORS = (
    SettingsError,
    ValidationError,
    pydantic_settings.SettingsError,
    UnicodeDecodeError,
    OSError,
)
"""What building ``Settings`` raises on bad input: ctxmgr's preset errors, pydantic's
field errors, pydantic-settings' (a ``CTXMGR_TRIGGER`` that is not JSON), a ``.env``
that cannot be read."""

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
    with warnings.catch_warnings():
        # ctxmgr's warnings (a misspelt CTXMGR_ variable) as one line each, on every run
        # but once per run: some commands build Settings more than once
        warnings.filterwarnings("always", module=r"ctxmgr\.")
        warnings.showwarning = _warning_printer()
        try:
            return handler(args)
        except BrokenPipeError:  # `ctxmgr policies | head`: the reader left, not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error
            return EXIT_OK


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
    p.add_argument(
        "--as-policy",
        action="store_true",
        help="print one preset as a policy file (the listing itself is not one)",
    )
    p.set_defaults(run=_run_policies)


def _run_policies(args: argparse.Namespace) -> int:
    names: list[str] = args.names or available_presets()
    if args.as_policy and len(args.names) != 1:
        return _fail("--as-policy prints one preset: give one NAME")
    blocks: list[str] = []
    for name in names:
        try:
            description = str(load_preset(name).get("description", "")).strip()
            settings = _PresetOnlySettings(policy=name)
        except SETTINGS_ERRORS as e:
            return _invalid(e)
        if args.as_policy:
            header = [f"# ctxmgr preset {name!r} as a policy file: CTXMGR_POLICY=<this file>"]
            header += [f"description = {_toml_value(description)}"] if description else []
            return _print_policy_file(settings, header)
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
    p.add_argument(
        "--as-policy",
        action="store_true",
        help="print them as a policy file that CTXMGR_POLICY (or --policy) loads back",
    )
    p.set_defaults(run=_run_settings)


def _run_settings(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.policy:
        overrides["policy"] = args.policy
    if args.env_file is not None and not args.env_file.is_file():
        return _fail(f"env file {str(args.env_file)!r} does not exist")
    env_file: Path | str = args.env_file if args.env_file is not None else ".env"
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except UnicodeDecodeError as e:  # raised by python-dotenv, before any source of ours
        return _fail(f"env file {str(env_file)!r} is not UTF-8 text ({e.reason}, byte {e.start})")
    except ValidationError as e:
        return _invalid(e, origins=_origins(overrides, env_file))
    except SETTINGS_ERRORS as e:
        return _invalid(e)
    if args.as_policy:
        sources = "its preset, .env, the environment" + (" and --policy" if overrides else "")
        header = [f"# ctxmgr settings as a policy file ({sources}): CTXMGR_POLICY=<this file>"]
        return _print_policy_file(settings, header)
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


def _print_policy_file(settings: Settings, header: list[str]) -> int:
    """``settings`` as a policy file: no ``policy`` key (a policy file cannot name another)."""
    unset = next(_unset_over_defaults(settings), None)
    if unset is not None:  # TOML has no null: omitting the key would load the default
        return _fail(f"{unset} is unset, which a policy file cannot say (TOML has no null)")
    _print("\n".join(header + _toml_lines(settings, origins={}, skip=("policy",))))
    return EXIT_OK


def _unset_over_defaults(settings: BaseModel, table: str = "") -> Iterator[str]:
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            yield from _unset_over_defaults(value, f"{table}{name}.")
        elif value is None and field.default is not None:
            yield f"{table}{name}"


# -- output ----------------------------------------------------------------------------


def _warning_printer() -> Callable[..., None]:
    shown: set[str] = set()

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if str(message) not in shown:
            shown.add(str(message))
            print(f"ctxmgr: warning: {message}", file=sys.stderr)

    return show


def _fail(message: str) -> int:
    """Exit 2 with one line on stderr."""
    print(f"ctxmgr: {message}", file=sys.stderr)
    return EXIT_INVALID


def _invalid(error: Exception, *, origins: Mapping[str, str] | None = None) -> int:
    return _fail(f"invalid settings: {_one_line(error, origins or {})}")


def _one_line(error: Exception, origins: Mapping[str, str]) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(_field_error(e, origins) for e in error.errors())
    return " ".join(str(error).split())


def _field_error(error: ErrorDetails, origins: Mapping[str, str]) -> str:
    """``max_tokens = '-5' (env): Input should be greater than 0``, without the whole input."""
    loc = ".".join(str(part) for part in error["loc"])
    message = " ".join(error["msg"].removeprefix("Value error, ").split())
    fields = error.get("ctx", {}).get("fields")
    if fields:  # a rule between fields (settings.py's _conflict): their values are in the message
        return f"{', '.join(f'{loc}.{f}' if loc else f for f in fields)}: {message}"
    value = repr(error["input"])
    value = value if len(value) <= 60 else value[:57] + "..."
    origin = f" ({origins[loc]})" if loc in origins else ""
    return f"{loc or 'settings'} = {value}{origin}: {message}"


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
    if settings.trigger.price_model is not None:
        start = (
            f"compacts when it pays at {settings.trigger.price_model} prices (the cost rule),"
            f" {'at the latest at ' + str(high) + ' tokens' if high is not None else ''}"
        ).rstrip(", ")
    return (
        f"{start}, down to {settings.effective_target_tokens};"
        f" budget {settings.max_tokens} tokens"
    )


def _toml_lines(
    settings: BaseModel,
    *,
    origins: Mapping[str, str],
    table: str = "",
    skip: tuple[str, ...] = (),
) -> list[str]:
    """TOML ``key = value`` lines, nested models as ``[table]``s; unset values commented."""
    scalars: list[str] = []
    tables: list[str] = []
    for name in type(settings).model_fields:
        if name in skip:
            continue
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
    # a JSON string is a TOML basic string, once DEL (raw in JSON) is escaped
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


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
    from .simulation.support_call import PLANTED_TURNS

    if args.turns < PLANTED_TURNS:
        return _fail(f"--turns {args.turns}: the call has at least {PLANTED_TURNS} turns")
    unknown = [name for name in args.policy or () if name not in available_presets()]
    if unknown:
        return _fail(f"--policy {unknown[0]}: not a preset ({', '.join(available_presets())})")
    if args.budget <= 0:
        return _fail(f"--budget {args.budget}: must be a positive number of tokens")
    for name in args.policy or available_presets():
        try:
            Settings(policy=name, max_tokens=args.budget)  # as the simulation will
        except SETTINGS_ERRORS as e:
            where = f"preset {name} at --budget {args.budget}"
            return _fail(f"invalid settings: {where}: {_one_line(e, {})}")
    if args.png and (problem := _unwritable_file(args.png)) is not None:
        return _fail(f"--png {args.png}: {problem}")

    argv = ["--turns", str(args.turns), "--budget", str(args.budget)]
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
    import sqlite3

    from .archive import SQLiteArchive

    path = args.db or os.environ.get("CTXMGR_ARCHIVE_PATH")
    if not path:
        return _fail("no archive database: give --db PATH or set CTXMGR_ARCHIVE_PATH")
    if not Path(path).is_file():
        return _fail(f"no archive database at {path!r}")
    try:
        archive = SQLiteArchive(path, read_only=True)  # an audit never writes the file
        try:
            lines = _archive_lines(archive, args.session)
        finally:
            archive.close()
    except sqlite3.DatabaseError as e:
        return _fail(f"cannot read archive {path!r}: {e}")
    if args.session and not lines:
        return _fail(f"no archived items for session {args.session!r} in {path!r}")
    if lines:
        _print("\n".join(lines))
    return EXIT_OK


def _archive_lines(archive: SQLiteArchive, session: str | None) -> list[str]:
    """The session ids, or what each compaction of ``session`` replaced."""
    if not session:
        return archive.sessions()
    lines: list[str] = []
    for n, compaction in enumerate(archive.compactions(session), 1):
        kind = "summarized" if compaction.summary_id else "trimmed"
        lines.append(
            f"== compaction {n} ({compaction.compaction_id}): {len(compaction.items)}"
            f" items {kind} =="
        )
        lines += [f"  [#{item.position}] {item.kind}: {item.text}" for item in compaction.items]
        if compaction.summary_text:
            lines.append(f"  -> summary {compaction.summary_id}:")
            lines.append(textwrap.indent(compaction.summary_text, "     "))
    return lines


COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    _add_policies,
    _add_settings,
    _add_simulate,
    _add_archive,
)
"""Every subcommand, in help order: each adds its parser and sets ``run=`` to its handler."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
