"""A file's URL works for whoever holds it, until it expires, and only as it was signed."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from engine.errors import Forbidden
from engine.files.signing import UrlSigner

KEY = bytes(range(32))


def parts(url: str) -> tuple[str, int, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path, int(query["expires"][0]), query["signature"][0]


def test_a_signed_url_is_accepted_until_it_expires() -> None:
    signer = UrlSigner(KEY, ttl_s=60)
    path, expires, signature = parts(signer.url("file_1", now=1000))
    assert path == "/api/v1/files/file_1"
    assert expires == 1060
    signer.check("file_1", expires, signature, now=1059)
    with pytest.raises(Forbidden, match="expired"):
        signer.check("file_1", expires, signature, now=1061)


def test_a_url_for_one_file_opens_no_other() -> None:
    signer = UrlSigner(KEY, ttl_s=60)
    _, expires, signature = parts(signer.url("file_1", now=1000))
    with pytest.raises(Forbidden, match="not valid"):
        signer.check("file_2", expires, signature, now=1000)


def test_a_later_expiry_cannot_be_written_in() -> None:
    signer = UrlSigner(KEY, ttl_s=60)
    _, expires, signature = parts(signer.url("file_1", now=1000))
    with pytest.raises(Forbidden, match="not valid"):
        signer.check("file_1", expires + 3600, signature, now=1000)


def test_another_deployments_key_signs_nothing_here() -> None:
    ours, theirs = UrlSigner(KEY, ttl_s=60), UrlSigner(bytes(32), ttl_s=60)
    _, expires, signature = parts(theirs.url("file_1", now=1000))
    with pytest.raises(Forbidden):
        ours.check("file_1", expires, signature, now=1000)


def test_a_public_url_makes_it_absolute_and_the_key_never_shows() -> None:
    signer = UrlSigner(KEY, ttl_s=60, public_url="https://bots.example.com")
    assert signer.url("file_1").startswith("https://bots.example.com/api/v1/files/file_1?expires=")
    assert KEY.hex() not in repr(signer)
