"""Files the bot sends, in messages Discord takes: ten to a message, 10 MiB to a message, and a
file too large for Discord named in the text rather than dropped silently."""

from __future__ import annotations

from bots.base import Attachment
from bots.discord.uploads import UPLOAD_BYTES, batches, left_out


def file(name: str, size: int) -> Attachment:
    return Attachment(name, "application/octet-stream", b"x" * size)


def test_files_go_ten_to_a_message_in_order() -> None:
    groups, too_large = batches([file(f"f{i}", 10) for i in range(12)])
    assert [[f.name for f in g] for g in groups] == [[f"f{i}" for i in range(10)], ["f10", "f11"]]
    assert too_large == []


def test_a_message_takes_no_more_than_discords_upload_limit() -> None:
    half = UPLOAD_BYTES // 2 + 1
    groups, _ = batches([file("a", half), file("b", half), file("c", 10)])
    assert [[f.name for f in g] for g in groups] == [["a"], ["b", "c"]]


def test_a_file_too_large_for_discord_is_left_out_and_named() -> None:
    groups, too_large = batches([file("small.txt", 10), file("huge_*video*.mp4", UPLOAD_BYTES + 1)])
    assert [[f.name for f in g] for g in groups] == [["small.txt"]]
    assert left_out(too_large) == (
        "(huge\\_\\*video\\*.mp4: too large to send on Discord, which takes at most 10 MiB.)"
    )
