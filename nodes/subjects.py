"""Whose conversation this is: the subject a speaker's words are about, and whose facts
retrieval may show (memory/trust.py and MemoryManager.search do the rest)."""

from __future__ import annotations

import uuid
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from memory.extraction import normalize_subject
from memory.models import SourceRole, canonical_subject
from nodes.customer import RunCaller, run_caller


def speaker_subject(subject: str | None, thread_id: str | None) -> str:
    """Whose "I" and "my" the user's words are: the known subject ("customer:12345"), else
    this thread's anonymous user (each a subject of their own, never a shared "user")."""
    if subject:
        return canonical_subject(subject)
    return f"user:{thread_id}" if thread_id else f"user:anonymous-{uuid.uuid4().hex[:12]}"


def conversation_subject(
    subject: str | None, request: str, thread_id: str | None, may_name: bool
) -> str:
    """Whose facts this conversation may see: the context's subject ("customer:12345"),
    else, when the caller `may_name` one (`may_name_a_customer`), a customer the request
    names, else the anonymous user of this thread."""
    if not may_name:
        return speaker_subject(subject, thread_id)
    return named_subject(subject, request) or speaker_subject(None, thread_id)


def may_name_a_customer(speaker_role: SourceRole) -> bool:
    """Whether the words of this run may name whose facts it sees. A customer is who their
    channel says they are: "I am customer #34567" in their own words names no one. On the
    server the caller's key decides (a staff key running the team graph, whose speaker is
    "customer" by default, may still look anyone up; a customer key never); elsewhere the
    run's speaker role (Python callers are the channel)."""
    caller = current_caller()
    if caller is not None:
        return caller.role != "customer"
    return speaker_role != "customer"


def current_caller() -> RunCaller | None:
    """The server's authenticated caller of this run (None outside the server)."""
    from langgraph.config import get_config

    try:
        return run_caller(get_config().get("configurable", {}))
    except RuntimeError:
        return None


def named_subject(subject: str | None, request: str) -> str | None:
    """Whom a conversation is about, when anyone: the context's subject, else a customer
    the request names. A staff console that names nobody is about no one in particular."""
    if subject:
        return canonical_subject(subject)
    named = normalize_subject(request)
    if named and named.startswith("customer:"):
        return named
    return None


def current_thread_id() -> str | None:
    """The thread of the current run (None outside a run)."""
    from langgraph.config import get_config

    try:
        return get_config().get("configurable", {}).get("thread_id")
    except RuntimeError:
        return None


def current_checkpointer() -> BaseCheckpointSaver[Any] | None:
    """The checkpointer of the current run (None outside a run, or without one): what a
    forget asked in conversation redacts the transcripts in."""
    from langgraph.config import get_config
    from langgraph.constants import CONFIG_KEY_CHECKPOINTER

    try:
        saver = get_config().get("configurable", {}).get(CONFIG_KEY_CHECKPOINTER)
    except RuntimeError:
        return None
    return saver if isinstance(saver, BaseCheckpointSaver) else None
