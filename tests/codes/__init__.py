"""Keypad codes: the pure planner, and each backend at its protocol boundary."""
