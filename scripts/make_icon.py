"""Draw custom_components/keyholder/brand/icon.png (256x256): a key on a house-blue tile.

Pure standard library so it runs anywhere: shapes are signed-distance tests with
4x4 supersampling for smooth edges.
"""

from __future__ import annotations

import math
from pathlib import Path
import struct
import zlib

SIZE = 256
BG = (3, 105, 161)
FG = (255, 255, 255)


def _inside_tile(x: float, y: float) -> bool:
    r, m = 48.0, 8.0
    cx = min(max(x, m + r), SIZE - m - r)
    cy = min(max(y, m + r), SIZE - m - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _inside_key(x: float, y: float) -> bool:
    # Bow: a ring centred left, shaft to the right, two bits hanging down.
    bx, by = 88.0, 128.0
    d = math.hypot(x - bx, y - by)
    if 22.0 <= d <= 46.0:
        return True
    if 128.0 <= x <= 214.0 and 116.0 <= y <= 140.0:
        return True
    return (180.0 <= x <= 196.0 and 140.0 <= y <= 172.0) or (
        204.0 <= x <= 214.0 and 140.0 <= y <= 162.0
    )


def _pixel(px: int, py: int) -> tuple[int, int, int, int]:
    tile = key = 0
    for sx in range(4):
        for sy in range(4):
            x, y = px + (sx + 0.5) / 4, py + (sy + 0.5) / 4
            if _inside_tile(x, y):
                tile += 1
                key += _inside_key(x, y)
    if not tile:
        return (0, 0, 0, 0)
    f = key / tile
    rgb = tuple(round(b * (1 - f) + w * f) for b, w in zip(BG, FG, strict=True))
    return (rgb[0], rgb[1], rgb[2], round(255 * tile / 16))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def main() -> None:
    rows = b"".join(
        b"\x00" + b"".join(bytes(_pixel(x, y)) for x in range(SIZE)) for y in range(SIZE)
    )
    png = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )
    out = Path(__file__).resolve().parent.parent / "custom_components/keyholder/brand/icon.png"
    out.write_bytes(png)
    print(f"wrote {out} ({len(png)} bytes)")


if __name__ == "__main__":
    main()
