"""ctxmgr: compact a LiveKit agent's chat context without losing an item."""
