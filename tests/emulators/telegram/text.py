"""Plain text and entities as Telegram counts them: UTF-16 lengths and offsets."""

from __future__ import annotations

from typing import Any

MAX_TEXT_UTF16 = 4096


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram's limits and offsets count)."""
    return len(text.encode("utf-16-le")) // 2


def byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode())


class ParseEntitiesError(ValueError):
    """Markup that Telegram would refuse with "can't parse entities"."""


class PlainText:
    """Parsed plain text being built, with its UTF-16 length."""

    __slots__ = ("parts", "u16")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.u16 += utf16_len(chunk)

    def since(self, part_index: int) -> str:
        return "".join(self.parts[part_index:])

    def value(self) -> str:
        return "".join(self.parts)


def make_entity(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    entity.update({key: value for key, value in extra.items() if value is not None})
    return entity


def sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))
