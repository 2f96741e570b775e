"""Offline token-budget demo (``make demo``): the scripted support call under every preset.

Prints the cost table and saves ``token_budget.png``; ``--help`` for the options
(``--llm openai`` with ``OPENAI_API_KEY`` runs the same call with a real model).
The work is done by :mod:`ctxmgr.simulation`, which ``ctxmgr simulate`` runs too.
"""

import sys

from ctxmgr.simulation import main

if __name__ == "__main__":
    sys.exit(main(prog="token_budget.py"))
