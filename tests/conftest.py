"""The one test tree: integration/ runs a real Home Assistant; core/, bridge/ and
repository/ need none and start none."""

from __future__ import annotations

from collections.abc import Iterator
import threading

import pytest


@pytest.fixture(autouse=True)
def aiosqlite_threads_have_ended() -> Iterator[None]:
    """Wait for the worker thread of every closed aiosqlite connection to end.

    aiosqlite answers ``close()`` from its worker thread and only then lets the thread
    run out, so a test that disposed its engine can finish while the thread is still
    alive. Home Assistant's test harness, which checks for threads a test left behind,
    then reports it: a race, seen once in CI. This fixture is torn down after the test's
    own fixtures (which dispose the engines) and before the harness looks. A connection
    that was never closed keeps its thread, and the harness still reports it.
    """
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        if _is_aiosqlite_worker(thread):
            thread.join(timeout=5)


def _is_aiosqlite_worker(thread: threading.Thread) -> bool:
    """aiosqlite up to 0.21 subclasses ``Thread``; 0.22 runs a named worker function."""
    return (
        type(thread).__module__.startswith("aiosqlite")
        or "(_connection_worker_thread)" in thread.name
    )
