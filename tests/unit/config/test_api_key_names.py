"""An admin names API keys: a name owns what its key creates, so names are unique and plain."""

from __future__ import annotations

import itertools
import textwrap

import pytest

from config import ConfigError, parse_settings
from config.schema import check_key_name
from engine.session_ids import stored_session_id


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_settings(textwrap.dedent(text), "chatgate.yaml", {})
    return caught.value


def test_two_keys_with_one_name_are_a_config_error_naming_the_second() -> None:
    error = refused(
        """\
        api_keys:
          - {key: first-key-0123456789, name: admin, tier: paid}
          - {key: second-key-0123456789, name: admin, tier: free}
        """
    )
    assert error.key == "api_keys.1.name"
    assert error.line == 3
    assert "api_keys.0" in str(error)


@pytest.mark.parametrize("name", ["", "team:x", ":", " padded", "padded ", "tab\there", "x" * 201])
def test_an_empty_or_colon_name_is_a_config_error_naming_the_key(name: str) -> None:
    error = refused(f'api_keys: [{{key: some-key-0123456789, name: "{name}"}}]\n')
    assert error.key == "api_keys.0.name"
    assert "without ':'" in str(error)


def test_admins_may_name_the_generated_key_beside_configured_ones() -> None:
    settings = parse_settings(
        'api_keys: [{key: some-key-0123456789, name: ops}]\nadmins: ["key:ops", "key:admin"]\n',
        "chatgate.yaml",
        {},
    )
    assert [k.name for k in settings.api_keys] == ["ops"]


def test_stored_session_ids_are_one_to_one_for_every_allowed_name() -> None:
    # The attack: key "team:x" resetting session "s1" hit key "team"'s session "x:s1".
    names = ["team", "team.x", "x", "t", "team-x", "a@b", "mobile app", "x" * 200]
    sessions = ["s1", "x:s1", ":s1", "s1:", "x", "a:b:c", ""]
    for name in names:
        check_key_name(name)  # all of them are allowed names
    stored = {(n, s): stored_session_id(n, s) for n, s in itertools.product(names, sessions)}
    assert len(set(stored.values())) == len(stored)
    with pytest.raises(ValueError):  # noqa: PT011 - refused is the point, whatever the wording
        check_key_name("team:x")


def test_an_ordinary_name_keeps_the_stored_form_of_its_sessions() -> None:
    # History stored before names were restricted stays where it was.
    assert stored_session_id("tester", "alice") == "api:tester:alice"
    assert stored_session_id("tester", "x:s1") == "api:tester:x:s1"
