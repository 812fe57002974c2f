"""A config file chatgate cannot read: ``chatgate serve`` refuses it in one line, naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings
from tests.config.reload_support import run_cli


def test_a_file_not_in_utf8_is_named_with_its_line_and_serve_refuses_it_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "chatgate.yaml"
    path.write_bytes(b"server: {port: 8080}\nllm: {default_model: caf\xe9}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value) == f"{path}:2: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    served = run_cli("serve", "--config", str(path), cwd=tmp_path)
    assert served.returncode == 2
    assert "Traceback" not in served.stderr
    assert served.stderr.strip().endswith(f"cannot start: {caught.value}")
