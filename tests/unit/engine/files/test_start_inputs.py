"""A workflow declares file inputs on its start node: a chat adapter finds the one to fill,
and what arrives must be a stored file's shape (a list of at most ten for ``files``)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from engine.errors import InvalidRequest
from engine.files import MAX_FILES
from engine.workflow.nodes.start import StartConfig, StartNode


def start(*params: dict[str, Any]) -> StartNode:
    return StartNode("start", StartConfig.model_validate({"input_params": list(params)}))


def ref(n: int = 1) -> dict[str, Any]:
    return {"id": f"file_{n}", "name": "a.png", "mime_type": "image/png", "size": 3, "url": "/api/v1/files/x"}


def test_the_first_file_input_is_the_one_a_chat_fills() -> None:
    node = start({"name": "user_input"}, {"name": "photos", "type": "files"}, {"name": "doc", "type": "file"})
    assert node.file_input() == ("photos", True)
    assert node.file_inputs() == (("photos", True), ("doc", False))
    assert node.text_input() == "user_input"
    assert start({"name": "user_input"}).file_input() is None


def test_a_file_value_keeps_only_the_files_keys() -> None:
    node = start({"name": "doc", "type": "file"})
    assert node.coerce({"doc": {**ref(), "extra": "dropped"}}) == {"doc": ref()}


def test_what_is_not_a_file_is_refused_naming_the_input() -> None:
    node = start({"name": "doc", "type": "file"}, {"name": "photos", "type": "files", "required": False})
    for bad in ("file_1", {"id": "file_1"}, {**ref(), "size": "3"}):
        with pytest.raises(InvalidRequest, match="input 'doc' must be a file"):
            node.coerce({"doc": bad})
    with pytest.raises(InvalidRequest, match=f"at most {MAX_FILES} files"):
        node.coerce({"doc": ref(), "photos": [ref(i) for i in range(MAX_FILES + 1)]})
    assert node.coerce({"doc": ref(), "photos": [ref(2)]})["photos"] == [ref(2)]


def test_a_file_input_has_no_default() -> None:
    with pytest.raises(ValidationError, match="has no default"):
        start({"name": "doc", "type": "file", "default": ref()})


def test_a_file_input_with_accept_takes_only_those_media_types() -> None:
    node = start({"name": "scans", "type": "files", "accept": ["image/*", "application/pdf"]})
    pdf = {**ref(2), "name": "a.pdf", "mime_type": "application/pdf"}
    assert [f["mime_type"] for f in node.coerce({"scans": [ref(), pdf]})["scans"]] == [
        "image/png",
        "application/pdf",
    ]
    text = {**ref(3), "name": "a.txt", "mime_type": "text/plain"}
    with pytest.raises(InvalidRequest) as caught:
        node.coerce({"scans": [ref(), text]})
    assert "takes image/*, application/pdf, not text/plain" in caught.value.message
    assert node.param("scans").accepts("IMAGE/JPEG; q=1")


@pytest.mark.parametrize(
    ("param", "said"),
    [
        ({"name": "t", "type": "string", "accept": ["image/*"]}, "only file inputs take 'accept'"),
        ({"name": "f", "type": "file", "accept": ["images"]}, "pattern"),
    ],
)
def test_accept_is_checked_with_the_workflow(param: dict[str, Any], said: str) -> None:
    with pytest.raises(ValidationError) as caught:
        start(param)
    assert said in str(caught.value)
