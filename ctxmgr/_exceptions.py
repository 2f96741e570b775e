"""ctxmgr's exceptions.

```
CtxmgrError
 ├── SettingsError        (also a ValueError) a preset or policy file cannot be used
 ├── AttachError          a manager is attached twice, to two agents, or not at all
 ├── SummarizerError      the summarizer failed, timed out or returned nothing
 └── RealtimeSyncError    an update failed half-way: the plugin's mirror may differ from the server
```

Field errors in settings stay pydantic's own ``ValidationError`` (also a
``ValueError``), which names the field, the value and the constraint.
"""

from __future__ import annotations


class CtxmgrError(Exception):
    """Base class of every error ctxmgr raises on purpose."""


class SettingsError(CtxmgrError, ValueError):
    """A preset name or a policy file cannot be used."""


class AttachError(CtxmgrError, RuntimeError):
    """A manager was attached twice, to a second agent, or used while detached."""


class SummarizerError(CtxmgrError):
    """The summarizer failed, timed out or returned an empty summary."""


class RealtimeSyncError(CtxmgrError):
    """A realtime update failed (e.g. ``update_chat_ctx timed out``) and the plugin's
    remote mirror may no longer match the server: the server may hold ``unconfirmed_ids``
    the mirror lacks, and may have dropped ``undeleted_ids`` the mirror still lists."""

    def __init__(
        self, message: str, *, unconfirmed_ids: frozenset[str], undeleted_ids: frozenset[str]
    ) -> None:
        super().__init__(message)
        self.unconfirmed_ids = unconfirmed_ids
        self.undeleted_ids = undeleted_ids
