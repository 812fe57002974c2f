"""The ``secrets:`` section: values that workflows may send to HTTP services by name
(``{{secrets.name}}`` in an http node's headers, query or body), and never see otherwise."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, field_validator

from config.section import Section

NAME_PATTERN = r"[A-Za-z0-9_-]{1,64}"
# Masking replaces a secret's value wherever it appears: a short one would mask ordinary text.
MIN_LENGTH = 8
#: In ``keys``: every API key's own workflows may use the secret.
EVERY_KEY = "*"


def check_secret_name(name: str) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValueError(f"{name!r} is not a secret name: 1-64 letters, digits, '_' or '-'")
    return name


def _host_pattern(value: str) -> str:
    host = value.removeprefix("*.")
    if not host or not re.fullmatch(r"[A-Za-z0-9.-]+", host) or host.startswith(".") or ".." in host:
        raise ValueError(f"{value!r} is not a host name or '*.domain' pattern")
    return value.lower()


class SecretSpec(Section):
    value: SecretStr
    # API key names whose own workflows may use it ("*": every key). Workflow files and admin
    # keys always may: they are the admin's.
    keys: tuple[str, ...] = ()
    # Where it may be sent: host names or "*.domain"; empty: wherever the http guard allows.
    hosts: tuple[Annotated[str, AfterValidator(_host_pattern)], ...] = Field(())

    @field_validator("value")
    @classmethod
    def _long_enough(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < MIN_LENGTH:
            raise ValueError(
                f"a secret must be at least {MIN_LENGTH} characters (shorter ones cannot be masked "
                "in logs and records without masking ordinary text too)"
            )
        return v


def _spec(value: Any) -> Any:
    """The short form ``name: "${TOKEN}"`` is a spec with only a value."""
    return {"value": value} if isinstance(value, (str, SecretStr)) else value


Secrets = dict[
    Annotated[str, AfterValidator(check_secret_name)], Annotated[SecretSpec, BeforeValidator(_spec)]
]
