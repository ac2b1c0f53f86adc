"""Load a YAML file and validate it with pydantic, reporting file, line and key.

Users edit these files by hand, so an error must point at the exact place:
``config/rules.yaml:42: topics[3].any[0]: unknown list '@protests'``.

Every YAML text is composed into nodes first, and its size with every alias
expanded is counted on those nodes (each shared node counted once per use,
without building anything) before any Python value is made: a 597-byte alias
bomb stood for billions of values and took a minute and 1.2 GB to refuse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
# libyaml when PyYAML has it (its wheels do): settings.yaml parses in ~1 ms instead of
# ~40, which the healthcheck, run every minute, notices.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Loc = tuple[int | str, ...]


def _lines(node: yaml.Node, path: Loc, out: dict[Loc, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), out)


MAX_VALUES = 100_000  # values in one document, aliases expanded (the rules: ~3,000)


def _expanded(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for with its aliases expanded (memoised per node)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = MAX_VALUES + 1  # a node that contains itself expands forever
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded(item, sizes) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded(k, sizes) + _expanded(v, sizes) for k, v in node.value)
    sizes[id(node)] = min(total, MAX_VALUES + 1)
    return sizes[id(node)]


def parse_text(text: str, path: Path) -> tuple[Any, dict[Loc, int]]:
    """The document in ``text`` and its key paths' lines; ConfigError naming ``path``."""
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded(node, {}) > MAX_VALUES:
            raise ConfigError(
                f"{path}: refused: with its aliases (*name) expanded it holds more than "
                f"{MAX_VALUES} values"
            )
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{where}: invalid YAML: {problem}") from exc
    except RecursionError:
        raise ConfigError(f"{path}: refused: nested too deeply") from None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    if node is not None:
        _lines(node, (), lines)
    return data, lines


def read_yaml(path: Path) -> tuple[Any, dict[Loc, int]]:
    """Return the parsed document and a map from key path to 1-based line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from exc
    return parse_text(text, path)


def dotted(loc: Loc) -> str:
    """Render a pydantic location as ``topics[3].any``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of ``loc``, or of its nearest ancestor that the file spells out."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def describe(path: Path, lines: dict[Loc, int], exc: ValidationError) -> str:
    """Turn a pydantic error into one line per problem, each with file:line: key."""
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        line = line_of(lines, loc)
        where = f"{path}:{line}" if line else str(path)
        message = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {dotted(loc)}: {message}")
    return "\n".join(out)


def load_model(path: Path, model: type[M], *, empty: Any = None) -> M:
    """Read ``path`` and validate it as ``model``; raise ConfigError naming the place."""
    data, lines = read_yaml(path)
    if data is None:
        data = empty if empty is not None else {}
    try:
        return model.model_validate(data, context={"path": path, "lines": lines})
    except ValidationError as exc:
        raise ConfigError(describe(path, lines, exc)) from exc
