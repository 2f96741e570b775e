import logging

logger = logging.getLogger("ctxmgr")
"""The package's logger. Messages are static; chat content goes only in ``extra``."""
