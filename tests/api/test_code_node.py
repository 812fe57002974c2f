"""A workflow author runs their own Python in a ``code`` node, over the REST API of a real
``chatgate serve``; and an author who is an attacker gets nothing from it.

Every attack below fails its own node with a clear error while the server, and the
executions running beside it, go on. Most attacks first step around the import filter
(``ESCAPE`` reaches ``os`` and the raw importer through object subclasses), so what
stops them is the sandbox itself, not the filter's messages."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.api.shared_server import SharedServer
from tests.api.support import assert_error, create_workflow
from tests.config.reload_support import edit, fast_reload, health, wait_version
from tests.support.chatgate import ChatgateProcess, StartChatgate

# The server's secret in its environment: no code may see it.
SECRET_ENV = {"ORDERS_TOKEN": "orders-secret-5c7e19d2"}

ESCAPE = (
    "OS = next(c for c in ().__class__.__base__.__subclasses__()"
    " if c.__name__ == '_wrap_close').__init__.__globals__\n"
    "IMP = OS['sys'].modules['_frozen_importlib'].__import__\n"
)


def code_workflow(name: str, code: str, fields: tuple[str, ...] = ("x",), **config: Any) -> dict[str, Any]:
    """start(n) -> code (inputs n) -> end (the code's ``fields`` as the result)."""
    node = {"id": "calc", "type": "code", "config": {"code": code, "inputs": {"n": "{{inputs.n}}"}, **config}}
    return {
        "name": name,
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "n", "type": "object"}]}},
            node,
            {"id": "done", "type": "end", "config": {"outputs": {f: f"{{{{calc.{f}}}}}" for f in fields}}},
        ],
        "connections": [{"from": "start", "to": "calc"}, {"from": "calc", "to": "done"}],
    }


async def execute(http: aiohttp.ClientSession, workflow_id: str, n: Any = ()) -> tuple[int, dict[str, Any]]:
    async with http.post(f"/api/v1/workflows/{workflow_id}/execute", json={"inputs": {"n": list(n)}}) as r:
        return r.status, await r.json()


async def run_code(
    http: aiohttp.ClientSession, name: str, code: str, **config: Any
) -> tuple[int, dict[str, Any]]:
    return await execute(http, await create_workflow(http, code_workflow(name, code, **config)))


async def test_a_code_node_computes_from_its_inputs_and_its_prints_go_to_the_record_not_the_chat(
    shared_server: SharedServer,
) -> None:
    code = (
        "import statistics\n"
        "def main(inputs):\n"
        "    print('averaging', len(inputs['n']), 'values')\n"
        "    return {'mean': statistics.mean(inputs['n']), 'top': max(inputs['n'])}\n"
    )
    async with shared_server.client(shared_server.new_key()) as http:
        workflow_id = await create_workflow(http, code_workflow("stats", code, ("mean", "top")))
        status, body = await execute(http, workflow_id, [2, 4, 9])
        assert status == 200, body
        async with http.get(f"/api/v1/executions/{body['execution_id']}") as r:
            record = await r.json()
    assert body["result"] == {"content": "", "mean": 5, "top": 9}
    assert "averaging" not in json.dumps(body)
    assert record["nodes"]["calc"]["logs"] == "averaging 3 values\n"
    assert record["nodes"]["calc"]["status"] == "completed"


async def test_an_exception_names_its_type_message_and_line_and_on_error_applies(
    shared_server: SharedServer,
) -> None:
    code = "def main(inputs):\n    print('about to fail')\n    return {'x': 1 / 0}\n"
    async with shared_server.client(shared_server.new_key()) as http:
        status, body = await run_code(http, "fails", code)
        branch = code_workflow("branches", code, on_error="continue", default={"x": "fallback"})
        ok_status, ok_body = await execute(http, await create_workflow(http, branch))
        assert "execution_id" in body, body
        async with http.get(f"/api/v1/executions/{body['execution_id']}") as r:
            record = await r.json()
    assert status == 502, body
    error = assert_error(body, "code_error")
    assert error["message"] == "node 'calc': the code raised ZeroDivisionError: division by zero (line 3)"
    assert error["details"] == {"node": "calc", "reason": "code_error", "line": 3}
    assert record["nodes"]["calc"]["error"]["code"] == "code_error"
    assert shared_server.workdir.as_posix() not in json.dumps(body)
    assert record["nodes"]["calc"]["logs"] == "about to fail\n"  # kept on failure too
    assert ok_status == 200, ok_body
    assert ok_body["result"]["x"] == "fallback"


async def test_code_that_does_not_compile_or_has_no_main_is_refused_when_saved(
    shared_server: SharedServer,
) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        broken = code_workflow("broken", "def main(inputs):\n    return {'x': (}\n")
        async with http.post("/api/v1/workflows", json=broken) as r:
            syntax = await r.json()
        mainless = code_workflow("mainless", "def helper(inputs):\n    return {}\n")
        async with http.post("/api/v1/workflows", json=mainless) as r:
            no_main = await r.json()
        declared = code_workflow(
            "declared", "def main(inputs):\n    return {'a': 1}\n", ("b",), outputs=["a"]
        )
        async with http.post("/api/v1/workflows", json=declared) as r:
            undeclared = await r.json()
    assert "line 2" in json.dumps(assert_error(syntax, "invalid_workflow"))
    assert "define a function main(inputs)" in json.dumps(assert_error(no_main, "invalid_workflow"))
    assert "'calc' outputs a" in json.dumps(assert_error(undeclared, "invalid_workflow"))


def attacks(gw: ChatgateProcess) -> dict[str, tuple[str, dict[str, Any], str, str]]:
    """name -> (code, extra node config, error code, what the message must say)."""
    config_file = gw.config_path.as_posix()
    database = (gw.workdir / "data" / "chatgate.db").as_posix()
    return {
        "read /etc/passwd": (
            ESCAPE + "def main(inputs):\n    return {'x': OS['open']('/etc/passwd', 0)}\n",
            {},
            "code_error",
            "FileNotFoundError",
        ),
        "read the config file": (
            ESCAPE + f"def main(inputs):\n    return {{'x': OS['open']({config_file!r}, 0)}}\n",
            {},
            "code_error",
            "FileNotFoundError",
        ),
        "read the database": (
            ESCAPE + f"def main(inputs):\n    return {{'x': OS['open']({database!r}, 0)}}\n",
            {},
            "code_error",
            "FileNotFoundError",
        ),
        "read /proc/1/environ": (
            ESCAPE + "def main(inputs):\n    return {'x': OS['open']('/proc/1/environ', 0)}\n",
            {},
            "code_error",
            "FileNotFoundError",
        ),
        "connect to the chatgate port": (
            ESCAPE + f"def main(inputs):\n    IMP('socket').create_connection(('127.0.0.1', {gw.port}), 2)\n",
            {},
            "code_error",
            "ConnectionRefusedError",
        ),
        "connect to PostgreSQL's port": (
            ESCAPE + "def main(inputs):\n    IMP('socket').create_connection(('127.0.0.1', 5432), 2)\n",
            {},
            "code_error",
            "ConnectionRefusedError",
        ),
        "import subprocess": (
            "import subprocess\ndef main(inputs):\n    return {}\n",
            {},
            "code_error",
            "module 'subprocess' is not available in the code node",
        ),
        "import ctypes": (
            "def main(inputs):\n    import ctypes\n    return {}\n",
            {},
            "code_error",
            "module 'ctypes' is not available in the code node",
        ),
        "run a shell through subprocess": (
            ESCAPE + "def main(inputs):\n    IMP('subprocess').run(['/bin/sh', '-c', 'id'])\n",
            {},
            "code_error",
            "FileNotFoundError",
        ),
        "fork bomb": (
            ESCAPE + "def main(inputs):\n    while True:\n        OS['fork']()\n",
            {},
            "code_error",
            "BlockingIOError",
        ),
        "endless loop": (
            "def main(inputs):\n    while True:\n        pass\n",
            {"timeout_s": 1},
            "code_timeout",
            "1s",
        ),
        "allocate 4 GiB": (
            "def main(inputs):\n    return {'x': len(bytearray(4 << 30))}\n",
            {},
            "code_memory_exceeded",
            "256 MiB",
        ),
        "write 1 GiB to /tmp": (
            ESCAPE + "def main(inputs):\n"
            "    fd = OS['open']('/tmp/fill', OS['O_WRONLY'] | OS['O_CREAT'])\n"
            "    for _ in range(1024):\n"
            "        OS['write'](fd, b'x' * (1 << 20))\n",
            {},
            "code_error",
            "File too large",
        ),
        "kill the parent and the server": (
            ESCAPE + "def main(inputs):\n"
            "    OS['kill'](OS['getppid'](), 9)\n"
            f"    OS['kill']({gw.proc.pid if gw.proc else 0}, 9)\n",
            {},
            "code_error",
            "ProcessLookupError",
        ),
        "segfault": (
            ESCAPE + "def main(inputs):\n    IMP('ctypes').string_at(0)\n",
            {},
            "code_killed",
            "SIGSEGV",
        ),
    }


async def test_each_attack_fails_its_own_node_and_the_server_and_other_runs_go_on(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(env=SECRET_ENV)
    plain = "def main(inputs):\n    return {'twice': sum(inputs['n']) * 2}\n"
    async with gw.client() as http:
        trivial = await create_workflow(http, code_workflow("trivial", plain, ("twice",)))
        named = attacks(gw)
        ids = [
            await create_workflow(http, code_workflow(f"attack{i}", c, **extra))
            for i, (c, extra, _, _) in enumerate(named.values())
        ]
        # Two at a time (the machine's cores), with an honest run beside each pair.
        outcomes: list[tuple[int, dict[str, Any]]] = []
        honest: list[tuple[int, dict[str, Any]]] = []
        for i in range(0, len(ids), 2):
            *attacked, ok = await asyncio.gather(
                *(execute(http, w) for w in ids[i : i + 2]), execute(http, trivial, [21])
            )
            outcomes += attacked
            honest.append(ok)
        async with http.get("/healthz") as r:
            healthy = r.status
        after = await execute(http, trivial, [4])
    for (name, (source, _, code, says)), (status, body) in zip(named.items(), outcomes, strict=True):
        assert status == 502, (name, body)
        error = assert_error(body, code)
        assert error["details"]["reason"] == code, (name, error)
        assert says in error["message"], (name, error)
        assert error["message"].startswith("node 'calc': "), (name, error)
        if gw.workdir.as_posix() not in source:  # (a path the attacker wrote is theirs to see)
            assert gw.workdir.as_posix() not in error["message"], (name, error)
    assert [(status, body["result"].get("twice")) for status, body in honest] == [(200, 42)] * len(honest)
    assert healthy == 200
    assert after[1]["result"]["twice"] == 8


async def test_the_server_environment_is_invisible_and_nothing_is_left_for_the_next_run(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(env=SECRET_ENV)
    looks = ESCAPE + (
        "def main(inputs):\n"
        "    fd = OS['open'](f\"/tmp/left-by-{inputs['n'][0]}\", OS['O_WRONLY'] | OS['O_CREAT'])\n"
        "    OS['write'](fd, b'for the next run')\n"
        "    seen = {'tmp': OS['listdir']('/tmp'), 'root': sorted(OS['listdir']('/'))}\n"
        "    return {'env': dict(OS['environ']), **seen}\n"
    )
    async with gw.client() as http:
        workflow_id = await create_workflow(http, code_workflow("looks", looks, ("env", "tmp", "root")))
        first = await execute(http, workflow_id, [1])
        second = await execute(http, workflow_id, [2])
    assert first[0] == 200, first
    seen_first, seen_second = first[1]["result"], second[1]["result"]
    assert seen_first["tmp"] == ["left-by-1"]  # the run's own file
    assert seen_second["tmp"] == ["left-by-2"]  # the first run's is gone with its sandbox
    assert SECRET_ENV["ORDERS_TOKEN"] not in json.dumps([seen_first, seen_second])
    assert set(seen_first["env"]) <= {"PWD", "LC_CTYPE"}, seen_first["env"]
    assert seen_first["root"] == ["dev", "lib", "lib64", "tmp", "usr"]  # no /etc, /proc, /home, /root


async def test_without_bubblewrap_the_code_node_refuses_to_run_until_a_reload_points_at_it(
    start_chatgate: StartChatgate,
) -> None:
    def missing(config: dict[str, Any]) -> None:
        fast_reload(config)
        config["code"] = {"bwrap": "/nonexistent/bwrap"}

    gw = await start_chatgate(missing)
    async with gw.client() as http:
        workflow_id = await create_workflow(
            http, code_workflow("refused", "def main(inputs):\n    return {'x': 1}\n")
        )
        status, body = await execute(http, workflow_id)
        version = (await health(gw))["config"]["version"]
        edit(gw, lambda c: c.update(code={"bwrap": "bwrap", "timeout_s": 2}))
        await wait_version(gw, version + 1)
        fixed = await execute(http, workflow_id)
    assert status == 502, body
    error = assert_error(body, "sandbox_unavailable")
    assert error["details"] == {"node": "calc", "reason": "sandbox_unavailable"}
    assert "the code node needs bubblewrap (apt-get install bubblewrap)" in error["message"]
    assert "code nodes will refuse to run" in gw.logs()
    assert fixed[0] == 200, fixed
    assert fixed[1]["result"]["x"] == 1
