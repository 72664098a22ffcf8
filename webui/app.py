"""The web UI and the A2A agent card, as custom routes of the project's LangGraph server.

``langgraph.json`` names this Starlette app (``"http": {"app": "./webui/app.py:app"}``);
the server (``langgraph dev`` or a deployment) merges its routes before its own, in the
same process. No second backend: the UI's pages are static files (``webui/static``) whose
scripts call the server's own APIs (threads, runs with streaming, the store). This module
only adds what those APIs lack:

- ``/`` and ``/ui/``: the UI (``index.html``, assets under ``/ui/static/``), offline;
- ``/ui/config.json``: the team declaration the UI draws (agents, roles, the demo's
  customer and request, the API key header);
- ``/.well-known/agent-card.json`` (and the older ``agent.json``), and the same under
  ``/a2a/{assistant_id}/``: the team's A2A card (``webui/agent_card.py``);
- a middleware that adds the reply as an artifact to A2A ``tasks/get`` answers, which
  the server returns without artifacts (``webui/a2a_tasks.py``);
- ``/api/teams/{team}/memories/{id}/forget`` and ``/api/teams/{team}/subjects/{subject}/forget``
  (staff only): forgetting with the full cascade of memory/team.py (``webui/forget.py``),
  which the store API's one-record delete lacks.

The card and config are public, as agent cards are meant to be; every other API the UI
calls goes through the server's authentication and authorization (the forget routes check
the caller's key against the same key table).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from graphs.served import default_assistant_id
from webui.a2a_tasks import TaskArtifactsMiddleware
from webui.agent_card import build_agent_card
from webui.forget import forget_memory, forget_subject
from webui.settings import API_KEY_HEADER, GRAPHS, auth_enabled, ui_config

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"


def _version() -> str:
    try:
        return importlib.metadata.version("a2a-memory")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _graph_of(request: Request, assistant_id: str) -> str | None:
    """The graph of an assistant, asked of the server itself with the caller's credentials."""
    for graph_id in GRAPHS:
        if assistant_id == default_assistant_id(graph_id):
            return graph_id
    from langgraph_sdk import get_client

    headers = {k: v for k, v in request.headers.items() if k.lower() == API_KEY_HEADER}
    try:
        assistant = await get_client(headers=headers).assistants.get(assistant_id)
    except Exception:  # not found, not allowed, or not a UUID: the card says which below
        return None
    return str(assistant["graph_id"])


def _examples(graph_id: str) -> list[str]:
    if graph_id != "team":
        return []
    from teams.support.demo import DEMO_REQUEST

    return [DEMO_REQUEST]


async def agent_card(request: Request) -> Response:
    """The A2A card of an assistant (the team's default assistant when none is named)."""
    assistant_id = request.path_params.get("assistant_id") or request.query_params.get(
        "assistant_id", default_assistant_id("team")
    )
    graph_id = await _graph_of(request, assistant_id)
    if graph_id is None:
        return _error(404, f"no assistant {assistant_id!r} on this server")
    served = GRAPHS.get(graph_id)
    if served is None:
        return _error(404, f"assistant {assistant_id!r} runs graph {graph_id!r}, which has no card")
    base = str(request.base_url).rstrip("/")
    card = build_agent_card(
        served.team,
        served.kind,
        f"{base}/a2a/{assistant_id}",
        version=_version(),
        api_key_header=API_KEY_HEADER if auth_enabled() else None,
        examples=_examples(graph_id),
    )
    return JSONResponse(card, headers={"Cache-Control": "no-cache"})


async def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def to_ui(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=307)


async def config(request: Request) -> Response:
    return JSONResponse(ui_config(), headers={"Cache-Control": "no-cache"})


_CARD_PATHS: Final = ("agent-card.json", "agent.json")

routes = [
    Route("/", to_ui, methods=["GET"]),
    Route("/ui", to_ui, methods=["GET"]),
    Route("/ui/", index, methods=["GET"]),
    Route("/ui/config.json", config, methods=["GET"]),
    Route("/api/teams/{team}/memories/{memory_id}/forget", forget_memory, methods=["POST"]),
    Route("/api/teams/{team}/subjects/{subject}/forget", forget_subject, methods=["POST"]),
    Mount("/ui/static", app=StaticFiles(directory=STATIC_DIR), name="ui-static"),
    *(Route(f"/.well-known/{p}", agent_card, methods=["GET"]) for p in _CARD_PATHS),
    *(
        Route(f"/a2a/{{assistant_id}}/.well-known/{p}", agent_card, methods=["GET"])
        for p in _CARD_PATHS
    ),
]

app = Starlette(routes=routes, middleware=[Middleware(TaskArtifactsMiddleware)])
