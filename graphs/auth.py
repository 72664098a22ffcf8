"""Who may call the LangGraph server and what each caller may do (``langgraph.json`` "auth").

Every request carries an API key, in the header ``x-api-key: <key>`` (or
``Authorization: Bearer <key>``). Keys come from the server's environment, never from a
request: env ``A2A_API_KEYS`` holds comma-separated entries ``<key>:<role>[:<name>]``:

- ``staff`` (operators): manage memories through the store API, run any graph with any
  context, see every thread. ``<name>`` labels the operator in logs.
- ``customer`` (a customer-facing channel): run the graphs of customer-facing teams (team,
  chat; not the IT help desk), through their default assistants; no store API;
  cannot pick the agent identity or the team; sees only the threads it created. With a
  ``<name>``, runs are pinned to that customer id (``context.customer_id``); without,
  the caller cannot name a customer at all.
- ``agent`` (one agent of a team, ``<name>`` required, e.g. ``sam``): runs the graphs of
  its own team (default assistants); its runs act as that agent; through the store API
  it reads the team's shared namespace and its own, writes only its own; sees only the
  threads it created.

Without ``A2A_API_KEYS`` the server accepts the development keys in `DEV_KEYS` (and logs
a warning at startup): for ``langgraph dev`` on one's own machine, never for a server
others can reach.

No request may set a server path: ``data_dir`` (or ``chat_model``) in a run's context or
an assistant's context/config is refused, whatever the role; the server's data directory
comes from its environment (``A2A_MEMORY_DIR``, see graphs/server.py).

Other modules (the web UI) authenticate through the same handler: `caller_for_key` maps
a key to a `Caller`.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from langgraph_sdk import Auth

logger = logging.getLogger(__name__)

ENV_API_KEYS: Final = "A2A_API_KEYS"
API_KEY_HEADER: Final = "x-api-key"
Role = Literal["staff", "customer", "agent"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)

SERVER_ONLY_KEYS: Final = frozenset({"data_dir", "chat_model", "services"})
"""Context keys only the server's configuration sets (paths, in-process objects)."""
IDENTITY_KEYS: Final = frozenset({"agent", "team"})
"""Context keys that choose whose memory a run uses: staff only."""
SPEAKER_FOR_ROLE: Final[Mapping[Role, str]] = {"customer": "customer", "agent": "agent"}
"""The `speaker_role` a non-staff caller's runs get, whatever the graph's default."""
DEV_KEYS: Final[Mapping[str, str]] = {
    "dev-staff-key": "staff:dev-operator",
    "dev-customer-key": "customer",
    "dev-agent-alex-key": "agent:alex",
    "dev-agent-sam-key": "agent:sam",
    "dev-agent-jordan-key": "agent:jordan",
}
"""Used only when ``A2A_API_KEYS`` is unset: documented, so never safe beyond one's machine."""


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its role and, for agents and named callers, its name."""

    role: Role
    name: str | None = None

    @property
    def identity(self) -> str:
        """Stable and free of the key itself: owner of the threads this caller creates."""
        return f"{self.role}:{self.name}" if self.name else self.role


class AuthConfigError(ValueError):
    """``A2A_API_KEYS`` is malformed; the message names the entry (never the key)."""


def parse_api_keys(text: str) -> dict[str, Caller]:
    """``"<key>:<role>[:<name>], ..."`` -> {key: Caller}."""
    keys: dict[str, Caller] = {}
    for number, entry in enumerate(text.split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        key, _, grant = entry.partition(":")
        key = key.strip()
        if len(key) < 8:
            raise AuthConfigError(
                f"{ENV_API_KEYS} entry {number}: a key must be at least 8 characters "
                "(form <key>:<role>[:<name>])"
            )
        keys[key] = _parse_grant(grant, number)
    if not keys:
        raise AuthConfigError(f"{ENV_API_KEYS} is set but holds no <key>:<role> entry")
    return keys


def _parse_grant(grant: str, number: int) -> Caller:
    role, _, name = (part.strip() for part in grant.partition(":"))
    if role not in ROLES:
        raise AuthConfigError(
            f"{ENV_API_KEYS} entry {number}: role {role!r} is not one of {', '.join(ROLES)}"
        )
    if role == "agent":
        _check_agent(name, number)
    if name and not name.replace("-", "").replace("_", "").isalnum():
        raise AuthConfigError(
            f"{ENV_API_KEYS} entry {number}: name {name!r} may hold letters, digits, - and _"
        )
    return Caller(role=role, name=name or None)


def _check_agent(name: str, number: int) -> None:
    from teams.helpdesk.team import HELPDESK_TEAM
    from teams.support.team import SUPPORT_TEAM

    known = [agent.name for team in (SUPPORT_TEAM, HELPDESK_TEAM) for agent in team.agents]
    if name not in known:
        raise AuthConfigError(
            f"{ENV_API_KEYS} entry {number}: agent {name!r} is not one of {', '.join(known)}"
        )


def configured_keys(environ: Mapping[str, str] | None = None) -> dict[str, Caller]:
    """The keys the server accepts: ``A2A_API_KEYS``, else the development keys."""
    env = os.environ if environ is None else environ
    text = env.get(ENV_API_KEYS, "").strip()
    if text:
        return parse_api_keys(text)
    logger.warning(
        "%s is not set: accepting the development API keys (README, 'Security'); "
        "set it before anyone else can reach this server",
        ENV_API_KEYS,
    )
    return parse_api_keys(",".join(f"{k}:{g}" for k, g in DEV_KEYS.items()))


_KEYS: dict[str, Caller] | None = None


def _keys() -> dict[str, Caller]:
    global _KEYS  # read once per server process, from its environment
    if _KEYS is None:
        _KEYS = configured_keys()
    return _KEYS


if os.environ.get(ENV_API_KEYS, "").strip():
    _keys()  # a malformed A2A_API_KEYS stops the server at startup, not at each request


def caller_for_key(key: str | None, keys: Mapping[str, Caller] | None = None) -> Caller | None:
    """The caller a key belongs to, compared in constant time; None for unknown keys."""
    if not key:
        return None
    found: Caller | None = None
    for known, caller in (keys if keys is not None else _keys()).items():
        if hmac.compare_digest(known.encode(), key.encode()):
            found = caller
    return found


def key_from_headers(headers: Mapping[bytes, bytes]) -> str | None:
    """The API key of a request: ``x-api-key``, else an ``Authorization: Bearer`` token."""
    raw = headers.get(API_KEY_HEADER.encode())
    if raw is None:
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None
    return raw.decode("latin-1").strip() or None


# ---- the LangGraph handlers --------------------------------------------------------------
auth = Auth()


@auth.authenticate
async def authenticate(headers: dict[bytes, bytes]) -> Auth.types.MinimalUserDict:
    caller = caller_for_key(key_from_headers(headers))
    if caller is None:
        raise Auth.exceptions.HTTPException(
            status_code=401,
            detail=f"missing or unknown API key: send it in the {API_KEY_HEADER} header",
        )
    return {
        "identity": caller.identity,
        "display_name": caller.name or caller.role,
        "is_authenticated": True,
        "permissions": [f"role:{caller.role}"],
    }


def caller_of(ctx: Auth.types.AuthContext) -> Caller:
    """The `Caller` of an authenticated request (from its identity and permissions)."""
    roles = [p.removeprefix("role:") for p in ctx.permissions if p.startswith("role:")]
    if len(roles) != 1 or roles[0] not in ROLES:
        raise Auth.exceptions.HTTPException(status_code=403, detail="no role")
    role: Role = roles[0]
    identity = ctx.user.identity
    name = identity.partition(":")[2] or None
    return Caller(role=role, name=name)


def _forbidden(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=403, detail=detail)


@auth.on
async def deny_by_default(ctx: Auth.types.AuthContext, value: Any) -> bool:
    """Anything without a more specific rule below: staff only."""
    if caller_of(ctx).role != "staff":
        raise _forbidden(f"{ctx.resource}.{ctx.action} is for staff callers only")
    return True


# ---- threads and runs --------------------------------------------------------------------
@auth.on.threads.create
async def on_thread_create(
    ctx: Auth.types.AuthContext, value: Auth.types.ThreadsCreate
) -> Auth.types.FilterType | None:
    metadata = value.setdefault("metadata", {})
    metadata["owner"] = ctx.user.identity
    return None


async def on_thread_access(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Staff see every thread; others only those they created."""
    if caller_of(ctx).role == "staff":
        return {}
    return {"owner": ctx.user.identity}


auth.on.threads.read(on_thread_access)
auth.on.threads.update(on_thread_access)
auth.on.threads.delete(on_thread_access)
auth.on.threads.search(on_thread_access)


@auth.on.threads.create_run
async def on_run_create(
    ctx: Auth.types.AuthContext, value: Auth.types.RunsCreate
) -> Auth.types.FilterType:
    caller = caller_of(ctx)
    kwargs = value.get("kwargs") or {}
    context = kwargs.get("context")
    if context is not None and not isinstance(context, dict):
        raise _forbidden("context must be an object")
    config = kwargs.get("config") or {}
    configurable = config.get("configurable") if isinstance(config, dict) else None
    for source in (context, configurable):
        if isinstance(source, dict):
            restrict_context(caller, source)
    if caller.role != "staff":
        check_runnable(caller, str(value.get("assistant_id") or ""))
    metadata = value.setdefault("metadata", {})
    if isinstance(metadata, dict):
        metadata.setdefault("owner", ctx.user.identity)
    return {} if caller.role == "staff" else {"owner": ctx.user.identity}


def check_runnable(caller: Caller, assistant_id: str) -> None:
    """Refuse a non-staff run of anything but the default assistant of a graph the caller
    serves (graphs/served.py): a customer key cannot run the IT help desk, nor an assistant
    staff configured for themselves."""
    from graphs.served import default_assistant_id, runnable_graphs

    allowed = runnable_graphs(caller.role, caller.name)
    if assistant_id not in {default_assistant_id(g) for g in allowed}:
        who = f"agent {caller.name!r}" if caller.role == "agent" else f"a {caller.role} caller"
        raise _forbidden(
            f"{who} may run only the graphs {', '.join(allowed) or '(none)'}, "
            "through their default assistants"
        )


def restrict_context(caller: Caller, context: dict[str, Any]) -> None:
    """Apply a caller's limits to a run's context in place; refuse what it may not set.

    Server paths are refused for everyone. Staff may set the rest; an agent's runs act
    as that agent; a customer's runs use the server's default agent and team, and the
    customer id its key is bound to (or none).
    """
    server_only = sorted(SERVER_ONLY_KEYS & context.keys())
    if server_only:
        raise _forbidden(
            f"context field(s) {', '.join(server_only)} come from the server's configuration, "
            "never from a request"
        )
    if caller.role == "staff":
        return
    # Who is typing decides what of it memory keeps (memory/trust.py): only staff may say
    # "staff". The chat graph defaults to staff (the console), so pin it for everyone else.
    speaker = SPEAKER_FOR_ROLE[caller.role]
    if context.get("speaker_role", speaker) != speaker:
        raise _forbidden(f"a {caller.role} caller speaks as {speaker!r}, not as another role")
    context["speaker_role"] = speaker
    chosen = sorted(k for k in IDENTITY_KEYS & context.keys() if k != "agent")
    if chosen:
        raise _forbidden(f"a {caller.role} caller cannot choose context field(s) {chosen}")
    if caller.role == "agent":
        if context.get("agent", caller.name) != caller.name:
            raise _forbidden(f"agent {caller.name!r} cannot act as {context['agent']!r}")
        context["agent"] = caller.name
        return
    if "agent" in context:
        raise _forbidden("a customer caller cannot choose the agent identity")
    if caller.name is not None:
        if context.get("customer_id", caller.name) != caller.name:
            raise _forbidden("a customer caller can only act as its own customer id")
        context["customer_id"] = caller.name
    elif "customer_id" in context:
        raise _forbidden("this customer key is not bound to a customer id")


# ---- assistants and crons: reading is open, changing them is for staff ---------------------
async def on_assistant_read(ctx: Auth.types.AuthContext, value: Any) -> bool:
    return True


async def on_assistant_write(ctx: Auth.types.AuthContext, value: Any) -> bool:
    if caller_of(ctx).role != "staff":
        raise _forbidden("only staff callers may create or change assistants")
    for part in ("context", "config"):
        section = value.get(part)
        if isinstance(section, dict):
            inner = section.get("configurable") if part == "config" else section
            if isinstance(inner, dict):
                restrict_context(caller_of(ctx), inner)
    return True


auth.on.assistants.read(on_assistant_read)
auth.on.assistants.search(on_assistant_read)
auth.on.assistants.create(on_assistant_write)
auth.on.assistants.update(on_assistant_write)


# ---- the store ---------------------------------------------------------------------------
@auth.on.store
async def on_store(ctx: Auth.types.AuthContext, value: Any) -> bool:
    """Staff manage every memory; an agent reads shared and its own, writes its own;
    customers have no store access (their facts reach memory through the graphs)."""
    caller = caller_of(ctx)
    if caller.role == "staff":
        return True
    if caller.role == "customer":
        raise _forbidden("customer callers have no access to the memory store")
    namespace = tuple(value.get("namespace") or ())
    if ctx.action == "list_namespaces":
        if not _own(namespace, caller):
            raise _forbidden(f"agent {caller.name!r} may list only its own namespace")
        return True
    if ctx.action in ("put", "delete"):
        if not _own(namespace, caller):
            raise _forbidden(f"agent {caller.name!r} may write only its own namespace")
        return True
    if not (_own(namespace, caller) or _shared(namespace)):
        raise _forbidden(f"agent {caller.name!r} may read only the shared and its own namespace")
    return True


def _own(namespace: tuple[str, ...], caller: Caller) -> bool:
    return (
        len(namespace) == 4 and namespace[0] == "team" and namespace[2:] == ("agent", caller.name)
    )


def _shared(namespace: tuple[str, ...]) -> bool:
    return len(namespace) == 3 and namespace[0] == "team" and namespace[2] == "shared"
