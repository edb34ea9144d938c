"""Keyholder bridge: relays carriers and guests to homes; never decides, never holds a key."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("keyholder")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0+checkout"
