"""JSON-schema validation (draft 2020-12) with defaults filled in and messages a user can act on.

The schemas ship inside the package (``tme/schemas/``) so the library validates without Snakemake;
``workflow/schemas/`` links to the same files, as the Snakemake catalog layout expects.
"""

from __future__ import annotations

import copy
import importlib
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import yaml

from tme.errors import TmeInputError, shorten

if TYPE_CHECKING:  # jsonschema loads when a config is validated, not in every rule script
    import jsonschema


@cache
def load_schema(name: str) -> dict:
    """The schema ``tme/schemas/<name>.schema.yaml`` as a dict, registries filled in.

    A node ``x-tme-registry: <module>:<name>`` becomes ``enum: [the registry's names]``, so that a
    scoring method or an expression format registered in code is accepted by the config without
    editing the schema (one registration, one place).
    """
    return _fill_registries(yaml.safe_load(files("tme.schemas").joinpath(f"{name}.schema.yaml").read_text()))


def _fill_registries(node: Any) -> Any:
    if isinstance(node, dict):
        if "x-tme-registry" in node:
            module, attribute = node.pop("x-tme-registry").split(":")
            node["enum"] = list(getattr(importlib.import_module(module), attribute))
        for value in node.values():
            _fill_registries(value)
    elif isinstance(node, list):
        for value in node:
            _fill_registries(value)
    return node


def fill_defaults(instance: Any, schema: dict) -> Any:
    """Copy of ``instance`` with every missing property that has a ``default`` filled in (recursively)."""
    if not isinstance(instance, dict) or schema.get("type") != "object":
        return instance
    out = copy.deepcopy(instance)
    for key, sub in schema.get("properties", {}).items():
        if key not in out and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        if key in out:
            out[key] = fill_defaults(out[key], sub)
    return out


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path)


def _value(value: Any) -> str:
    """A value as quoted in a message: its repr, cut short (a config may hold megabytes)."""
    return shorten(repr(value), 120)


#: Range keywords of the schema, as a message states them.
BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}


def describe_error(error: jsonschema.ValidationError) -> tuple[str, str, str]:
    """(key path, problem, fix) for one schema violation (for "one of": the alternative it came closest to)."""
    if error.validator in ("oneOf", "anyOf") and error.context:  # "not null" is the least helpful alternative
        not_null = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        from jsonschema.exceptions import best_match

        error = best_match(not_null or error.context)
    key = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        name = ".".join([key, extra[0]]) if key else extra[0]
        return name, f"unknown key {shorten(repr(extra[0]), 80)}", f"remove it or use one of: {', '.join(allowed)}"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        return key, f"required key '{missing}' is missing", f"add '{missing}'"
    if error.validator == "enum":
        options = ", ".join(map(str, error.validator_value))
        return key, f"value {_value(error.instance)} is not allowed", f"use one of: {options}"
    if error.validator == "type":
        return (
            key,
            f"value {_value(error.instance)} is not of type {error.validator_value}",
            f"give a {error.validator_value}",
        )
    if error.validator == "pattern":
        return (
            key,
            f"value {_value(error.instance)} contains characters that are not allowed",
            (
                "use letters, digits, '.', '_' or '-' only, starting and ending with a letter or digit "
                "(labels and IDs reach file names and the HTML report, where other characters could act as markup)"
            ),
        )
    if error.validator in BOUNDS:
        bound = f"{BOUNDS[error.validator]} {error.validator_value}"
        name = error.validator.removeprefix("exclusive").lower()
        return (
            key,
            f"value {_value(error.instance)} is out of range ({name} {error.validator_value}: it must be {bound})",
            f"give a value {bound}",
        )
    return key, shorten(error.message, 300), "see the schema's description of this key"


def validate(
    instance: Any, name: str, *, file: str | None = None, line: int | None = None, what: str = "config"
) -> Any:
    """Validate ``instance`` against schema ``name``, raise the first violation, return it with defaults."""
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        key, problem, fix = describe_error(errors[0])
        key = shorten(key, 120)
        if what == "config":
            problem = f"config key '{key}': {problem}" if key else f"config: {problem}"
            raise TmeInputError(problem, file=file, fix=fix)
        raise TmeInputError(problem, file=file, line=line, column=key or None, fix=fix)
    return fill_defaults(instance, schema)
