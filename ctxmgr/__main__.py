"""``python -m ctxmgr``: the same as the ``ctxmgr`` console script."""

import sys

from .cli import main

sys.exit(main())
