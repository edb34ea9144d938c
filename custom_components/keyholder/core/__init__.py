"""Keyholder's pure core: the model, schedules, the access decision, tokens, the audit chain.

Nothing in this package imports Home Assistant, opens a socket or reads the clock;
callers pass the time in. That is what lets it be tested exhaustively without a
``hass`` and reused unchanged by the bridge's test vectors.
"""
