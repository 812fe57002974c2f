"""A ``response`` node with ``vision: true`` shows its model the images the user sent: read
from the file store, sent as image parts over the real openai client to the emulator (or
named by the offline model); anything else is left out and the node's record says why."""

from __future__ import annotations

from typing import Any

import pytest

from config.files import FilesSettings
from engine.errors import ExecutionFailed
from engine.files import FileRef
from engine.files.store import FileStore
from engine.run.executor import Executor
from engine.workflow.events import Event
from engine.workflow.graph import CompiledWorkflow, compile_workflow, parse_spec
from engine.workflow.nodes.files import FILES
from engine.workflow.nodes.model import MAX_IMAGES
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator, image_reply
from tests.engine.executors import MakeExecutor
from tests.engine.test_subworkflows import doc, node, wired
from tests.support import media

OWNER = "alice"


def vision_workflow(vision: bool = True, model: str = "gpt-4o", **config: Any) -> CompiledWorkflow:
    params = [{"name": "user_input"}, {"name": "photos", "type": "files", "required": False}]
    doc = {
        "name": "looker",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": params}},
            {"id": "look", "type": "response", "config": {"model": model, "vision": vision, **config}},
        ],
        "connections": [{"from": "start", "to": "look"}],
    }
    return compile_workflow(parse_spec(doc))


async def with_files(ex: Executor) -> FileStore:
    """The executor's runs reach their owner's files, as the gateway wires it."""
    store = await FileStore(ex.storage, FilesSettings()).open()
    ex.owner_services[FILES.name] = store.of_owner
    return store


async def put(store: FileStore, data: bytes, name: str, mime_type: str, owner: str = OWNER) -> FileRef:
    return await store.put(data, name=name, mime_type=mime_type, session_id=None, owner=owner)


async def test_a_photo_reaches_the_vision_model_as_an_image_part(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    ex = executor(openai_emu)
    store = await with_files(ex)
    picture = media.png(4, 4)
    photo = await put(store, picture, "cat.png", "image/png")
    openai_emu.reply = image_reply
    record = await ex.execute(
        "wf", vision_workflow(), {"user_input": "what is it?", "photos": [photo]}, owner=OWNER
    )
    assert record.result == {"content": f"I see a image/png image of {len(picture)} bytes"}
    [request] = openai_emu.requests
    assert [(i.mime_type, i.data) for i in request.images] == [("image/png", picture)]
    assert request.body["messages"][-1]["content"][0] == {"type": "text", "text": "what is it?"}
    assert record.nodes["look"]["sent"] == {
        "images": [{"name": "cat.png", "mime_type": "image/png", "size": len(picture)}]
    }


async def test_without_vision_the_model_gets_only_the_text(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    ex = executor(openai_emu)
    store = await with_files(ex)
    photo = await put(store, media.png(), "cat.png", "image/png")
    await ex.execute(
        "wf", vision_workflow(vision=False), {"user_input": "what is it?", "photos": [photo]}, owner=OWNER
    )
    [request] = openai_emu.requests
    assert request.images == []
    assert request.body["messages"][-1] == {"role": "user", "content": "what is it?"}


async def test_files_that_are_not_images_are_left_out_and_the_record_says_why(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    ex = executor(openai_emu)
    store = await with_files(ex)
    picture = media.png()
    files = [
        await put(store, b"%PDF-1.7 a report", "report.pdf", "application/pdf"),
        await put(store, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.svg", "image/svg+xml"),
        await put(store, b"not really a png", "fake.png", "image/png"),
        # Labelled a jpeg: it goes as what its bytes are.
        await put(store, picture, "mislabelled.jpg", "image/jpeg"),
    ]
    record = await ex.execute("wf", vision_workflow(), {"user_input": "look", "photos": files}, owner=OWNER)
    [request] = openai_emu.requests
    assert [(i.mime_type, i.data) for i in request.images] == [("image/png", picture)]
    sent = record.nodes["look"]["sent"]
    assert sent["images"] == [{"name": "mislabelled.jpg", "mime_type": "image/png", "size": len(picture)}]
    assert sent["skipped"] == [
        {"name": "report.pdf", "mime_type": "application/pdf", "reason": "not an image"},
        {"name": "logo.svg", "mime_type": "image/svg+xml", "reason": "not a png, jpeg, gif, webp image"},
        {"name": "fake.png", "mime_type": "image/png", "reason": "not a png, jpeg, gif, webp image"},
    ]


async def test_another_owners_file_is_never_read(executor: MakeExecutor, openai_emu: OpenAIEmulator) -> None:
    ex = executor(openai_emu)
    store = await with_files(ex)
    theirs = await put(store, media.png(), "private.png", "image/png", owner="mallory")
    record = await ex.execute(
        "wf", vision_workflow(), {"user_input": "look", "photos": [theirs]}, owner=OWNER
    )
    assert openai_emu.requests[0].images == []
    assert record.nodes["look"]["sent"]["skipped"][0]["reason"] == "no longer stored"


async def test_the_offline_model_names_the_images_it_got(executor: MakeExecutor) -> None:
    ex = executor()
    store = await with_files(ex)
    picture = media.png()
    photo = await put(store, picture, "cat.png", "image/png")
    record = await ex.execute(
        "wf", vision_workflow(model="echo"), {"user_input": "what is it?", "photos": [photo]}, owner=OWNER
    )
    assert record.result == {
        "content": f"(echo) what is it? [1 image: cat.png (image/png, {len(picture)} bytes)]"
    }


async def test_more_images_than_a_model_takes_are_refused_clearly(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    ex = executor(openai_emu)
    store = await with_files(ex)
    photos = [await put(store, media.png(), f"{i}.png", "image/png") for i in range(MAX_IMAGES + 1)]
    with pytest.raises(ExecutionFailed, match=f"node 'look': at most {MAX_IMAGES} images go to the model"):
        await ex.execute("wf", vision_workflow(), {"user_input": "look", "photos": photos}, owner=OWNER)
    assert openai_emu.requests == []  # refused before anything was read or sent


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_vision_node_with_tools_shows_the_images_in_every_round(
    executor: MakeExecutor, openai_emu: OpenAIEmulator, streamed: bool
) -> None:
    parts = wired(executor(openai_emu))
    store = await with_files(parts.executor)
    price = await parts.create(
        doc("price", [{"name": "item"}], [node("end", "end", content="{{inputs.item}} costs 3 EUR")]), OWNER
    )
    photo = await put(store, media.png(), "receipt.png", "image/png")

    def reply(body: dict[str, Any]) -> str | EmulatedReply:
        if not any(m["role"] == "tool" for m in body["messages"]):
            return EmulatedReply("", (EmulatedCall("price", {"item": "coffee"}),))
        return "the coffee on it costs 3 EUR"

    openai_emu.reply = reply
    looker = vision_workflow(tools=[{"workflow": price.workflow_id, "description": "an item's price"}])
    events: list[Event] = []
    record = await parts.executor.execute(
        "wf",
        looker,
        {"user_input": "what does it cost?", "photos": [photo]},
        owner=OWNER,
        sink=events.append if streamed else None,
    )
    assert record.result == {"content": "the coffee on it costs 3 EUR"}
    assert [len(r.images) for r in openai_emu.requests] == [1, 1]  # the server keeps nothing between rounds
