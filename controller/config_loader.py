"""The one configuration loader: file values, then ``LOA_*`` environment overrides, then
keyword overrides, validated once, with one line per bad value naming where it came from.

A field ``name`` is set by ``LOA_NAME``; a field of a section (a nested model or pydantic
dataclass such as ``tts``) by ``LOA_TTS_NAME``, unless the field names its variable with
``json_schema_extra={"env": ...}``. Lists and dicts take JSON (``LOA_CAP_FEEDS='["https://..."]'``);
a list also takes plain comma-separated text (``LOA_CAP_FEEDS=https://a,https://b``). An empty
variable counts as unset.
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

LISTS = (list, tuple, set, frozenset)
T = TypeVar("T")
Where = tuple[str | int, ...]


class ConfigError(ValueError):
    """The configuration cannot be used; one problem per bad value, naming its source."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass
class _Reading:
    """The environment being read, where each value came from, and what was wrong."""

    env: Mapping[str, str]
    sources: dict[Where, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def load(
    model: type[T],
    data: Mapping[str, Any] | None = None,
    *,
    prefix: str = "LOA_",
    env: Mapping[str, str] | None = None,
    origin: str = "the configuration file",
    overrides: Mapping[str, object] | None = None,
) -> T:
    """``model`` validated from ``data`` (read from ``origin``), the environment, ``overrides``."""
    values = dict(data or {})
    reading = _Reading(os.environ if env is None else env)
    _apply_environment(values, model, prefix, (), reading)
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
            reading.sources[(name,)] = f"{name} (given)"
    try:
        loaded = TypeAdapter(model).validate_python(values)
    except ValidationError as exc:
        reading.problems += [_describe(e, reading.sources, origin) for e in exc.errors()]
    if reading.problems:
        raise ConfigError(reading.problems)
    return loaded


def fields(model: type) -> dict[str, FieldInfo]:
    """The fields of a pydantic model or pydantic dataclass."""
    found = getattr(model, "model_fields", None) or getattr(model, "__pydantic_fields__", None)
    return dict(found or {})


def _apply_environment(
    values: dict[str, Any], model: type, prefix: str, at: Where, reading: _Reading
) -> None:
    """Set ``values`` (the file's, for ``model``) from the variables that name its fields."""
    for name, info in fields(model).items():
        section = _section(info.annotation)
        if section is not None:
            current = values.get(name)
            if current is None or isinstance(current, dict):  # else the file's error is reported
                inner = dict(current or {})
                sub_prefix = f"{prefix}{name.upper()}_"
                _apply_environment(inner, section, sub_prefix, (*at, name), reading)
                if inner or current is not None:
                    values[name] = inner
            continue
        variable = _variable(info) or f"{prefix}{name.upper()}"
        text = reading.env.get(variable, "")
        if not text.strip():
            continue
        reading.sources[(*at, name)] = f"{variable} (environment)"
        try:
            values[name] = _parse(text, info.annotation)
        except ValueError as exc:
            reading.problems.append(f"{variable} (environment): {exc}")


def _variable(info: FieldInfo) -> str:
    extra = info.json_schema_extra
    return str(extra["env"]) if isinstance(extra, dict) and "env" in extra else ""


def _section(annotation: Any) -> type | None:
    """The nested model or pydantic dataclass a field holds, if it is one."""
    if isinstance(annotation, type) and (
        issubclass(annotation, BaseModel) or hasattr(annotation, "__pydantic_fields__")
    ):
        return annotation
    return None


def _parse(text: str, annotation: Any) -> Any:
    kind = _container(annotation)
    if kind is None:
        return text  # pydantic converts numbers, booleans and paths from text
    if text.lstrip().startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos + 1})") from None
    if kind is dict:
        raise ValueError('expected a JSON object such as {"key": "value"}')
    return [part.strip() for part in text.split(",") if part.strip()]


def _container(annotation: Any) -> type | None:
    """list (for any sequence or set) or dict if the field holds one, else None."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        kinds = {_container(arg) for arg in get_args(annotation)} - {None}
        return kinds.pop() if len(kinds) == 1 else None
    if origin in LISTS or annotation in LISTS:
        return list
    if origin is dict or annotation is dict:
        return dict
    return None


def _describe(error: Any, sources: Mapping[Where, str], origin: str) -> str:
    loc: Where = tuple(error["loc"])
    source = next(
        (sources[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in sources),
        f"{'.'.join(str(part) for part in loc) or '(top level)'} in {origin}",
    )
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    if isinstance(given, (dict, list)) or error["type"] == "missing":
        return f"{source}: {message}"
    shown = repr(given)
    return f"{source}: {message} (got {shown[:80]}{'…' if len(shown) > 80 else ''})"
