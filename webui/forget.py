"""``POST /api/teams/{team}/memories/{memory_id}/forget`` and
``POST /api/teams/{team}/subjects/{subject}/forget``: forgetting with the full cascade.

The store API's ``DELETE /store/items`` removes one record. Forgetting a fact means more
(memory/team.py, `TeamMemory.forget`): its synced copies, the values it superseded, links
to it, and the A2A log payloads that carried it. These routes run that cascade on the
server's own store and answer with the report. Staff only: the caller's API key is checked
by the server's own key table (graphs/auth.py), as every other route is. With the
server's checkpointer (langgraph.json), the conversations that stated or read the facts
are redacted too; the thread list's cached values are the server's own and follow at the
thread's next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from graphs.auth import API_KEY_HEADER, caller_for_key, key_from_headers
from graphs.served import GRAPH_TEAMS
from memory.team import STAFF, ForgetReport, MemoryNotFound, TeamMemory


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _refusal(request: Request) -> JSONResponse | None:
    """401 without a known key, 403 for anyone but staff; None for staff."""
    caller = caller_for_key(key_from_headers(dict(request.headers.raw)))
    if caller is None:
        return _error(401, f"missing or unknown API key: send it in the {API_KEY_HEADER} header")
    if caller.role != "staff":
        return _error(403, f"only staff callers may forget memories (this key is {caller.role})")
    return None


def _team(request: Request) -> str | None:
    team = str(request.path_params["team"])
    return team if team in {t.name for t in GRAPH_TEAMS.values()} else None


def report_json(report: ForgetReport) -> dict[str, Any]:
    """What was removed (id, owner, why; never the content) and what was cleaned."""
    transcripts = report.transcripts
    return {
        "removed": [
            {"memory_id": f.memory_id, "owner": f.owner, "cause": f.cause} for f in report.removed
        ],
        "links_cleaned": len(report.links_cleaned),
        "log_redacted": len(report.log_redacted),
        "copy_records_dropped": report.copy_records_dropped,
        "transcripts": None
        if transcripts is None
        else {
            "threads_redacted": len(transcripts.threads),
            "checkpoints_rewritten": transcripts.checkpoints,
            "error": transcripts.error,
        },
    }


async def _team_memory(team: str) -> TeamMemory:
    """The team's memory on the server's own store and checkpointer (so a forget also
    redacts the conversations that carried the facts)."""
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph_api import _checkpointer  # the server's configured saver (langgraph.json)
    from langgraph_api.store import get_store

    saver = await _checkpointer.get_checkpointer()
    # The server wraps a custom saver in an async-only adapter; the saver itself (LangGraph's
    # AsyncSqliteSaver / AsyncPostgresSaver) also answers sync calls from a worker thread.
    saver = getattr(saver, "_inner", saver)
    return TeamMemory(
        await get_store(),
        team,
        checkpointer=saver if isinstance(saver, BaseCheckpointSaver) else None,
    )


async def forget_memory(request: Request) -> JSONResponse:
    memory_id = str(request.path_params["memory_id"])
    return await _forget(
        request, lambda memory: memory.forget(memory_id, requested_by=STAFF), MemoryNotFound, 404
    )


async def forget_subject(request: Request) -> JSONResponse:
    subject = str(request.path_params["subject"])
    return await _forget(
        request, lambda memory: memory.forget_subject(subject, requested_by=STAFF), ValueError, 400
    )


async def _forget(
    request: Request,
    action: Callable[[TeamMemory], ForgetReport],
    refused: type[Exception],
    status: int,
) -> JSONResponse:
    """Check the caller and the team, run `action` on the team's memory; `refused` (the
    action's own "no such memory" or "bad subject") answers with `status`."""
    if (refusal := _refusal(request)) is not None:
        return refusal
    team = _team(request)
    if team is None:
        return _error(404, f"no team {request.path_params['team']!r} on this server")
    memory = await _team_memory(team)
    try:
        # TeamMemory is synchronous; a store with an async core (Postgres) needs its sync
        # calls off the event loop, and the FAISS store's disk work belongs there too.
        report = await asyncio.to_thread(action, memory)
    except refused as exc:
        return _error(status, str(exc))
    return JSONResponse(report_json(report))
