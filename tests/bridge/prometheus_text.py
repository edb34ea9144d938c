"""A strict reader of the Prometheus text format (0.0.4), enough to check what /metrics serves.

Strict on purpose: every sample must belong to a family announced by ``# TYPE``, names and
labels must be well formed, and values must be numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
_SAMPLE = re.compile(rf"({_NAME})(?:\{{(.*)\}})? (\S+)")
_TYPE = re.compile(rf"# TYPE ({_NAME}) (counter|gauge|histogram|summary|untyped)")
_HELP = re.compile(rf"# HELP ({_NAME}) .*")

type Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    kind: str
    samples: dict[Labels, float] = field(default_factory=dict)


def _labels(text: str | None) -> Labels:
    if not text:
        return ()
    pairs = _LABEL.findall(text)
    rebuilt = ",".join(f'{k}="{v}"' for k, v in pairs)
    if rebuilt != text.rstrip(","):
        raise ValueError(f"malformed labels: {text!r}")
    return tuple(pairs)


def parse_exposition(text: str) -> dict[str, Family]:
    """Families by name; raises ``ValueError`` on anything a Prometheus server would reject."""
    if not text.endswith("\n"):
        raise ValueError("exposition must end with a newline")
    families: dict[str, Family] = {}
    for line in text.splitlines():
        if not line or _HELP.fullmatch(line):
            continue
        if match := _TYPE.fullmatch(line):
            if match[1] in families:
                raise ValueError(f"family {match[1]} declared twice")
            families[match[1]] = Family(kind=match[2])
            continue
        match = _SAMPLE.fullmatch(line)
        if match is None:
            raise ValueError(f"not a sample line: {line!r}")
        name = match[1]
        base = name.removesuffix("_total") if name not in families else name
        family = families.get(name) or families.get(base)
        if family is None:
            raise ValueError(f"sample {name} before its # TYPE line")
        family.samples[_labels(match[2])] = float(match[3])
    return families
