"""Read a YAML config file strictly: data only, every key once, bounded size.

A config is read by tme before Snakemake runs anything (``tme run``, ``tme validate``) and again
when Snakemake reads the workflow, so that both give the same message. What is refused, each with
the file, line and a fix:

* YAML that is not valid, an empty file, or a top level that is not a mapping;
* a key given twice in one mapping (YAML parsers silently keep the last one, so a second
  ``expression:`` block would replace the first without a word);
* tags that construct objects (``!!python/...``): a config holds data, never code;
* Snakemake's YTE templating switch ``__use_yte__`` (it evaluates ``?...`` expressions as Python
  when Snakemake loads the file);
* anchors and aliases that expand past :data:`MAX_NODES` values (an "alias bomb" expands
  exponentially and would exhaust memory in any consumer that walks the data).

Snakemake parses ``--configfile`` itself before tme's code runs, so these checks protect a run
only when the config goes through ``tme run`` (or ``tme validate`` first); the README's data-safety
section says that configs are trusted input under plain Snakemake.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tme.errors import TmeInputError

#: Values (mapping entries, list items, scalars) a config may expand to, aliases followed.
MAX_NODES = 100_000
#: Keys Snakemake interprets as instructions rather than data.
CODE_KEYS = ("__use_yte__",)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (``yaml.SafeLoader`` keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise TmeInputError(
                    f"key {str(key)[:80]!r} is given twice in one section (also line {seen[key]}); "
                    "YAML would silently keep only the last one",
                    line=line,
                    fix="keep one of the two and delete the other",
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def count_values(data: Any, limit: int = MAX_NODES) -> int:
    """Number of values in ``data`` with aliases expanded, counting stops just past ``limit``."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return count


def read_yaml_config(path: str | os.PathLike) -> dict:
    """Parse a config file strictly (see the module docstring) and return its top-level mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TmeInputError("the config file does not exist", file=path, fix="pass an existing YAML file") from None
    except IsADirectoryError:
        raise TmeInputError("the config path is a directory", file=path, fix="pass the YAML file itself") from None
    except UnicodeDecodeError:
        raise TmeInputError("the config file is not UTF-8 text", file=path, fix="save it as UTF-8") from None
    try:
        config = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except TmeInputError as exc:
        exc.file = str(path)
        raise
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise TmeInputError(
            f"the config uses a YAML tag tme refuses ({str(exc.problem)[:120]})",
            file=path,
            line=line,
            fix="write plain values: a config holds data, never code or objects",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TmeInputError(
            f"the config is not valid YAML ({str(getattr(exc, 'problem', exc))[:200]})",
            file=path,
            line=None if mark is None else mark.line + 1,
            fix="correct the YAML syntax (indent with spaces, not tabs)",
        ) from None
    if config is None:
        raise TmeInputError("the config file is empty", file=path, fix="start from config/config.yaml")
    if not isinstance(config, Mapping):
        raise TmeInputError(
            f"the config's top level is a {type(config).__name__}, not a mapping of keys",
            file=path,
            line=1,
            fix="start from config/config.yaml: 'samples:', 'design:', ... at the top level",
        )
    check_config_data(config, path)
    return dict(config)


def check_config_data(config: Mapping, file: str | os.PathLike | None = None) -> None:
    """Refuse code-bearing keys and configs that expand past :data:`MAX_NODES` values."""
    for key in CODE_KEYS:
        if key in config:
            raise TmeInputError(
                f"config key '{key}' asks Snakemake to evaluate the config as a template (YTE), which runs code",
                file=file,
                fix=f"remove '{key}' and write plain values",
            )
    if count_values(config) > MAX_NODES:
        raise TmeInputError(
            f"the config expands to more than {MAX_NODES:,} values (YAML anchors and aliases)",
            file=file,
            fix="write the config without nested aliases",
        )
