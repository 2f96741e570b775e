import inspect

import pytest

import ctxmgr

pytestmark = pytest.mark.unit


def test_all_is_sorted_and_names_every_public_member() -> None:
    public = {
        name
        for name in dir(ctxmgr)
        if not name.startswith("_") and not inspect.ismodule(getattr(ctxmgr, name))
    }
    assert ctxmgr.__all__ == sorted(ctxmgr.__all__)
    assert public == set(ctxmgr.__all__)


def test_every_exported_class_and_function_is_ctxmgrs_own() -> None:
    for name in ctxmgr.__all__:
        member = getattr(ctxmgr, name)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert member.__module__.startswith("ctxmgr."), name


def test_testing_kit_all_is_sorted_and_importable() -> None:
    import ctxmgr.testing as kit

    assert kit.__all__ == sorted(kit.__all__)
    for name in kit.__all__:
        assert getattr(kit, name) is not None
