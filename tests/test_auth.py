"""graphs/auth.py without a server: key configuration, key lookup and context limits.

The handlers themselves run against the real `langgraph dev` in test_langgraph_server.py.
"""

from __future__ import annotations

import pytest
from langgraph_sdk import Auth

from graphs.auth import (
    DEV_KEYS,
    AuthConfigError,
    Caller,
    caller_for_key,
    check_runnable,
    configured_keys,
    key_from_headers,
    parse_api_keys,
    restrict_context,
)
from graphs.served import GRAPH_TEAMS, default_assistant_id


def test_keys_parse_into_roles_and_names() -> None:
    keys = parse_api_keys(" k-staff-123:staff:ops , k-cust-1234:customer, k-sam-12345:agent:sam ")
    assert keys == {
        "k-staff-123": Caller("staff", "ops"),
        "k-cust-1234": Caller("customer"),
        "k-sam-12345": Caller("agent", "sam"),
    }
    assert keys["k-sam-12345"].identity == "agent:sam"
    assert keys["k-cust-1234"].identity == "customer"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("short:staff", "at least 8 characters"),
        ("long-enough-key:admin", "role 'admin' is not one of staff, customer, agent"),
        ("long-enough-key:agent", "agent '' is not one of"),
        ("long-enough-key:agent:bob", "agent 'bob' is not one of"),
        ("long-enough-key:customer:a b", "may hold letters, digits"),
        (" , ,", "holds no <key>:<role> entry"),
    ],
)
def test_malformed_key_configuration_names_the_entry(text: str, problem: str) -> None:
    with pytest.raises(AuthConfigError, match=problem) as error:
        parse_api_keys(text)
    assert "long-enough-key" not in str(error.value)  # keys never appear in messages


def test_without_configuration_only_the_documented_dev_keys_work() -> None:
    keys = configured_keys({})
    assert set(keys) == set(DEV_KEYS)
    assert caller_for_key("dev-staff-key", keys) == Caller("staff", "dev-operator")
    configured = configured_keys({"A2A_API_KEYS": "prod-key-0001:staff"})
    assert caller_for_key("dev-staff-key", configured) is None
    assert caller_for_key("prod-key-0001", configured) == Caller("staff")
    assert caller_for_key("", configured) is None
    assert caller_for_key(None, configured) is None


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({b"x-api-key": b"abc"}, "abc"),
        ({b"authorization": b"Bearer abc"}, "abc"),
        ({b"authorization": b"bearer  abc "}, "abc"),
        ({b"authorization": b"Basic abc"}, None),
        ({b"x-api-key": b"  "}, None),
        ({}, None),
    ],
)
def test_the_key_comes_from_x_api_key_or_a_bearer_token(headers: dict, key: str | None) -> None:
    assert key_from_headers(headers) == key


@pytest.mark.parametrize(
    ("caller", "context", "after"),
    [
        (Caller("staff"), {"agent": "sam", "team": "x"}, {"agent": "sam", "team": "x"}),
        (Caller("staff"), {"speaker_role": "customer"}, {"speaker_role": "customer"}),
        (Caller("agent", "sam"), {}, {"agent": "sam", "speaker_role": "agent"}),
        (Caller("agent", "sam"), {"agent": "sam"}, {"agent": "sam", "speaker_role": "agent"}),
        (Caller("customer"), {"llm": "none"}, {"llm": "none", "speaker_role": "customer"}),
        (
            Caller("customer", "12345"),
            {"speaker_role": "customer"},
            {"customer_id": "12345", "speaker_role": "customer"},
        ),
    ],
)
def test_allowed_contexts_are_pinned_to_the_caller(
    caller: Caller, context: dict, after: dict
) -> None:
    restrict_context(caller, context)
    assert context == after


@pytest.mark.parametrize(
    ("caller", "context"),
    [
        (Caller("staff"), {"data_dir": "/tmp/x"}),
        (Caller("staff"), {"chat_model": "x"}),
        (Caller("agent", "sam"), {"agent": "jordan"}),
        (Caller("agent", "sam"), {"team": "other"}),
        (Caller("customer"), {"agent": "alex"}),
        (Caller("customer"), {"customer_id": "1"}),
        (Caller("customer", "12345"), {"customer_id": "1"}),
        (Caller("customer"), {"speaker_role": "staff"}),
        (Caller("customer", "12345"), {"speaker_role": "system"}),
        (Caller("agent", "sam"), {"speaker_role": "staff"}),
    ],
)
def test_forbidden_contexts_are_refused(caller: Caller, context: dict) -> None:
    with pytest.raises(Auth.exceptions.HTTPException) as error:
        restrict_context(caller, context)
    assert error.value.status_code == 403


@pytest.mark.parametrize(
    ("caller", "graph", "allowed"),
    [
        (Caller("customer"), "team", True),
        (Caller("customer", "12345"), "chat", True),
        (Caller("customer"), "helpdesk", False),  # the IT help desk serves employees
        (Caller("agent", "sam"), "team", True),
        (Caller("agent", "sam"), "helpdesk", False),  # not sam's team
        (Caller("agent", "casey"), "helpdesk", True),
        (Caller("agent", "casey"), "team", False),
    ],
)
def test_non_staff_callers_run_only_the_graphs_they_serve(
    caller: Caller, graph: str, allowed: bool
) -> None:
    assistant = default_assistant_id(graph)
    if allowed:
        check_runnable(caller, assistant)
        return
    with pytest.raises(Auth.exceptions.HTTPException) as error:
        check_runnable(caller, assistant)
    assert error.value.status_code == 403 and "may run only" in str(error.value.detail)


@pytest.mark.parametrize("assistant", ["", "team", "0c9b6c55-2a4e-4b5e-9f8e-1d2f3a4b5c6d"])
def test_a_customer_may_not_run_an_assistant_staff_configured(assistant: str) -> None:
    with pytest.raises(Auth.exceptions.HTTPException):
        check_runnable(Caller("customer"), assistant)


def test_served_graphs_are_langgraph_jsons_graphs() -> None:
    import json
    from pathlib import Path

    served = json.loads(Path(__file__).parents[1].joinpath("langgraph.json").read_text())
    assert set(served["graphs"]) == set(GRAPH_TEAMS)


def test_a_malformed_key_setting_stops_the_server_at_startup() -> None:
    import subprocess
    import sys

    env = {"A2A_API_KEYS": "long-enough-key:admin", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", "import graphs.auth"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "role 'admin' is not one of staff, customer, agent" in done.stderr
    assert "long-enough-key" not in done.stderr.replace("A2A_API_KEYS", "")
