"""``python -m bridge`` is the same as the ``keyholder-bridge`` command."""

from bridge.cli import main

raise SystemExit(main())
