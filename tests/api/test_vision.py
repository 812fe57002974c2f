"""Over REST, a photo sent as a base64 ``file`` input reaches a ``vision: true`` response
node's model as an image part (the real openai client inside ``chatgate serve``, against
the emulator); with ``vision`` off the model gets the text alone."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from engine.workflow.nodes.model import MAX_IMAGES
from tests.api.support import MODEL, assert_error, create_workflow, use_emulator
from tests.emulators.openai_server import OpenAIEmulator, image_reply
from tests.support import media
from tests.support.chatgate import StartChatgate


def photo_workflow(**response: Any) -> dict[str, Any]:
    return {
        "name": "photo desk",
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "config": {
                    "input_params": [
                        {"name": "user_input"},
                        {"name": "photo", "type": "file", "required": False},
                    ]
                },
            },
            {"id": "look", "type": "response", "config": {"model": MODEL, **response}},
        ],
        "connections": [{"from": "start", "to": "look"}],
    }


@pytest.mark.parametrize("vision", [True, False])
async def test_a_photo_sent_over_rest_reaches_a_vision_model_as_an_image_part(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator, vision: bool
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    openai_emu.reply = image_reply
    picture = media.png(8, 8)
    photo = {"name": "cat.png", "mime_type": "image/png", "data": base64.b64encode(picture).decode()}
    async with gw.client() as http:
        wid = await create_workflow(http, photo_workflow(vision=vision))
        async with http.post(
            f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "what is it?", "photo": photo}}
        ) as r:
            body = await r.json()
            assert r.status == 200, body
        async with http.get(f"/api/v1/executions/{body['execution_id']}") as r:
            execution = await r.json()
    [request] = openai_emu.requests
    if vision:
        assert body["result"] == {"content": f"I see a image/png image of {len(picture)} bytes"}
        assert [(i.mime_type, i.data) for i in request.images] == [("image/png", picture)]
        assert execution["nodes"]["look"]["sent"]["images"] == [
            {"name": "cat.png", "mime_type": "image/png", "size": len(picture)}
        ]
    else:
        assert body["result"] == {"content": "echo: what is it?"}
        assert request.images == []
        assert request.body["messages"][-1] == {"role": "user", "content": "what is it?"}


async def test_more_photos_than_a_model_takes_are_refused_with_the_limit_named(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    workflow = photo_workflow(vision=True)
    workflow["nodes"][0]["config"]["input_params"][1]["type"] = "files"
    encoded = base64.b64encode(media.png()).decode()
    photos = [{"name": f"{i}.png", "mime_type": "image/png", "data": encoded} for i in range(MAX_IMAGES + 1)]
    async with gw.client() as http:
        wid = await create_workflow(http, workflow)
        async with http.post(
            f"/api/v1/workflows/{wid}/execute",
            json={"inputs": {"user_input": "all of these?", "photo": photos}},
        ) as r:
            body = await r.json()
    assert r.status == 502, body
    error = assert_error(body, "execution_failed")
    limit = f"at most {MAX_IMAGES} images go to the model with one message; this one has {MAX_IMAGES + 1}"
    assert error["message"] == f"node 'look': {limit}"
    assert openai_emu.requests == []
