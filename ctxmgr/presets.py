"""Find and read policy presets: TOML files shipped as ``ctxmgr/policies``.

A wheel carries the presets inside the package (hatchling ``force-include``);
an editable install does not, so the lookup tries the package resource first
and the source tree's ``policies/`` second.
"""

from __future__ import annotations

import sys
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from ._exceptions import SettingsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["available_presets", "load_preset", "preset_source"]

_SOURCE_TREE_POLICIES = Path(__file__).resolve().parent.parent / "policies"


def _preset_dirs() -> list[Traversable]:
    dirs: list[Traversable] = []
    packaged = resources.files("ctxmgr").joinpath("policies")
    if packaged.is_dir():
        dirs.append(packaged)
    if _SOURCE_TREE_POLICIES.is_dir():
        dirs.append(_SOURCE_TREE_POLICIES)
    return dirs


def available_presets() -> list[str]:
    """Names of the presets that ship with ctxmgr, sorted."""
    names: set[str] = set()
    for directory in _preset_dirs():
        names.update(
            entry.name.removesuffix(".toml")
            for entry in directory.iterdir()
            if entry.name.endswith(".toml")
        )
    return sorted(names)


def _looks_like_path(policy: str) -> bool:
    return policy.endswith(".toml") or "/" in policy or "\\" in policy


def preset_source(policy: str) -> Traversable:
    """The file a ``policy`` setting names: a preset name or a path to a TOML file.

    Raises:
        SettingsError: the name is not a preset (the message lists the presets),
            or the path does not exist.
    """
    if _looks_like_path(policy):
        path = Path(policy).expanduser()
        if not path.is_file():
            raise SettingsError(f"policy file {policy!r} does not exist")
        return path
    for directory in _preset_dirs():
        candidate = directory.joinpath(f"{policy}.toml")
        if candidate.is_file():
            return candidate
    raise SettingsError(
        f"unknown policy preset {policy!r}; available presets: {', '.join(available_presets())}"
        " (or give a path to your own .toml file)"
    )


def load_preset(policy: str) -> dict[str, Any]:
    """Read a preset (by name) or a policy file (by path) as a dict of settings.

    The keys are not checked here; ``Settings`` rejects unknown keys and names
    the file they came from.
    """
    source = preset_source(policy)
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise SettingsError(f"policy file {_describe(source)} cannot be read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"policy file {_describe(source)} is not valid TOML: {e}") from e


def _describe(source: Traversable) -> str:
    return str(source) if isinstance(source, Path) else source.name
