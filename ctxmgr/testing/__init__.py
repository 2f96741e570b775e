"""Test kit for ctxmgr users: realtime server emulator, fake LLMs, invariant checker."""
