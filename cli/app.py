"""The `a2a-memory` command line: the demo, chat with an agent, the team's memory, the A2A
log, the eval suites and a status page.

Heavy modules (LangGraph, the models, the store) are imported inside the commands, so
`a2a-memory --help` answers at once. Errors are reported as one clear message, never a
traceback: exit code 2 for a usage error (bad option, unknown agent, empty text), 1 for a
runtime error (unreachable PostgreSQL, another embedding model's store, a locked store).
`-v` shows the log, including the LLM steps that fell back to their deterministic rules,
and the traceback of an unexpected error.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, NoReturn, cast
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from cli import render
from cli.safe_console import SafeConsole
from memory.models import MemoryType, Scope

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.store.base import BaseStore, IndexConfig
    from typer._click.core import Command as ClickCommand
    from typer._click.core import Context as ClickContext  # what TyperGroup.invoke takes

    from graphs.app import TeamApp
    from memory.bridge import A2AMessage, ContentType
    from memory.manager import MemoryManager
    from memory.models import Memory
    from memory.team import TeamMemory
    from nodes.state import RetrievedMemory

logger = logging.getLogger(__name__)

LLMChoice = Literal["auto", "ollama", "embedded", "none"]
"""Mirrors nodes.context.LLMChoice (kept here so `--help` does not import LangChain)."""
EmbeddedChoice = Literal["smollm2", "qwen-0.5b", "qwen-1.5b"]
"""Mirrors memory.packaged_models.EmbeddedModelName."""
LogType = Literal["task", "result", "memory-sync", "memory-forget"]

PROJECT_LOGGERS: Final = ("memory", "nodes", "graphs", "evals", "cli")
"""The loggers `-v` opens up; third-party ones show only their warnings."""
ALWAYS_SHOWN_LOGGERS: Final = ("memory.integrity", "memory.notice")
"""Warnings shown without -v: damage found (and repaired) in a data directory, and
choices the operator must know about (a chat model that is not pulled)."""
TEAM_MEMORY_LIMIT: Final = 100_000
"""How many memories a team-wide listing reads at most (the CLI is for humans)."""
EXIT_RUNTIME_ERROR: Final = 1
EVAL_GROUP: Final = "eval"


class CliFailure(Exception):
    """A runtime error the CLI reports as one line, with exit code 1."""


@dataclass
class CliServices:
    """What a Python caller (a test) may hand the CLI instead of building it:
    ``CliRunner().invoke(app, args, obj=CliServices(embeddings=...))``."""

    embeddings: Embeddings | None = None
    chat_model: BaseChatModel | None = None


@dataclass
class CliState:
    """The global options and the services built from them, shared by every command."""

    data_dir: Path
    store_url: str | None
    llm: LLMChoice
    team: str
    verbose: bool
    embedded_model: EmbeddedChoice | None = None
    """None: env A2A_EMBEDDED_MODEL, else the default."""
    services: CliServices = field(default_factory=CliServices)
    out: Console = field(default_factory=SafeConsole)
    err: Console = field(default_factory=lambda: SafeConsole(stderr=True))

    @property
    def location(self) -> str | Path:
        return self.store_url or self.data_dir

    @property
    def location_display(self) -> str:
        if self.store_url is None:
            return str(self.data_dir)
        from memory.backends import mask_password

        return mask_password(self.store_url)

    def embeddings(self) -> Embeddings:
        """The embedder: the injected one, else `make_embeddings()` (built once, loads lazily)."""
        if self.services.embeddings is None:
            from memory.embeddings import make_embeddings

            self.services.embeddings = make_embeddings()
        return self.services.embeddings

    def mask(self, text: str) -> str:
        """`text` with the store URL's password replaced, whatever produced the text."""
        password = urlsplit(self.store_url).password if self.store_url else None
        return text.replace(password, "***") if password else text


# ---- errors ------------------------------------------------------------------------------
def describe_failure(exc: Exception) -> str | None:
    """One line naming what went wrong and what to do about it, for the errors a user can
    cause or fix (backend, embedding model, store state); None for any other error."""
    from pydantic import ValidationError

    from memory.backends import BackendUnavailableError
    from memory.llm import ChatModelUnavailableError
    from memory.store import StoreBusyError, StoreConfigError

    if isinstance(exc, StoreBusyError | ChatModelUnavailableError):
        return str(exc)
    if isinstance(exc, BackendUnavailableError):
        return f"{exc}. Check the --store-url (host, port, credentials) or drop it."
    if isinstance(exc, StoreConfigError):
        return (
            f"{exc}. Migrate the store with `a2a-memory memories re-embed`, set "
            "A2A_EMBEDDINGS (or A2A_EMBEDDINGS_PRECISION=reference for a store made before "
            "the int8 embedder) to the model the store was built with, or choose another "
            "--data-dir."
        )
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return (
            f"the memory store is locked by another process ({exc}): wait for it to "
            "finish, or use another --data-dir"
        )
    if isinstance(exc, sqlite3.Error):
        return f"the memory store failed: {type(exc).__name__}: {exc}"
    if isinstance(exc, RuntimeError) and "closed" in str(exc):
        return f"the memory store was closed while in use: {exc}"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "input"
        return f"invalid {where}: {first['msg']}"
    if isinstance(exc, ValueError | FileNotFoundError | PermissionError):
        # The project raises these on purpose, with messages naming the problem (a bad
        # setting such as A2A_EMBEDDINGS, a bad value, a read-only store).
        return str(exc)
    return None


def error_message(exc: Exception, state: CliState | None) -> str:
    """What the CLI prints for `exc`: never a traceback, never the store's password."""
    if isinstance(exc, CliFailure):
        message = str(exc)
    else:
        known = describe_failure(exc)
        message = known or f"unexpected error: {type(exc).__name__}: {exc}"
        if known is None and not (state and state.verbose):
            message += " (run with -v for the traceback)"
    return state.mask(message) if state else message


class _CliGroup(TyperGroup):
    """Reports any error escaping a command as one line on stderr, with exit code 1.

    Usage errors (typer.BadParameter and the parser's own) pass through: typer shows them
    with the command's usage and exits with 2.

    The `eval` group is built only when it is asked for (its command or the help that
    lists it): building its dozen commands' options costs every other command tens of ms.
    """

    def list_commands(self, ctx: ClickContext) -> list[str]:
        names = super().list_commands(ctx)
        return names if EVAL_GROUP in names else [*names, EVAL_GROUP]

    def get_command(self, ctx: ClickContext, cmd_name: str) -> ClickCommand | None:
        if cmd_name == EVAL_GROUP and EVAL_GROUP not in self.commands:
            self.add_command(_eval_group(), EVAL_GROUP)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            state = ctx.obj if isinstance(ctx.obj, CliState) else None
            message = error_message(exc, state)
            if state is not None and state.verbose:
                logger.error("%s", message, exc_info=exc)
            err = state.err if state is not None else SafeConsole(stderr=True)
            err.print(f"[bold red]Error:[/bold red] {escape(message)}", soft_wrap=True)
            raise typer.Exit(EXIT_RUNTIME_ERROR) from exc


def _eval_group() -> ClickCommand:
    """`a2a-memory eval`: the eval suites' own command line (evals/cli.py)."""
    from evals.cli import app as evals_app

    group = typer.main.get_group(evals_app)
    group.name = EVAL_GROUP
    group.help = "Run an eval suite or benchmark (the same commands as `python -m evals`)."
    return group


def _usage(message: str, param_hint: str | None = None) -> NoReturn:
    raise typer.BadParameter(message, param_hint=param_hint)


# ---- option checks -----------------------------------------------------------------------
def known_agents() -> list[str]:
    """The coordinator, then each specialist of the support team."""
    from teams.support.team import SUPPORT_TEAM

    return [agent.name for agent in SUPPORT_TEAM.agents]


def coordinator_name() -> str:
    from teams.support.team import SUPPORT_TEAM

    return SUPPORT_TEAM.coordinator.name


def _check_agent(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip().lower()
    agents = known_agents()
    if name not in agents:
        known = ", ".join(f"{a} (coordinator)" if i == 0 else a for i, a in enumerate(agents))
        raise typer.BadParameter(f"unknown agent {value!r}; known agents: {known}")
    return name


def _check_team(value: str) -> str:
    from memory.namespaces import memory_namespace

    try:
        memory_namespace(value, "shared")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def _check_data_dir(value: str) -> Path:
    """A data directory path: not empty (that would mean the current directory), not a file."""
    if not isinstance(value, str):
        return Path(value)
    if not value.strip():
        raise typer.BadParameter("the data directory is empty; give a directory path")
    if any(ord(c) < 32 for c in value):
        raise typer.BadParameter(f"{value!r} holds control characters")
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{value!r} is a file; give a directory")
    return path


def _check_store_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    from memory.backends import parse_url_location

    try:
        parse_url_location(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}; give a data directory with --data-dir") from None
    return value.strip()


def _check_since(value: str | None) -> datetime | None:
    """An ISO 8601 time; without an offset it is read as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2025-01-31 or 2025-01-31T14:00:00+00:00"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise typer.BadParameter("must not be empty")
    return value


# ---- the application ---------------------------------------------------------------------
app = typer.Typer(
    cls=_CliGroup,
    name="a2a-memory",
    help="A2A Memory Layer: a team of LLM agents with a shared, durable memory.\n\n"
    "Run the seed's demo, chat with one agent, inspect and edit the team's memory, read the "
    "agent-to-agent (A2A) message log, and run the eval suites.\n\n"
    "Examples:\n\n"
    "  a2a-memory demo --llm none --json summary.json\n\n"
    "  a2a-memory memories search 'refund window for premium members' --agent sam\n\n"
    "  a2a-memory logs --type memory-sync --limit 20",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
memories_app = typer.Typer(
    help="Inspect and edit the team's memory: list, search, add, forget, consolidate.",
    no_args_is_help=True,
)
app.add_typer(memories_app, name="memories")

AgentOption = Annotated[
    str | None,
    typer.Option(
        "--agent",
        "-a",
        callback=_check_agent,
        help="Act as this agent: it reads the shared memory and its own private memory.",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.callback()
def global_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            envvar="A2A_MEMORY_DIR",
            parser=_check_data_dir,
            help="Directory of the embedded store, checkpoints and demo desk.",
        ),
    ] = Path(".a2a-memory"),
    store_url: Annotated[
        str | None,
        typer.Option(
            "--store-url",
            envvar="A2A_STORE_URL",
            callback=_check_store_url,
            help="postgresql://user:pass@host/db: keep memories and threads in PostgreSQL "
            "(pgvector) instead of the data directory.",
        ),
    ] = None,
    llm: Annotated[
        LLMChoice,
        typer.Option(
            "--llm",
            envvar="A2A_LLM",
            help="Chat model: Ollama, the embedded GGUF model, auto (Ollama when a server "
            "answers), or none (deterministic fallbacks only).",
        ),
    ] = "auto",
    embedded_model: Annotated[
        EmbeddedChoice | None,
        typer.Option(
            "--embedded-model",
            envvar="A2A_EMBEDDED_MODEL",
            help="Which embedded GGUF model runs (when --llm is embedded, or auto without "
            "Ollama): smollm2 (135M, small machines), qwen-0.5b or qwen-1.5b (Qwen2.5-Coder "
            "Instruct, from PyPI packages). Default: smollm2.",
        ),
    ] = None,
    team: Annotated[
        str, typer.Option("--team", callback=_check_team, help="The team whose memory is used.")
    ] = "support",
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Show the log, including LLM fallback warnings."),
    ] = False,
) -> None:
    services = ctx.obj if isinstance(ctx.obj, CliServices) else CliServices()
    state = CliState(
        data_dir, store_url, llm, team, verbose, embedded_model=embedded_model, services=services
    )
    ctx.obj = state
    _configure_logging(ctx, state)


def _configure_logging(ctx: typer.Context, state: CliState) -> None:
    """Route logs to stderr for this run, and put the levels back when it ends."""
    from rich.logging import RichHandler

    level = logging.INFO if state.verbose else logging.ERROR
    handler = RichHandler(console=state.err, show_path=False, show_time=state.verbose)
    handler.setLevel(min(level, logging.WARNING))
    # Repairs of a damaged data directory are always shown; other warnings need -v.
    handler.addFilter(
        lambda record: record.levelno >= level or record.name.startswith(ALWAYS_SHOWN_LOGGERS)
    )
    loggers = [logging.getLogger(name) for name in PROJECT_LOGGERS]
    previous = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(level)
    for name in ALWAYS_SHOWN_LOGGERS:
        shown = logging.getLogger(name)
        loggers.append(shown)
        previous.append(shown.level)
        shown.setLevel(min(level, logging.WARNING))
    root = logging.getLogger()
    root.addHandler(handler)

    def restore() -> None:
        root.removeHandler(handler)
        for lg, old in zip(loggers, previous, strict=True):
            lg.setLevel(old)

    ctx.call_on_close(restore)


def _state(ctx: typer.Context) -> CliState:
    state = ctx.find_object(CliState)
    if state is None:  # only when a command is invoked without the app's callback
        raise CliFailure("the CLI's global options were not initialised")
    return state


# ---- opening the memory ------------------------------------------------------------------
@contextmanager
def _status(console: Console, message: str) -> Iterator[None]:
    """A spinner while a slow step runs (nothing is drawn when output is not a terminal)."""
    with console.status(message, spinner="dots"):
        yield


@contextmanager
def open_memory(
    state: CliState, *, read_only: bool = False, vectors: bool = True
) -> Iterator[BaseStore]:
    """The team's store (FAISS in the data directory, or PostgreSQL), closed on exit.

    Read-only commands open it without writing (so a busy writer never blocks them) and
    refuse a data directory that does not exist rather than create an empty one.
    `vectors=False` opens it for reading and listing only: no embedder, no vector index
    loaded (the slow part of opening a large store), no model check.
    """
    from memory.backends import STORE_DIR, open_store

    if read_only and state.store_url is None and not (state.data_dir / STORE_DIR).is_dir():
        what = "does not exist" if not state.data_dir.exists() else "holds no memory store"
        raise CliFailure(
            f"the data directory {state.data_dir} {what}: check --data-dir "
            "(a store is created by `memories add`, `chat` or `demo`)"
        )
    index: IndexConfig | None = None
    model: str | None = None
    if vectors:
        from memory.embeddings import embedding_model_name, memory_index

        embeddings = state.embeddings()
        index, model = memory_index(embeddings), embedding_model_name(embeddings)
    with ExitStack() as stack:
        with _status(state.err, f"Opening the memory at {state.location_display}"):
            store = stack.enter_context(
                open_store(state.location, index=index, embedding_model=model, read_only=read_only)
            )
        yield store


def warm_embedder(state: CliState, console: Console | None = None) -> None:
    """Load the embedding model now, under a spinner, rather than silently mid-command."""
    embeddings = state.embeddings()
    if getattr(embeddings, "loaded", True):
        return
    with _status(console or state.err, "Loading the embedding model (first use)"):
        embeddings.embed_query("warm-up")


def _manager(store: BaseStore, state: CliState, agent: str) -> MemoryManager:
    from memory.manager import MemoryManager

    return MemoryManager(store, team=state.team, agent=agent)


def _team(
    store: BaseStore, state: CliState, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> TeamMemory:
    from memory.team import TeamMemory

    return TeamMemory(store, state.team, checkpointer=checkpointer)


def team_memories(
    store: BaseStore,
    state: CliState,
    *,
    agent: str | None = None,
    scope: Scope | None = None,
    include_invalid: bool = False,
    limit: int = TEAM_MEMORY_LIMIT,
) -> list[tuple[Memory, str | None]]:
    """The team's memories (or those `agent` can read) with their owners, oldest first;
    the most recent `limit` of them."""
    rows = _team(store, state).list(
        agent=agent, scope=scope, include_invalid=include_invalid, limit=limit
    )
    return [(row.memory, row.owner) for row in rows]


# ---- memories ----------------------------------------------------------------------------
@memories_app.command("list")
def list_memories(
    ctx: typer.Context,
    agent: AgentOption = None,
    scope: Annotated[Scope | None, typer.Option("--scope", help="Only this scope.")] = None,
    include_invalid: Annotated[
        bool, typer.Option("--all", help="Include invalidated (superseded) memories.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 200,
    as_json: JsonFlag = False,
) -> None:
    """List the team's memories, or those one agent can read.

    Without --agent: every memory of the team (shared, and each agent's private ones).
    With --agent: the shared memories and that agent's private ones, as the agent sees
    them; another agent's private memories never appear.

    Examples:

      a2a-memory memories list

      a2a-memory memories list --agent sam --scope private --all

      a2a-memory memories list --json > memories.json
    """
    state = _state(ctx)
    with open_memory(state, read_only=True, vectors=False) as store:
        rows = team_memories(
            store, state, agent=agent, scope=scope, include_invalid=include_invalid, limit=limit
        )
    if as_json:
        typer.echo(render.dumps([render.memory_json(m, owner) for m, owner in rows]))
        return
    if not rows:
        state.out.print("No memories.")
        return
    viewer = f"as {agent}" if agent else f"team {state.team}"
    title = f"{len(rows)} memories ({viewer})"
    table = render.memory_table(
        [m for m, _ in rows], [o for _, o in rows], title=title, width=state.out.width
    )
    state.out.print(table)


@memories_app.command("search")
def search_memories(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(callback=_not_blank, help="What to look for.")],
    agent: AgentOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Results to show.")] = 5,
    min_confidence: Annotated[
        float,
        typer.Option("--min-confidence", min=0.0, max=1.0, help="Skip less trusted memories."),
    ] = 0.7,
    as_json: JsonFlag = False,
) -> None:
    """Search the memory as an agent does (the coordinator by default).

    Hybrid retrieval (vector + BM25), scored by relevance, confidence and recency;
    invalidated memories and those below --min-confidence are left out.

    Examples:

      a2a-memory memories search "how do we handle refunds?"

      a2a-memory memories search "customer 12345" --agent jordan --min-confidence 0.5 --json
    """
    state = _state(ctx)
    agent = agent or coordinator_name()
    warm_embedder(state)
    with open_memory(state, read_only=True) as store:
        hits = _manager(store, state, agent).search(
            query, limit=limit, min_confidence=min_confidence
        )
    if as_json:
        typer.echo(render.dumps([render.scored_json(hit) for hit in hits]))
        return
    if not hits:
        state.out.print(f"No memory of {agent}'s matches (min confidence {min_confidence}).")
        return
    title = f"{query!r} as {agent}"
    state.out.print(render.scored_table(hits, title=title, width=state.out.width))


@memories_app.command("add")
def add_memory(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="What to remember.")],
    agent: AgentOption = None,
    memory_type: Annotated[
        MemoryType | None,
        typer.Option(
            "--type",
            help="Store the text as one memory of this type; without it, the extraction "
            "rules find the memories in the text.",
        ),
    ] = None,
    scope: Annotated[
        Scope, typer.Option("--scope", help="shared: the whole team; private: the agent only.")
    ] = "shared",
    confidence: Annotated[
        float | None,
        typer.Option("--confidence", min=0.0, max=1.0, help="Override the confidence."),
    ] = None,
) -> None:
    """Remember something, as an agent (the coordinator by default).

    A restated fact reinforces the stored memory; a new value for the same subject and
    attribute supersedes the old one, which is kept but hidden.

    Examples:

      a2a-memory memories add "Customer #12345 prefers to be contacted by SMS."

      a2a-memory memories add "Escalate outages to the on-call engineer." --type skill

      a2a-memory memories add "Priya likes short answers" --agent sam --scope private
    """
    state = _state(ctx)
    if not text.strip():
        _usage("memory text must not be empty", "TEXT")
    agent = agent or coordinator_name()
    memories = _memories_from_text(text, agent, memory_type, scope, confidence)
    warm_embedder(state)
    with open_memory(state) as store:
        manager = _manager(store, state, agent)
        results = [manager.add(memory) for memory in memories]
    state.out.print(render.add_results_table(results))


def _memories_from_text(
    text: str,
    agent: str,
    memory_type: MemoryType | None,
    scope: Scope,
    confidence: float | None,
) -> list[Memory]:
    from memory.extraction import ExtractionContext, extract_memories, normalize_subject
    from memory.models import EXPLICIT_CONFIDENCE, Memory, Provenance

    if memory_type is not None:
        return [
            Memory(
                content=text,
                type=memory_type,
                scope=scope,
                mechanism="explicit",
                confidence=EXPLICIT_CONFIDENCE if confidence is None else confidence,
                subject=normalize_subject(text),
                provenance=Provenance(source_agent=agent),
            )
        ]
    # The CLI is the operator's: what it is told is staff's word (memory/trust.py).
    found = extract_memories(
        text, ExtractionContext(source_agent=agent, scope=scope, speaker_role="staff")
    )
    if not found:
        raise CliFailure(
            "nothing to remember was found in the text: the extraction rules keep facts, "
            "preferences, policies, events and procedures, not questions or requests. "
            "Pass --type (e.g. --type semantic) to store the text as it is."
        )
    if confidence is None:
        return found
    return [m.model_copy(update={"confidence": confidence}) for m in found]


@memories_app.command("forget")
def forget_memory(
    ctx: typer.Context,
    memory_id: Annotated[
        str, typer.Argument(callback=_not_blank, help="The memory's id, or a unique prefix.")
    ],
    agent: AgentOption = None,
    only_this: Annotated[
        bool,
        typer.Option(
            "--only-this",
            help="Delete only this record: keep its synced copies and the values it superseded.",
        ),
    ] = False,
) -> None:
    """Forget a fact for good, everywhere (superseding keeps history; this does not).

    Removes the memory, every synced copy of it (and its original), the older values it
    superseded, links to them, and redacts the A2A log payloads that carried them
    (who sent what to whom stays). Without --agent any memory of the team can be named;
    with --agent only one the agent can read (shared, or its own private one).

    Examples:

      a2a-memory memories forget 3f2a9c1b

      a2a-memory memories forget 3f2a9c1b --agent sam
    """
    from memory.backends import open_checkpointer
    from memory.team import STAFF, AmbiguousMemoryId, MemoryNotFound

    state = _state(ctx)
    # With the conversation state: the threads that told the fact are redacted too.
    with open_memory(state) as store, open_checkpointer(state.location) as saver:
        team = _team(store, state, checkpointer=saver)
        try:
            row = team.resolve(memory_id, agent=agent)
        except AmbiguousMemoryId as exc:
            _usage(str(exc))
        except MemoryNotFound as exc:
            raise CliFailure(str(exc)) from exc
        report = team.forget(row.memory.memory_id, cascade=not only_this, requested_by=STAFF)
    state.out.print(render.forget_view(report, title=f"Forgot {row.memory.memory_id}"))


@memories_app.command("forget-subject")
def forget_subject_command(
    ctx: typer.Context,
    subject: Annotated[
        str,
        typer.Argument(callback=_not_blank, help="Whom to forget, e.g. customer:12345."),
    ],
    attributes: Annotated[
        list[str] | None,
        typer.Option(
            "--attribute",
            help="Forget only this slot (e.g. phone_number); repeat for several.",
        ),
    ] = None,
) -> None:
    """Forget everything the team knows about a subject, or some of their facts.

    Every memory about the subject (or, with --attribute, those slots only) goes from
    every namespace with its copies and history; A2A log payloads that carried them (and,
    for a whole subject, that name the subject) are redacted. Run as staff.

    Examples:

      a2a-memory memories forget-subject customer:12345

      a2a-memory memories forget-subject customer:12345 --attribute phone_number
    """
    from memory.backends import open_checkpointer
    from memory.team import STAFF

    state = _state(ctx)
    with open_memory(state) as store, open_checkpointer(state.location) as saver:
        report = _team(store, state, checkpointer=saver).forget_subject(
            subject.strip(), attributes=attributes or None, requested_by=STAFF
        )
    state.out.print(render.forget_view(report, title=f"Forgot {subject.strip()}"))


@memories_app.command("consolidate")
def consolidate_memories(ctx: typer.Context) -> None:
    """The team's "sleep": merge duplicates, decay stale guesses, settle conflicts.

    Near-duplicates merge into the earlier memory; old implicit or inferred memories
    never confirmed lose confidence; when agents hold different values for the same
    subject and attribute, the most recent statement wins and the others are invalidated.

    Example:

      a2a-memory memories consolidate
    """
    state = _state(ctx)
    warm_embedder(state)
    with open_memory(state) as store:
        report = _team(store, state).consolidate()
    state.out.print(render.consolidation_view(report))


@memories_app.command("re-embed")
def reembed_memories(ctx: typer.Context) -> None:
    """Re-embed every memory with the current embedding model (after the model changed).

    A store records the model that made its vectors and refuses to open with another;
    this migrates it: each memory's text is embedded again and the new model recorded.
    Nothing else changes. Stop other processes using the data directory first.

    Example:

      a2a-memory memories re-embed
    """
    state = _state(ctx)
    if state.store_url is not None:
        raise CliFailure(
            "re-embed migrates the embedded store in --data-dir; a PostgreSQL store is "
            "re-embedded by putting its items again into a new database"
        )
    from memory.backends import STORE_DIR
    from memory.reembed import reembed_store

    directory = state.data_dir / STORE_DIR
    warm_embedder(state)
    with _status(state.err, f"Re-embedding the memories in {directory}"):
        report = reembed_store(directory, state.embeddings())
    state.out.print(
        f"Re-embedded {report.vectors} vectors of {report.items} memories with "
        f"{report.model} ({report.dims} dims); before: {report.previous_model or 'unknown'}."
    )


@app.command("prepare")
def prepare_command(ctx: typer.Context) -> None:
    """Load the seed's shared memories (customer profiles, refund policy, workflows, skills)
    into the data directory: the step before a first run in LangGraph Studio.

    `langgraph dev` serves the memory in $A2A_MEMORY_DIR (default .a2a-memory), the same
    directory as --data-dir. Idempotent: memories already there stay as they are.

    Example:

      a2a-memory --data-dir .a2a-memory prepare && make dev
    """
    from teams.support.memories import load_demo_memories

    state = _state(ctx)
    warm_embedder(state)
    with open_memory(state) as store:
        added = load_demo_memories(store, state.team)
    state.out.print(
        f"Seed memories ready in {state.location_display} ({added} added, team {state.team})."
    )


# ---- the graphs: demo and chat -----------------------------------------------------------
@contextmanager
def open_team(state: CliState) -> Iterator[TeamApp]:
    """Both graphs compiled with the durable store and checkpointer (graphs.app)."""
    from graphs.app import open_team_app

    warm_embedder(state, state.out)
    chat_model = load_chat_model(state)
    with _status(state.out, f"Opening the memory at {state.location_display}"):
        stack = ExitStack()
        team_app = stack.enter_context(
            open_team_app(
                state.data_dir,
                embeddings=state.embeddings(),
                store_url=state.store_url,
                team=state.team,
                chat_model=chat_model,
            )
        )
    with stack:
        yield team_app


def load_chat_model(state: CliState) -> BaseChatModel | None:
    """The chat model for `--llm` (injected, or built once per process), under a spinner."""
    if state.services.chat_model is not None or state.llm == "none":
        return state.services.chat_model
    from memory.llm import model_label
    from nodes.services import Services

    with _status(state.out, f"Loading the chat model ({state.llm}, first use)"):
        state.services.chat_model = Services(data_dir=state.data_dir).chat_model(
            state.llm, state.embedded_model
        )
    state.out.print(f"Chat model: {model_label(state.services.chat_model)}")
    return state.services.chat_model


class EventPrinter:
    """Prints each custom stream event of a graph run as one row, as it happens.

    `after_reply` (if given) is printed once, after the first reply: the demo uses it to
    mark where the team's turn ends and the follow-up thread begins.
    """

    def __init__(self, console: Console, after_reply: str | None = None) -> None:
        self.console = console
        self.started = time.time()
        self.after_reply = after_reply
        self.counts: dict[str, int] = {}

    def __call__(self, event: Mapping[str, Any]) -> None:
        kind = str(event.get("event"))
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.console.print(render.event_line(event, self.started))
        if kind == "reply" and self.after_reply and self.counts[kind] == 1:
            self.console.rule(self.after_reply, style="dim")


@app.command("demo")
def run_demo_command(
    ctx: typer.Context,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", dir_okay=False, help="Write the demo summary as JSON here."),
    ] = None,
    thread: Annotated[
        str | None,
        typer.Option("--thread", callback=_not_blank, help="Thread id (default: a new one)."),
    ] = None,
) -> None:
    """Run the seed's scenario and watch the team collaborate live.

    Loads the shared memory, sends the complex customer request to Alex and prints each
    step as it happens: routing, A2A messages, memory reads, writes and syncs, the reply.
    A follow-up in a new thread shows what Jordan remembers.

    Examples:

      a2a-memory demo

      a2a-memory --llm none --data-dir /tmp/demo demo --json summary.json
    """
    from teams.support.demo import DEMO_REQUEST, FOLLOW_UP, prepare_demo, run_demo

    state = _state(ctx)
    with open_team(state) as team_app:
        with _status(state.out, "Preparing the demo memories"):
            added = prepare_demo(team_app)
        state.out.print(f"Shared memory ready ({added} demo memories added).")
        state.out.print(render.reply_panel(DEMO_REQUEST, title="Customer request"))
        printer = EventPrinter(state.out, after_reply=f"Follow-up in a new thread: {FOLLOW_UP}")
        with _status(state.out, "The team is working"):
            summary = run_demo(
                team_app,
                llm=state.llm,
                thread_id=thread,
                on_event=printer,
            )
    state.out.print(render.demo_summary_view(summary))
    if json_out is not None:
        json_out.write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
        state.out.print(f"Summary written to {json_out}")


@app.command("chat")
def chat_command(
    ctx: typer.Context,
    agent: Annotated[
        str, typer.Option("--agent", "-a", callback=_check_agent, help="Who to talk to.")
    ],
    thread: Annotated[
        str,
        typer.Option("--thread", callback=_not_blank, help="Thread id: reuse it to continue."),
    ],
    message: Annotated[
        str | None,
        typer.Option("--message", "-m", callback=_not_blank, help="Send one message and exit."),
    ] = None,
) -> None:
    """Chat with one agent and its memory.

    Without --message, reads one message per line from stdin until end of input, "exit"
    or "quit". What you state is remembered for later threads.

    Examples:

      a2a-memory chat --agent jordan --thread t1 -m "Has customer #12345 had delays?"

      a2a-memory --llm none chat --agent sam --thread t2
    """
    state = _state(ctx)
    with open_team(state) as team_app:
        turn = _chat_turn(state, team_app, agent, thread)
        if message is not None:
            turn(message)
            return
        for line in _stdin_lines(state, agent):
            turn(line)


def _chat_turn(
    state: CliState, team_app: TeamApp, agent: str, thread: str
) -> Callable[[str], None]:
    from langchain_core.messages import HumanMessage
    from langgraph.graph.state import CompiledStateGraph

    from nodes.context import ChatContext

    context = ChatContext(agent=agent, team=state.team, llm=state.llm)
    config: RunnableConfig = {"configurable": {"thread_id": thread}}
    # TeamApp declares its graphs without their context type; this one takes ChatContext.
    graph = cast("CompiledStateGraph[Any, ChatContext, Any, Any]", team_app.chat_graph)

    def turn(text: str) -> None:
        with _status(state.out, f"{agent} is thinking"):
            result = graph.invoke({"messages": [HumanMessage(text)]}, config, context=context)
        _print_chat_result(state, agent, result)

    return turn


def _print_chat_result(state: CliState, agent: str, result: Mapping[str, Any]) -> None:
    retrieved: Sequence[RetrievedMemory] = result.get("retrieved") or []
    if retrieved:
        state.out.print(
            render.retrieved_table(retrieved, title=f"Memories {agent} used", width=state.out.width)
        )
    state.out.print(render.reply_panel(str(result.get("reply", "")), title=agent.capitalize()))
    for written in result.get("written") or []:
        state.out.print(f"[dim]remembered ({written.action}): {written.content}[/dim]")


def _stdin_lines(state: CliState, agent: str) -> Iterator[str]:
    """User lines until EOF, "exit" or "quit"; a prompt only when a person is typing."""
    stdin = typer.get_text_stream("stdin")
    interactive = stdin.isatty()
    if interactive:
        state.out.print(f"Chatting with {agent}. Type exit or quit (or Ctrl-D) to leave.")
    while True:
        if interactive:
            state.out.print("[bold]you>[/bold] ", end="")
        try:
            line = stdin.readline()
        except UnicodeDecodeError as exc:
            byte = exc.object[exc.start : exc.start + 1].hex()
            raise CliFailure(
                f"the chat input is not UTF-8 text (byte 0x{byte} at position {exc.start}): "
                "send UTF-8, one message per line"
            ) from None
        if not line:
            return
        text = line.strip()
        if text.lower() in {"exit", "quit"}:
            return
        if text:
            yield text


# ---- the A2A log -------------------------------------------------------------------------
def _content_type(log_type: LogType | None) -> ContentType | None:
    if log_type is None:
        return None
    labels = {label: content for content, label in render.CONTENT_TYPE_LABELS.items()}
    return labels[log_type]  # type: ignore[return-value]


@app.command("logs")
def show_logs(
    ctx: typer.Context,
    agent: Annotated[
        str | None,
        typer.Option("--agent", "-a", callback=_check_agent, help="Sent or received by them."),
    ] = None,
    log_type: Annotated[
        LogType | None,
        typer.Option("--type", help="Only tasks, results, memory syncs or forget notices."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="ISO 8601 time (UTC unless an offset is given)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="The latest N.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The A2A message log: tasks, results and memory syncs between the agents.

    Shows the latest --limit messages that match, oldest first. An --agent filter keeps
    the messages it sent or received.

    Examples:

      a2a-memory logs

      a2a-memory logs --agent jordan --type memory-sync

      a2a-memory logs --since 2025-06-01T09:00 --json
    """
    state = _state(ctx)
    since_at = _check_since(since)
    messages = _read_log(state, agent, _content_type(log_type), since_at, limit)
    if as_json:
        typer.echo(render.dumps([m.model_dump(mode="json") for m in messages]))
        return
    if not messages:
        state.out.print("No A2A messages.")
        return
    title = f"A2A log of team {state.team}"
    state.out.print(render.log_table(messages, title=title, width=state.out.width))


def _read_log(
    state: CliState,
    agent: str | None,
    content_type: ContentType | None,
    since: datetime | None,
    limit: int,
) -> list[A2AMessage]:
    from memory.bridge import A2ALog

    with open_memory(state, read_only=True, vectors=False) as store:
        messages = A2ALog(store, state.team).read(
            agent=agent, content_type=content_type, since=since, limit=sys.maxsize
        )
    return messages[-limit:]


# ---- info --------------------------------------------------------------------------------
@app.command("info")
def show_info(ctx: typer.Context) -> None:
    """Where the memory lives, what it holds, and which models the team would use.

    Nothing is loaded and no data directory is created.

    Example:

      a2a-memory --data-dir ./data info
    """
    state = _state(ctx)
    from memory.backends import STORE_DIR
    from memory.embeddings import embedding_model_name

    embeddings = state.embeddings()
    dims = getattr(embeddings, "dims", None)
    rows = [
        ("location", state.location_display),
        ("team", state.team),
        ("agents", ", ".join(known_agents())),
        ("embedding model", f"{embedding_model_name(embeddings)} ({dims or '?'} dims)"),
        ("chat model", describe_llm_choice(state.llm, state.embedded_model)),
    ]
    if state.store_url is None and not state.data_dir.is_dir():
        # info describes the configuration too, so it reports a missing directory plainly.
        rows.append(("store", "empty: nothing stored yet; the data directory does not exist"))
    elif state.store_url is None and not (state.data_dir / STORE_DIR).exists():
        rows.append(("store", "empty: nothing stored yet (created on first use)"))
    else:
        rows += _store_rows(state)
    state.out.print(render.key_value_table(rows, title="a2a-memory"))


def _store_rows(state: CliState) -> list[tuple[str, str]]:
    from memory.bridge import A2ALog

    with open_memory(state, read_only=True) as store:
        stats = getattr(store, "stats", None)
        rows = [(f"store {k}", str(v)) for k, v in stats().items()] if callable(stats) else []
        counts: dict[str, int] = {}
        for memory, owner in team_memories(store, state, include_invalid=True):
            key = "shared" if owner is None else f"private ({owner})"
            valid = "valid" if memory.is_valid else "invalidated"
            counts[f"{key}, {valid}"] = counts.get(f"{key}, {valid}", 0) + 1
        log_size = len(A2ALog(store, state.team).read(limit=sys.maxsize))
    rows += [(f"memories {k}", str(n)) for k, n in sorted(counts.items())] or [("memories", "0")]
    rows.append(("A2A messages", str(log_size)))
    return rows


def describe_llm_choice(choice: LLMChoice, embedded_model: EmbeddedChoice | None = None) -> str:
    """What `--llm` would use, without loading, assembling a model or calling a server."""
    import os

    from memory.llm import DEFAULT_OLLAMA_MODEL, ollama_base_url
    from memory.packaged_models import describe, embedded_model_name

    if choice == "none":
        return "none: every LLM step uses its deterministic fallback"
    ollama_model = os.environ.get("A2A_OLLAMA_MODEL", DEFAULT_OLLAMA_MODEL)
    ollama = f"Ollama {ollama_model} at {ollama_base_url()}"
    name = embedded_model_name(embedded_model)
    embedded = f"embedded {name}: {describe(name)} (llama.cpp, in-process)"
    if choice == "ollama":
        return ollama
    if choice == "embedded":
        return embedded
    return f"auto: {ollama} if it answers and has the model pulled, else {embedded}"


def main() -> None:
    app(prog_name="a2a-memory")


__all__ = ["CliFailure", "CliServices", "CliState", "app", "main"]
