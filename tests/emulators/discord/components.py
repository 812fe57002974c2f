"""Message components as Discord checks them: action rows (type 1) holding buttons (type 2) or
one select menu, with Discord's limits and its ``50035 Invalid Form Body`` errors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from tests.emulators.discord.protocol import Json
from tests.emulators.discord.responses import invalid_form

ACTION_ROW = 1
BUTTON = 2
SELECTS = frozenset({3, 5, 6, 7, 8})  # string, user, role, mentionable, channel select
BUTTON_LINK = 5
BUTTON_PREMIUM = 6
MAX_ROWS = 5
MAX_PER_ROW = 5
MAX_LABEL = 80
MAX_CUSTOM_ID = 100
MAX_SELECT_OPTIONS = 25


def validate_components(components: Any, prefix: Sequence[str] = ()) -> None:
    """Raise Discord's 400 for ``components`` it would refuse (None or missing: nothing to check)."""
    if components is None:
        return
    path = [*prefix, "components"]
    if not isinstance(components, list):
        raise invalid_form(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(components) > MAX_ROWS:
        raise invalid_form(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    seen: set[str] = set()
    for r, row in enumerate(components):
        row_path = [*path, str(r)]
        if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
            raise invalid_form(
                [*row_path, "type"],
                "UNION_TYPE_CHOICES",
                f'Value of field "type" must be one of ({ACTION_ROW},).',
            )
        children = row.get("components")
        inner = [*row_path, "components"]
        if not isinstance(children, list) or not children:
            raise invalid_form(inner, "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        if len(children) > MAX_PER_ROW:
            raise invalid_form(inner, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_PER_ROW} or fewer in length.")
        kinds = {c.get("type") if isinstance(c, dict) else None for c in children}
        if kinds & SELECTS and len(children) > 1:
            raise invalid_form(
                inner, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width"
            )
        for c, child in enumerate(children):
            _validate_child(child, [*inner, str(c)], seen)


def _validate_child(child: Any, path: list[str], seen: set[str]) -> None:
    kind = child.get("type") if isinstance(child, dict) else None
    if kind != BUTTON and kind not in SELECTS:
        raise invalid_form(
            [*path, "type"], "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).'
        )
    if kind == BUTTON:
        if not _validate_button(child, path):
            return  # a link or premium button: nothing is sent back on a click
    elif len(child.get("options") or []) > MAX_SELECT_OPTIONS:
        raise invalid_form(
            [*path, "options"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_SELECT_OPTIONS} or fewer in length."
        )
    _validate_custom_id(child.get("custom_id"), path, seen)


def _validate_button(button: Json, path: list[str]) -> bool:
    """Check a button's own fields; True when it is interactive (it needs a custom id)."""
    style = button.get("style")
    if style not in range(1, 7):
        raise invalid_form([*path, "style"], "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
    label = button.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
        raise invalid_form(
            [*path, "label"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_LABEL} or fewer in length."
        )
    if style == BUTTON_LINK:
        if not button.get("url"):
            raise invalid_form([*path, "url"], "BASE_TYPE_REQUIRED", "This field is required")
        if button.get("custom_id") is not None:
            raise invalid_form(
                [*path, "custom_id"],
                "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                "A link button cannot have a custom id",
            )
        return False
    if style == BUTTON_PREMIUM:
        return False
    if not label and not button.get("emoji"):
        raise invalid_form(
            [*path, "label"], "BUTTON_COMPONENT_INVALID", "A button must have a label or an emoji"
        )
    return True


def _validate_custom_id(custom_id: Any, path: list[str], seen: set[str]) -> None:
    if not isinstance(custom_id, str) or not custom_id:
        raise invalid_form([*path, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
    if len(custom_id) > MAX_CUSTOM_ID:
        raise invalid_form(
            [*path, "custom_id"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CUSTOM_ID} or fewer in length."
        )
    if custom_id in seen:
        raise invalid_form(
            [*path, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
        )
    seen.add(custom_id)


def buttons(message: Json) -> Iterator[Json]:
    """The buttons of a message (REST shape), row by row."""
    for row in message.get("components") or []:
        for child in row.get("components") or []:
            if child.get("type") == BUTTON:
                yield child


def pressable(message: Json, custom_id: str) -> Json | None:
    """The enabled, interactive button with this ``custom_id`` (what a user can click), or None."""
    for button in buttons(message):
        if button.get("custom_id") == custom_id and not button.get("disabled"):
            return button
    return None
