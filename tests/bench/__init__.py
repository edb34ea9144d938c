"""Tests that keep the bench scripts working, on tiny sizes (behaviour, never timings)."""
