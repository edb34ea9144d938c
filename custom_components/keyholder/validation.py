"""The schema library Home Assistant validates with.

Home Assistant 2025.x uses voluptuous. Newer releases use probatio, an
API-compatible successor, and alias ``voluptuous`` to it at run time, but their
type hints name probatio. Importing ``vol`` from here keeps both correct; mypy is
told which branch is live (``--always-true``/``--always-false HAS_PROBATIO``).
"""

from importlib.util import find_spec

HAS_PROBATIO = find_spec("probatio") is not None

if HAS_PROBATIO:
    import probatio as vol
else:
    import voluptuous as vol

__all__ = ["vol"]
