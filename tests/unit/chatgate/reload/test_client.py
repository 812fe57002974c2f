"""`chatgate reload --url …` only ever talks HTTP: urllib would happily open file: and ftp: URLs."""

from __future__ import annotations

import pytest

from chatgate.reload.client import Target, request_reload


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "127.0.0.1:8080"])
def test_a_url_that_is_not_http_is_refused_before_anything_is_opened(url: str) -> None:
    code, said = request_reload(Target(url, "some-admin-key"))
    assert code == 2
    assert "http://" in said
    assert url in said
