"""The support team with the scripted fake chat model, for `langgraph dev` in a browser test.

Only tests/test_webui_grounding_live.py serves it (a langgraph.json of its own names this
file): the model routes, writes Sam's task with an order id nobody gave, answers as each
specialist without a tool, and drafts a reply that invents an order, a day and a courier.
The page must show that draft only while it streams, then the grounded reply.
"""

from __future__ import annotations

import json

from langchain_core.messages import BaseMessage

from graphs.team import build_team
from nodes.services import Services
from teams.support.team import SUPPORT_TEAM
from tests.fakes import ScriptedChatModel

INVENTED_ORDER = "ORD-9917"
INVENTED_TASK = f"Track order {INVENTED_ORDER} of customer #12345."
INVENTED_REPLY = (
    f"Your order {INVENTED_ORDER} ships on Friday with our courier Max Mustermann, "
    "and we will text you by SMS."
)
ROUTING = json.dumps(
    {"reason": "a missing order", "specialists": ["sam", "jordan"], "tasks": {"sam": INVENTED_TASK}}
)


def script(messages: list[BaseMessage]) -> str:
    last = messages[-1].text
    if "JSON schema" in last and "specialists" in last:
        return ROUTING
    if "Write the reply" in last:
        return INVENTED_REPLY
    if messages[0].text.startswith(("You are Sam", "You are Jordan")):
        return f"Order {INVENTED_ORDER} ships on Friday."  # a specialist's invented summary
    return "{}"  # memory extraction: not JSON of memories, so the rules extract


builder = build_team(SUPPORT_TEAM, Services(chat_model=ScriptedChatModel(script=script)))
graph = builder.compile()
graph.name = "scripted_support_team"
