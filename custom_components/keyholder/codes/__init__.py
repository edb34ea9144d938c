"""Keypad codes on locks: the backend interface (``base``), one module per lock
family, and the pure desired-versus-actual planner (``sync``)."""
