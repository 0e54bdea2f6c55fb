"""Typed configs: each stage declares one dataclass deriving from `Config`.

A config is saved as JSON in the run folder and beside every checkpoint, so that a run folder alone
rebuilds its models. Loading checks field names and types, so a hand-edited or foreign file fails with
a clear message instead of building a different model.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path
from typing import Any, TypeVar

from .errors import UserError
from .files import read_json, write_json
from .limits import check_side

C = TypeVar("C", bound="Config")


@dataclasses.dataclass
class Config:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any], *, where: str = "config") -> C:
        if not isinstance(data, dict):
            raise UserError(f"{where}: expected a JSON object for {cls.__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise UserError(f"{where}: unknown {cls.__name__} fields {sorted(unknown)}")
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for key, value in data.items():
            kwargs[key] = _coerce(value, hints[key], f"{where}: {cls.__name__}.{key}")
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as e:
            raise UserError(f"{where}: {e}") from None

    def save(self, path: str | os.PathLike) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls: type[C], path: str | os.PathLike) -> C:
        return cls.from_dict(read_json(path), where=str(path))

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Accept JSON values for a field of type `hint` (tuples arrive as lists; ints are fine for floats)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except UserError:
                continue
        raise UserError(f"{where}: {value!r} does not fit {hint}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], where) for v in value)
        if len(args) != len(value):
            raise UserError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args))
    if origin in (list, dict) or hint is Any:
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and not (isinstance(value, hint) and not (hint is int and isinstance(value, bool))):
        raise UserError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def parse_size(text: str) -> tuple[int, int]:
    """'200x120' -> (200, 120); anything else is a UserError."""
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise UserError(f"bad size {text!r}: expected WIDTHxHEIGHT, for example 200x120") from None
    check_side(f"bad size {text!r}: the width", w)
    check_side(f"bad size {text!r}: the height", h)
    return w, h
