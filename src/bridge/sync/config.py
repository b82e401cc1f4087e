"""A sync config: the YAML file `bridge sync configs/NAME.yaml` runs.

A *sync config* names the sources a workspace pulls from, the one target it pushes to, the
label map between their ontologies, how items of different sources are matched, which
annotation sets go, and the policies of the push. Every key (the reference is
docs/sync-config.md):

```yaml
workspace: ./bridge.db            # optional: a SQLite path or a postgresql:// URL
sources:                          # one or more
  - name: vendor-a                # unique; how the workspace calls this source
    path: exports/a.xml           # a file ...   (exactly one of path / url)
    from: cvat-xml                # ... and its format (optional: guessed from the file)
    options: {}                   # -O options of the reader or connector
    match: filename               # optional: this source's own matching rule
  - name: vendor-b
    url: labelbox://projects/abc  # ... or a live project
    options: {api_key: ${LABELBOX_API_KEY}}
target:
  url: labelstudio://127.0.0.1:8080/projects/12   # or path: + to: for a file target
  options: {}
labels:                           # the label map (see bridge.sync.labelmap)
  Car: vehicle                    # a rename; two sources names onto one target name = a merge
  Truck: vehicle
  Person:
    to: pedestrian
    attributes:
      pose: {to: posture, values: {standing: upright}}
relations: {drives: operates}     # relation label renames
match: key                        # key | filename | uri | regex:PATTERN (default key)
sets: all                         # a bridge.select spec (default all)
prefer: skip                      # conflicts: source | target | skip (default skip)
delete: false                     # propagate deletions (default false)
as: annotations                   # annotations | predictions (default annotations)
```

Relative file paths (`path`, a `workspace` that is not a URL) are relative to the config
file's directory. `${VAR}` references are resolved from the environment when the file is loaded: inside an
`options` value the resolved text becomes a `pydantic.SecretStr` (it and each variable's
value registered with `bridge.secrets`, so they are redacted from any message) and never appears in a repr; in
`url`, `path` and `workspace` it is plain text (keep passwords out of those: the store
strips credentials, PostgreSQL reads `PGPASSWORD`). `$${` is a literal `${`. A variable that
is not set is a `ConfigError` naming it and the line that refers to it.

Every error is a one-line `ConfigError` whose `where` is `FILE:LINE:COLUMN` of the offending
key or value (the YAML document is composed once to keep a path -> mark map); a misspelt key
gets a did-you-mean hint.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml  # type: ignore[import-untyped]  # no stubs in the venv
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bridge import secrets
from bridge.errors import ConfigError
from bridge.select import HINT as SETS_HINT
from bridge.select import SetSelector

YamlPath = tuple[str | int, ...]
"""Where a node sits in the document: mapping keys and sequence indexes from the root."""

ENV_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MATCH_HINT = "use key, filename, uri or regex:PATTERN (a Python regular expression)"


def check_match_rule(rule: str) -> str:
    """`rule` if it is a matching rule (key | filename | uri | regex:PATTERN), else ValueError."""
    if rule in ("key", "filename", "uri"):
        return rule
    if rule.startswith("regex:"):
        pattern = rule.removeprefix("regex:")
        if not pattern:
            raise ValueError("regex: needs a pattern")
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"bad regular expression {pattern!r}: {error}") from None
        return rule
    raise ValueError(f"{rule!r} is not a matching rule")


class Strict(BaseModel):
    """A config block: unknown keys are errors, `from`/`as` are read by alias."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Located(Strict):
    """A place (a file or a live project) with its reader/connector options."""

    url: str | None = None
    path: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_place(self) -> Located:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of url or path")
        return self

    @property
    def location(self) -> str:
        """The url or the path, whichever is given."""
        return self.url if self.url is not None else str(self.path)

    def plain_options(self) -> dict[str, Any]:
        """The options with every secret revealed: what a connector's `-O` options take.
        Hand them to the connector only; never print or store them."""
        return {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in self.options.items()
        }


class SourceConfig(Located):
    """One source: a name, where it is (url or path), its format and options, and
    optionally its own matching rule (else the config's `match`)."""

    name: str = Field(min_length=1)
    from_: str | None = Field(None, alias="from")
    match: str | None = None

    @field_validator("match")
    @classmethod
    def _check_match(cls, rule: str | None) -> str | None:
        return None if rule is None else check_match_rule(rule)


class TargetConfig(Located):
    """The target: a live project (url) or a file (path, with its format in `to`)."""

    to: str | None = None


class AttributeMapConfig(Strict):
    """How one attribute of a label carries over: a new name and value renames."""

    to: str | None = Field(None, min_length=1)
    values: dict[str, str] = Field(default_factory=dict)


class LabelRuleConfig(Strict):
    """A label's long form: its target name (`to`, default: unchanged) and attribute maps."""

    to: str | None = Field(None, min_length=1)
    attributes: dict[str, AttributeMapConfig] = Field(default_factory=dict)


class SyncConfig(Strict):
    """A validated sync config. `path` is the file it was read from; `where(*keys)` is the
    `FILE:LINE:COLUMN` of a key (for errors found later, e.g. an unknown label)."""

    workspace: str | None = None
    sources: list[SourceConfig] = Field(min_length=1)
    target: TargetConfig
    labels: dict[str, str | LabelRuleConfig] = Field(default_factory=dict)
    relations: dict[str, str] = Field(default_factory=dict)
    match: str = "key"
    sets: str = "all"
    prefer: Literal["source", "target", "skip"] = "skip"
    delete: bool = False
    as_: Literal["annotations", "predictions"] = Field("annotations", alias="as")

    _path: str = PrivateAttr("")
    _marks: dict[YamlPath, str] = PrivateAttr(default_factory=dict)

    @field_validator("match")
    @classmethod
    def _check_match(cls, rule: str) -> str:
        return check_match_rule(rule)

    @field_validator("sets")
    @classmethod
    def _check_sets(cls, spec: str) -> str:
        try:
            return str(SetSelector.parse(spec))
        except ConfigError as error:
            raise ValueError(error.message.removeprefix("--sets: ")) from None

    @model_validator(mode="after")
    def _unique_source_names(self) -> SyncConfig:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}")
            seen.add(source.name)
        return self

    @property
    def path(self) -> str:
        return self._path

    def where(self, *keys: str | int) -> str:
        """`FILE:LINE:COLUMN` of the deepest known node along `keys` (the file alone if none)."""
        path: YamlPath = tuple(keys)
        while path and path not in self._marks:
            path = path[:-1]
        return self._marks.get(path, self._path)


# --------------------------------------------------------------------------- loading


def load_config(path: str | Path) -> SyncConfig:
    """Read, resolve `${ENV}` references in, and validate the sync config at `path`."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such sync config", where=name) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a sync config", where=name) from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text ({error.reason})", where=name) from None
    return parse_config(text, name, base_dir=Path(path).resolve().parent)


def parse_config(text: str, name: str = "<config>", base_dir: Path | None = None) -> SyncConfig:
    """Validate sync config `text`; `name` is the file named in errors. Relative `path`s
    and a workspace path are made absolute against `base_dir` (the config's directory)
    when it is given."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = _at(name, mark) if mark else name
        raise ConfigError(f"not valid YAML: {error.problem}", where=where) from None
    if root is None:
        raise ConfigError("the sync config is empty", where=name, hint=_keys_hint())
    marks: dict[YamlPath, str] = {}
    data = _construct(root, (), marks, name, yaml.SafeLoader(""))
    if not isinstance(data, dict):
        raise ConfigError(
            "a sync config is a mapping of keys",
            where=_at(name, root.start_mark),
            hint=_keys_hint(),
        )
    data = _resolve_env(data, (), marks, name, secret=False)
    if base_dir is not None:
        _anchor_paths(data, base_dir)
    try:
        config = SyncConfig.model_validate(data)
    except ValidationError as error:
        raise _config_error(error, marks, name) from None
    config._path = name
    config._marks = marks
    return config


def _anchor_paths(data: dict[Any, Any], base_dir: Path) -> None:
    """Make the relative file paths of `data` (sources' and target's `path`, a workspace
    that is not a URL) absolute against `base_dir`, in place, before validation."""

    def anchor(block: Any, key: str) -> None:
        if isinstance(block, dict) and isinstance(block.get(key), str) and block[key]:
            value = block[key]
            if "://" not in value:
                block[key] = os.path.normpath(base_dir / Path(value).expanduser())

    anchor(data, "workspace")
    anchor(data.get("target"), "path")
    sources = data.get("sources")
    for source in sources if isinstance(sources, list) else []:
        anchor(source, "path")


def _at(name: str, mark: yaml.Mark) -> str:
    return f"{name}:{mark.line + 1}:{mark.column + 1}"


def _construct(
    node: yaml.Node,
    path: YamlPath,
    marks: dict[YamlPath, str],
    name: str,
    loader: yaml.SafeLoader,
) -> Any:
    """Plain Python data of `node`, recording the mark of every key (for a mapping entry)
    and of every sequence element under its path. A key given twice is an error."""
    marks.setdefault(path, _at(name, node.start_mark))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict) or key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigError("keys must be plain names", where=_at(name, key_node.start_mark))
            key = str(key) if not isinstance(key, str | int) or isinstance(key, bool) else key
            if key in result:
                raise ConfigError(
                    f"key {key!r} is given twice", where=_at(name, key_node.start_mark)
                )
            marks[(*path, key)] = _at(name, key_node.start_mark)
            result[key] = _construct(value_node, (*path, key), marks, name, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(child, (*path, index), marks, name, loader)
            for index, child in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def _resolve_env(
    data: Any, path: YamlPath, marks: dict[YamlPath, str], name: str, *, secret: bool
) -> Any:
    """`data` with `${VAR}` references replaced; strings under an `options` key become
    SecretStr when they held a reference."""
    if isinstance(data, dict):
        return {
            key: _resolve_env(value, (*path, key), marks, name, secret=secret or key == "options")
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [
            _resolve_env(value, (*path, index), marks, name, secret=secret)
            for index, value in enumerate(data)
        ]
    if not isinstance(data, str) or "$" not in data:
        return data
    referenced = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal referenced
        if match.group(0) == "$${":
            return "${"
        variable = match.group(1)
        where = marks.get(path, name)
        if not ENV_NAME.fullmatch(variable):
            raise ConfigError(
                f"${{{variable}}} is not an environment variable reference",
                where=where,
                hint="write ${NAME} with letters, digits and _ (or $${ for a literal ${)",
            )
        value = os.environ.get(variable)
        if value is None:
            raise ConfigError(
                f"environment variable {variable} is not set",
                where=where,
                hint=f"export {variable}=... before running, or remove the reference",
            )
        referenced = True
        if secret:  # the variable's value alone can reach a message too (a header's token)
            secrets.register(value)
        return value

    resolved = ENV_REFERENCE.sub(substitute, data)
    if secret and referenced:
        secrets.register(resolved)
        return SecretStr(resolved)
    return resolved


# --------------------------------------------------------------------------- errors

BLOCK_FIELDS: dict[str, type[BaseModel]] = {
    "": SyncConfig,
    "sources": SourceConfig,
    "target": TargetConfig,
}


def _field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _keys_hint() -> str:
    return "keys: " + ", ".join(_field_names(SyncConfig))


def _model_at(loc: YamlPath) -> type[BaseModel] | None:
    """The config block a (pydantic) location points into, for did-you-mean hints."""
    if not loc:
        return SyncConfig
    if loc[0] == "sources" and len(loc) >= 2:
        return SourceConfig if len(loc) == 2 else None
    if loc[0] == "target" and len(loc) == 1:
        return TargetConfig
    if loc[0] == "labels" and len(loc) == 2:
        return LabelRuleConfig
    if loc[0] == "labels" and len(loc) == 4 and loc[2] == "attributes":
        return AttributeMapConfig
    return None


def _clean_loc(loc: tuple[int | str, ...]) -> YamlPath:
    """A pydantic error location without the union/tag steps it inserts (`str`,
    `LabelRuleConfig`), so that it is a path in the document."""
    steps = [step for step in loc if step not in ("str", "LabelRuleConfig")]
    return tuple(steps)


def _config_error(error: ValidationError, marks: dict[YamlPath, str], name: str) -> ConfigError:
    """The first problem of `error` as a one-line ConfigError at its YAML position."""
    problems = error.errors()
    # A label given as a mapping fails both union members; report the mapping's problem.
    first = next(
        (p for p in problems if "LabelRuleConfig" in p["loc"] or p["type"] == "extra_forbidden"),
        problems[0],
    )
    loc = _clean_loc(first["loc"])
    where_path = loc
    while where_path and where_path not in marks:
        where_path = where_path[:-1]
    where = marks.get(where_path, name)
    dotted = ".".join(str(step) for step in loc) or "(top level)"
    more = len({_clean_loc(problem["loc"]) for problem in problems}) - 1
    hint: str | None = None
    if first["type"] == "extra_forbidden" and loc:
        model = _model_at(loc[:-1])
        known = _field_names(model) if model else []
        typo = str(loc[-1])
        close = difflib.get_close_matches(typo, known, n=1, cutoff=0.6)
        message = f"unknown key {typo!r}"
        if close:
            hint = f"did you mean {close[0]!r}? (keys here: {', '.join(known)})"
        elif known:
            hint = f"keys here: {', '.join(known)}"
        if dotted != typo:
            message += f" in {'.'.join(str(step) for step in loc[:-1])}"
    elif first["type"] == "missing":
        message = f"{dotted} is missing"
    elif len(loc) == 2 and loc[0] == "labels" and first["type"] in ("model_type", "dict_type"):
        message = f"{dotted}: a label maps to a target label name or to {{to:, attributes:}}"
        hint = (
            "e.g. Car: vehicle, or Person: {to: pedestrian, attributes: {pose: {values: {a: b}}}}"
        )
    else:
        msg = str(first["msg"]).removeprefix("Value error, ")
        message = f"{dotted}: {msg}"
        if loc and loc[-1] == "match":
            hint = MATCH_HINT
        elif loc == ("sets",):
            hint = SETS_HINT
    if more and hint is None:
        hint = f"{more} more problem(s) after this one"
    return ConfigError(message, where=where, hint=hint)


def iter_label_entries(config: SyncConfig) -> Iterator[tuple[str, str, LabelRuleConfig | None]]:
    """Each label map entry as (source label, target label, its long form or None)."""
    for source_label, rule in config.labels.items():
        if isinstance(rule, str):
            yield source_label, rule, None
        else:
            yield source_label, rule.to or source_label, rule
