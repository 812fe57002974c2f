"""A file's name and type as a caller sent them are hostile: stored, they are made harmless."""

from __future__ import annotations

from engine.files import is_file, size_text
from engine.files.names import MAX_NAME_CHARS, clean_name, clean_type


def test_a_name_keeps_only_its_last_path_segment() -> None:
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\me\\report.pdf") == "report.pdf"


def test_control_and_line_breaking_characters_become_spaces() -> None:
    assert clean_name("in\r\nvoice\x00.pdf") == "in voice .pdf"
    assert clean_name("a\u202ecod.exe") == "a cod.exe"  # a right-to-left override shows no trick


def test_an_empty_or_dotted_name_falls_back() -> None:
    assert clean_name("") == "file"
    assert clean_name(None) == "file"
    assert clean_name("..") == "file"


def test_a_long_name_is_cut() -> None:
    assert len(clean_name("x" * 1000 + ".txt")) == MAX_NAME_CHARS


def test_a_media_type_is_lower_case_without_parameters() -> None:
    assert clean_type("Image/PNG; charset=binary", "a.png") == "image/png"


def test_a_malformed_or_missing_type_is_guessed_from_the_name() -> None:
    assert clean_type("text/html\r\nX-Evil: 1", "notes.txt") == "text/plain"
    assert clean_type(None, "photo.jpg") == "image/jpeg"
    assert clean_type("", "blob") == "application/octet-stream"


def test_sizes_read_as_people_say_them() -> None:
    assert size_text(20 * 1024 * 1024) == "20 MiB"
    assert size_text(1536) == "1.5 KiB"
    assert size_text(100) == "100 bytes"


def test_a_file_in_the_pool_has_all_its_keys() -> None:
    assert is_file({"id": "file_1", "name": "a", "mime_type": "text/plain", "size": 1, "url": "/x"})
    assert not is_file({"id": "file_1", "name": "a"})
    assert not is_file("file_1")
