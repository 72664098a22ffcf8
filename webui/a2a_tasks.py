"""A2A ``tasks/get`` answers carry the reply as an artifact, as send and stream do.

The server's A2A endpoint (langgraph-api 0.16) returns a completed task from ``tasks/get``
with its history but no ``artifacts``, so a client that reads the result the standard way
finds nothing. This ASGI middleware leaves every request alone except a ``tasks/get``
(or ``GetTask``) call on ``/a2a/{assistant_id}``; there it passes the request through
unchanged (the server authenticates and authorizes it as usual) and, in a successful
answer without artifacts, adds one built from the task's last agent message.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

A2A_PATH: Final = re.compile(r"/a2a/[^/]+/?")
GET_TASK_METHODS: Final = frozenset({"tasks/get", "GetTask"})
MAX_BODY_BYTES: Final = 1 << 20
"""A tasks/get request is a few hundred bytes; larger bodies are passed through untouched."""
AGENT_ROLES: Final = frozenset({"agent", "ROLE_AGENT"})


def reply_artifact(task: dict[str, Any]) -> dict[str, Any] | None:
    """The artifact of a task's reply: the parts of its last agent message in the history."""
    task_id = task.get("id")
    replies = [
        m
        for m in task.get("history") or []
        if isinstance(m, dict) and m.get("role") in AGENT_ROLES and m.get("taskId") == task_id
    ]
    if not replies or not replies[-1].get("parts"):
        return None
    return {
        "artifactId": f"{task_id}:reply",
        "name": "Assistant Response",
        "parts": replies[-1]["parts"],
    }


def with_reply_artifact(body: bytes) -> bytes:
    """A JSON-RPC tasks/get answer with the reply artifact added (unchanged when not needed)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    task = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(task, dict) or task.get("artifacts"):
        return body
    artifact = reply_artifact(task)
    if artifact is None:
        return body
    task["artifacts"] = [artifact]
    return json.dumps(answer).encode()


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The request body, and the messages read (to replay them to the server)."""
    messages: list[Message] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return body, messages
        body += message.get("body", b"")
        if not message.get("more_body") or len(body) > MAX_BODY_BYTES:
            return body, messages


def _is_get_task(body: bytes) -> bool:
    try:
        request = json.loads(body)
    except ValueError:
        return False
    return isinstance(request, dict) and request.get("method") in GET_TASK_METHODS


class TaskArtifactsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not A2A_PATH.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        body, read = await _read_body(receive)
        pending = list(read)

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        if not _is_get_task(body):
            await self.app(scope, replay, send)
            return
        await self._patched(scope, replay, send)

    async def _patched(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await _send_patched(send, start, b"".join(chunks))
            else:
                await send(message)

        await self.app(scope, receive, capture)


async def _send_patched(send: Send, start: Message | None, body: bytes) -> None:
    if start is None:  # the server always starts a response; nothing to patch otherwise
        return
    if start["status"] == 200:
        body = with_reply_artifact(body)
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
