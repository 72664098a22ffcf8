"""Choosing specialists for a request when the LLM cannot (or to back it up).

- keyword router: a specialist whose keywords appear in the request is involved;
- semantic router: cosine similarity between the request and each specialist's
  description; the best one, and any within `margin` of it above `floor`, are involved.
The coordinator unions the LLM's valid choice with the keyword router's hits (a word
like "refund" is strong evidence), and falls back to the semantic router when neither
gives anything. A model known to route worse than these two (every packaged GGUF,
memory.packaged_models.PackagedModel.routes) is not asked: the routers decide alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from nodes.team import AgentSpec


def keyword_route(request: str, specialists: Mapping[str, AgentSpec]) -> list[str]:
    words = set(re.findall(r"[a-z]+", request.lower()))
    return [
        name
        for name, spec in specialists.items()
        if any((k in words) if " " not in k else (k in request.lower()) for k in spec.keywords)
    ]


def semantic_route(
    request: str,
    specialists: Mapping[str, AgentSpec],
    embeddings: Embeddings,
    *,
    margin: float = 0.05,
    floor: float = 0.15,
) -> tuple[list[str], dict[str, float]]:
    names = list(specialists)
    vectors = np.array(embeddings.embed_documents([specialists[n].description for n in names]))
    query = np.array(embeddings.embed_query(request))
    norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(query) or 1.0)
    scores = vectors @ query / np.where(norms == 0, 1.0, norms)
    similarity = {n: float(s) for n, s in zip(names, scores, strict=True)}
    best = max(similarity.values())
    chosen = [n for n in names if similarity[n] >= max(best - margin, floor)]
    return chosen or [max(similarity, key=similarity.__getitem__)], similarity


def with_keywords(
    proposed: Collection[str], keyword: Collection[str], specialists: Mapping[str, AgentSpec]
) -> list[str]:
    """A model's valid proposal joined with the keyword router's hits, in the team's order."""
    return [name for name in specialists if name in proposed or name in keyword]


@dataclass(frozen=True)
class Routed:
    """The routers' choice when no model proposal is used."""

    specialists: list[str]
    reason: str
    method: Literal["keyword", "semantic"]


def route_by_routers(
    request: str, specialists: Mapping[str, AgentSpec], embeddings: Callable[[], Embeddings]
) -> Routed:
    """The keyword router, then the semantic one when no keyword matched (`embeddings` is
    asked for only then)."""
    keyword = keyword_route(request, specialists)
    if keyword:
        return Routed(keyword, "keywords of their expertise in the request", "keyword")
    chosen, sims = semantic_route(request, specialists, embeddings())
    reason = "closest expertise: " + ", ".join(f"{n} {sims[n]:.2f}" for n in chosen)
    return Routed(chosen, reason, "semantic")
