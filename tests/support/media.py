"""Small, real media for tests: a PNG any decoder opens, and voice-note-like audio bytes."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """A valid PNG of one colour (8-bit RGB, no filter)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def voice_note(seed: int = 0) -> bytes:
    """Bytes shaped like an Ogg/Opus voice note (its header; the rest is filler): the
    emulator keys transcripts by bytes, so each seed is a different recording."""
    return b"OggS\x00\x02" + bytes(20) + b"OpusHead" + seed.to_bytes(4, "big") + bytes(64)
