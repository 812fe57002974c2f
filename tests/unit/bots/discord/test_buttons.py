"""A question's options as Discord buttons: Discord's limits kept whatever the workflow says,
and the question message once answered."""

from __future__ import annotations

import discord

from bots.base import Button
from bots.discord.buttons import button_view, with_choice


def rows(view: discord.ui.View) -> list[list[dict[str, object]]]:
    return [[dict(b) for b in row["components"]] for row in view.to_components()]


async def test_options_become_buttons_five_to_a_row_and_no_more_than_discord_shows() -> None:
    view = button_view([Button(f"q:e1:00000000:{i}", f"Option {i}") for i in range(30)])
    assert view is not None
    shown = rows(view)
    assert [len(row) for row in shown] == [5, 5, 5, 5, 5]
    assert shown[0][0]["custom_id"] == "q:e1:00000000:0"
    assert shown[4][4]["label"] == "Option 24"
    assert view.is_finished()  # never kept in memory for dispatch: a press reaches on_interaction


async def test_labels_fit_discords_80_characters_and_are_never_empty() -> None:
    view = button_view([Button("q:e1:00000000:0", "x" * 200), Button("q:e1:00000000:1", "  \n ")])
    assert view is not None
    long, empty = rows(view)[0]
    assert len(str(long["label"])) == 80
    assert str(long["label"]).endswith("…")
    assert empty["label"] == "…"


async def test_no_options_no_buttons() -> None:
    assert button_view([]) is None


def test_the_answered_question_shows_the_choice_within_2000_characters() -> None:
    assert with_choice("Which size?", "Large *cup*") == "Which size?\n\n→ Large \\*cup\\*"
    long = with_choice("q" * 2000, "Small")
    assert len(long) == 2000
    assert long.endswith("…\n\n→ Small")
