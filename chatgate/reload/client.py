"""``chatgate reload``: ask the running chatgate to reload its config, print the verdict.

It calls ``POST /api/v1/admin/reload`` with an admin API key, so the verdict comes
from the server itself: it reads the file with the server's environment (a
``${VAR}`` set only for the service is not an error here) and answers with the
same one-line reason /healthz shows. Where the server listens and which key to
use are read leniently from the config file (it may be the broken one being
fixed): ``--url``/``$CHATGATE_URL``, else ``server.host``/``server.port``;
``--key``/``$CHATGATE_API_KEY``, else an API key listed in ``admins`` as
``key:<name>``, else the generated ``<data_dir>/admin_key`` (while it exists).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config.loader import interpolate

TIMEOUT_S = 60.0  # a reload waits for the previous one's bots to finish their answers


@dataclass(frozen=True)
class Target:
    url: str
    key: str | None


def _value(raw: Any, env: Mapping[str, str]) -> Any:
    try:
        return interpolate(raw, env)
    except Exception:  # an unset ${VAR}: not needed to find the server
        return None


def locate(config: Path, env: Mapping[str, str], url: str | None = None, key: str | None = None) -> Target:
    try:
        # Not UTF-8 is the server's verdict to give; where it listens is still readable.
        raw = yaml.safe_load(config.read_bytes().decode("utf-8", errors="replace"))
    except (OSError, yaml.YAMLError):
        raw = None
    raw = raw if isinstance(raw, dict) else {}
    server = raw.get("server")
    server = server if isinstance(server, dict) else {}
    host = env.get("CHATGATE_SERVER__HOST") or _value(server.get("host"), env) or "127.0.0.1"
    port = env.get("CHATGATE_SERVER__PORT") or _value(server.get("port"), env) or 8080
    if str(host) in ("0.0.0.0", "", "::"):  # noqa: S104 -- compared, not bound
        host = "127.0.0.1"  # listening everywhere: talk to it locally
    if ":" in str(host):
        host = f"[{host}]"
    url = url or env.get("CHATGATE_URL") or f"http://{host}:{port}"
    return Target(url.rstrip("/"), key or env.get("CHATGATE_API_KEY") or _admin_key(raw, env))


def _admin_key(raw: dict[str, Any], env: Mapping[str, str]) -> str | None:
    admins = {_value(a, env) for a in raw.get("admins") or [] if isinstance(a, str)}
    keys = [k for k in raw.get("api_keys") or [] if isinstance(k, dict)]
    for entry in keys:
        if f"key:{_value(entry.get('name'), env)}" in admins:
            value = _value(entry.get("key"), env)
            if value:
                return str(value)
    # the generated key is an admin key for as long as its file exists, api_keys or not
    # (unless the file names a key "admin" of its own, which then takes its place)
    if any(_value(k.get("name"), env) == "admin" for k in keys):
        return None
    data_dir = _value(raw.get("data_dir"), env) or env.get("CHATGATE_DATA_DIR") or "data"
    stored = Path(str(data_dir)) / "admin_key"
    try:
        return stored.read_text().strip() or None
    except OSError:
        return None


def request_reload(target: Target) -> tuple[int, str]:
    """Exit code and what to print: 0 applied/unchanged, 1 rejected, 2 could not ask."""
    if not target.key:
        return 2, (
            "no admin API key found: pass --key or set CHATGATE_API_KEY to a key listed in the "
            'config as admins: ["key:<name>"] or made with `chatgate keys create --admin` '
            "(or send the server SIGHUP instead)"
        )
    if not target.url.startswith(("http://", "https://")):
        return 2, f"--url must be an http:// or https:// address of chatgate, not {target.url!r}"
    request = urllib.request.Request(  # noqa: S310 -- http(s) checked above
        target.url + "/api/v1/admin/reload",
        data=b"",
        method="POST",
        headers={"Authorization": f"Bearer {target.key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 -- http(s) checked above
            body = json.loads(response.read())
            return 0, str(body.get("summary") or body)
    except urllib.error.HTTPError as e:
        try:
            error = json.loads(e.read()).get("error", {})
        except ValueError:
            error = {}
        if e.code == 422:
            return 1, str((error.get("details") or {}).get("summary") or error.get("message"))
        message = error.get("message") or e.reason
        details = error.get("details")
        # 401 details are a string; 403 details an object with a hint (README's error table).
        hint = details.get("hint") if isinstance(details, dict) else details
        hint = f"; {hint}" if isinstance(hint, str) else ""
        return 2, f"chatgate refused the reload ({e.code}): {message}{hint}"
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        return 2, (
            f"cannot reach chatgate at {target.url} ({reason}). Is it running? If server.port was "
            "changed in the file, the running server still uses the old one: pass --url."
        )
