"""Config: YAML files -> a validated DesiredState. No network.

A config is one YAML file or a directory of them, merged. Top-level keys are resource kinds (see
kinds/__init__.py), each a list of entries, policies (policies/__init__.py), each one mapping, and
`reconciler:` for settings. Every problem found is collected with its file and
line, and reported together as one ConfigError.

Values can come from the environment (`${env:NAME}`) or a file (`${file:PATH}`, relative to the YAML file
that names it). A kind's sensitive fields (secrets, PINs) may only be written that way: a literal secret
in the YAML would be committed to git. Both are confined, since a config may come from anyone who can open
a pull request: what a reference may read at all is decided in references.py, and in a field that plans
show a variable must also be listed under `reconciler.variables`.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from reconciler import yamlio
from reconciler.compare import nested_model
from reconciler.errors import ConfigError, ConfigIssue
from reconciler.kinds import KINDS, Entry
from reconciler.policies import POLICIES
from reconciler.references import ENV_NAME, confined_file, forbidden_variable, roots
from reconciler.states import STATE_FILE_NAME, DesiredState, ReconcilerSettings, Source

SETTINGS_KEY = "reconciler"
DEFAULTS_KEY = "defaults"
ENTRIES_KEY = "entries"
DEFAULT_PATHS = (Path("telnyx"), Path("telnyx.yaml"))
REF = re.compile(r"\$\{(env|file):([^}]*)\}")
WHOLE_REF = re.compile(r"^\$\{(env|file):[^}]+\}$")
MIN_SECRET_LENGTH = 8  # a shorter secret is found again in ordinary text; scrubbing it would tell where it is
SHORT_SECRETS = frozenset({"external_pin"})  # port-out PINs are 4 to 10 digits, as the losing carrier sets them
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _prune_problem(prune: list[str]) -> str:
    """Why `reconciler.prune` cannot be followed: a kind the registry does not have, or one never pruned."""
    unknown = [k for k in prune if k not in KINDS]
    if unknown:
        prunable = [k for k, kind in KINDS.items() if kind.prunable]
        return f"unknown kind(s) {', '.join(unknown)}; expected some of: {', '.join(prunable)}"
    fixed = [k for k in prune if not KINDS[k].prunable]
    if fixed:
        return f"{', '.join(fixed)} cannot be pruned: remove a number from the account with `release: true` on its entry"
    return ""


def config_model() -> type[BaseModel]:
    """The whole config file as one pydantic model; used for the JSON Schema editors read."""
    fields: dict[str, Any] = {
        SETTINGS_KEY: (ReconcilerSettings | None, Field(default=None, description="Settings of the reconciler itself.")),
    }
    for name, kind in KINDS.items():
        block = create_model(
            f"{kind.model.__name__}Block",
            __config__=ConfigDict(extra="forbid"),
            defaults=(dict[str, Any], Field(default_factory=dict, description="Values every entry gets unless it sets its own.")),
            entries=(list[kind.model], Field(default_factory=list)),  # type: ignore[name-defined]
        )
        fields[name] = (
            list[kind.model] | block | None,  # type: ignore[name-defined]
            Field(default=None, description=f"Desired {kind.title}s: a list, or `defaults:` and `entries:`."),
        )
    for name, policy in POLICIES.items():
        fields[name] = (policy.model | None, Field(default=None, description=f"The {name.replace('_', ' ')}."))
    return create_model("TelnyxAccountConfig", __config__=ConfigDict(extra="forbid"), **fields)


def resolve_paths(paths: list[str] | tuple[str, ...]) -> list[Path]:
    """The YAML files behind the given paths (a directory means its *.yaml / *.yml files, sorted)."""
    if not paths:
        default = next((p for p in DEFAULT_PATHS if p.exists()), None)
        if default is None:
            raise ConfigError.single(
                "(no config given)", None, None, "no config path given and neither ./telnyx/ nor ./telnyx.yaml exists",
                "pass a YAML file or directory, e.g. `telnyx-reconciler plan examples/`",
            )
        paths = (str(default),)
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                raise ConfigError.single(str(path), None, None, "the directory holds no .yaml or .yml file")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError.single(str(path), None, None, "no such file or directory")
    return files


def load_desired(
    paths: list[str] | tuple[str, ...], environ: dict[str, str] | None = None, only: frozenset[str] | None = None
) -> DesiredState:
    """Read, substitute, validate and merge the config. Raises ConfigError listing every problem. With
    `only`, the entries of other kinds are neither substituted nor validated (`--target`)."""
    env = dict(os.environ if environ is None else environ)
    files = resolve_paths(paths)
    documents = [yamlio.load(path) for path in files]
    builder = _Builder(env, _declared_variables(documents), roots(paths, files), only)
    for document in documents:
        builder.add(document)
    desired = builder.finish()
    for document in documents:
        document.forget_data()
    desired.state_path = _state_path(paths, files, desired, builder.settings_source)
    return desired


def _declared_variables(documents: list[yamlio.Document]) -> frozenset[str]:
    """`reconciler.variables` as written, read before substitution (settings are validated later)."""
    found: set[str] = set()
    for document in documents:
        settings = document.data.get(SETTINGS_KEY) if isinstance(document.data, dict) else None
        declared = settings.get("variables") if isinstance(settings, dict) else None
        if isinstance(declared, list):
            found |= {name for name in declared if isinstance(name, str) and not forbidden_variable(name)}
    return frozenset(found)


def _state_path(paths: list[str] | tuple[str, ...], files: list[Path], desired: DesiredState,
                settings_source: Source | None) -> Path | None:
    """The state file: `reconciler.state_file` relative to the file that sets it, else beside the config
    (inside a config directory, next to a config file). None when the config has nothing to remember: no
    write-only value and no kind whose replace can leave the old resource behind."""
    if not any(KINDS[name].fingerprinted or KINDS[name].leaves_leftovers
               for name, entries in desired.entries.items() if entries):
        return None
    if desired.settings.state_file and settings_source is not None:
        return Path(settings_source.file).parent / desired.settings.state_file
    first = Path(paths[0]) if paths else files[0]
    return (first if first.is_dir() else first.parent) / STATE_FILE_NAME


class _Builder:
    """Accumulates documents into a DesiredState, collecting issues instead of stopping at the first."""

    def __init__(
        self, env: dict[str, str], variables: frozenset[str] = frozenset(), roots: dict[str, Path] | None = None,
        only: frozenset[str] | None = None,
    ) -> None:
        self.env = env
        self.variables = variables
        self.roots = roots or {}
        self.only = only
        self.issues: list[ConfigIssue] = []
        self.state = DesiredState(settings=ReconcilerSettings(), entries={name: [] for name in KINDS},
                                  entry_keys={name: [] for name in KINDS})
        # (model, names, kind, prefix) -> the one set of those names its models share, and the fields that hold
        # a model, each with the prefix of its own names
        self.field_sets: dict[tuple[type[BaseModel], frozenset[str], str, str],
                              tuple[set[str], tuple[tuple[str, str], ...]]] = {}
        self.used: dict[str, set[str]] = {}  # kind -> the fields its entries set (DesiredState.fields_in_use)
        self.settings_source: Source | None = None

    def issue(self, doc: yamlio.Document, loc: tuple[int | str, ...], message: str, hint: str = "") -> None:
        line, column = doc.locate(loc)
        self.issues.append(ConfigIssue(doc.path, line, column, message, hint))

    def add(self, doc: yamlio.Document) -> None:
        self.state.files.append(doc.path)
        self.literal_secrets(doc, doc.data)
        data = doc.data
        if self.only is not None and isinstance(data, dict):
            data = {top: value for top, value in data.items() if (top not in KINDS and top not in POLICIES) or top in self.only}
        data = self.substitute(doc, data, ()) if "${" in doc.text else data  # most large files have none
        if data is None:
            return
        if not isinstance(data, dict):
            self.issue(doc, (), "the top level must be a mapping of kinds (e.g. `billing_groups:`)")
            return
        for top, value in data.items():
            if top == SETTINGS_KEY:
                self.add_settings(doc, value)
            elif top in KINDS:
                self.add_kind(doc, str(top), value)
            elif top in POLICIES:
                self.add_policy(doc, str(top), value)
            else:
                self.issue(doc, (top,), f"unknown top-level key {top!r}", _suggest(str(top), [SETTINGS_KEY, *KINDS, *POLICIES]))

    def add_settings(self, doc: yamlio.Document, value: Any) -> None:
        if self.settings_source is not None:
            self.issue(doc, (SETTINGS_KEY,), f"`{SETTINGS_KEY}:` is also set at {self.settings_source}", "keep one")
            return
        self.settings_source = Source(doc.path, (SETTINGS_KEY,), doc)
        try:
            settings = ReconcilerSettings.model_validate(value or {})
        except ValidationError as exc:
            self.validation_issues(doc, (SETTINGS_KEY,), exc, ReconcilerSettings)
            return
        problem = _prune_problem(settings.prune)
        if problem:
            self.issue(doc, (SETTINGS_KEY, "prune"), f"prune: {problem}")
            return
        self.state.settings = settings

    def add_kind(self, doc: yamlio.Document, name: str, value: Any) -> None:
        """A kind is a list of entries, or `{defaults: {...}, entries: [...]}` where each entry wins over defaults."""
        if value is None:
            return
        entries_loc: tuple[int | str, ...] = (name,)
        defaults: dict[str, Any] = {}
        if isinstance(value, dict) and not value.keys() & {DEFAULTS_KEY, ENTRIES_KEY}:
            self.issue(doc, (name,), f"`{name}` must be a list of entries, or a mapping of `{DEFAULTS_KEY}:` and `{ENTRIES_KEY}:`")
            return
        if isinstance(value, dict):
            defaults, value = self.split_defaults(doc, name, value)
            entries_loc = (name, ENTRIES_KEY)
        if not isinstance(value, list):
            self.issue(doc, entries_loc, f"`{'.'.join(map(str, entries_loc))}` must be a list of entries (each starting with `- `)")
            return
        kind = KINDS[name]
        flat = None if any(isinstance(v, dict) for v in defaults.values()) else defaults
        for index, raw in enumerate(value):
            loc = (*entries_loc, index)
            if not defaults or not isinstance(raw, dict):
                merged = raw
            else:  # flat defaults (most are) are laid under the entry in one step
                merged = deep_merge(defaults, raw) if flat is None else {**flat, **raw}
            try:
                entry = kind.model.model_validate(merged)
            except ValidationError as exc:
                self.validation_issues(doc, loc, exc, kind.model, raw, (name, DEFAULTS_KEY))
                continue
            self.share_field_sets(entry, name)
            self.add_entry(doc, loc, name, str(getattr(entry, kind.key_field)), entry)

    def share_field_sets(self, model: BaseModel, kind: str, prefix: str = "") -> None:
        """Frozen models that set the same fields share one set of their names. pydantic keeps a set per model
        (for `exclude_unset`), and for 100,000 phone numbers those sets were a quarter of the config's memory;
        a frozen model never changes its set. Each distinct set is also noted, when first seen, among the
        kind's fields in use (`DesiredState.fields_in_use`: top-level, and one level into nested settings)."""
        if not model.model_config.get("frozen"):
            return
        fields = model.__pydantic_fields_set__
        names = (type(model), frozenset(fields), kind, prefix)
        known = self.field_sets.get(names)
        if known is None:
            groups = tuple((name, f"{prefix}{name}.") for name in _groups(type(model), fields))
            known = self.field_sets[names] = (fields, groups)
            if prefix.count(".") <= 1:
                self.used.setdefault(kind, set()).update(prefix + name for name in fields)
        shared, groups = known
        if shared is not fields:
            object.__setattr__(model, "__pydantic_fields_set__", shared)
        values = model.__dict__
        for name, inner in groups:  # a nested model that was written in the config is among the fields it sets
            if isinstance(values[name], BaseModel):
                self.share_field_sets(values[name], kind, inner)

    def add_policy(self, doc: yamlio.Document, name: str, value: Any) -> None:
        """A policy's section: one mapping, set in one place."""
        if value is None:
            return
        model = POLICIES[name].model
        if not isinstance(value, dict):
            self.issue(doc, (name,), f"`{name}` must be a mapping (e.g. `rules:`)")
            return
        try:
            section = model.model_validate(value)
        except ValidationError as exc:
            self.validation_issues(doc, (name,), exc, model)
            return
        previous = self.state.policy_sources.get(name)
        if previous is not None:
            self.issue(doc, (name,), f"`{name}` is also set at {previous}", "keep one")
            return
        self.state.policy_sources[name] = Source(doc.path, (name,), doc)
        self.state.policies[name] = section

    def split_defaults(self, doc: yamlio.Document, name: str, value: dict[Any, Any]) -> tuple[dict[str, Any], Any]:
        for extra in set(value) - {DEFAULTS_KEY, ENTRIES_KEY}:
            self.issue(doc, (name, extra), f"unknown key {extra!r} under `{name}`", f"expected `{DEFAULTS_KEY}:` and `{ENTRIES_KEY}:`")
        defaults = value.get(DEFAULTS_KEY) or {}
        if not isinstance(defaults, dict):
            self.issue(doc, (name, DEFAULTS_KEY), f"`{name}.{DEFAULTS_KEY}` must be a mapping of fields")
            defaults = {}
        if KINDS[name].key_field in defaults:
            self.issue(doc, (name, DEFAULTS_KEY, KINDS[name].key_field),
                       f"`{KINDS[name].key_field}` identifies an entry and cannot have a default")
        return defaults, value.get(ENTRIES_KEY) or []

    def add_entry(self, doc: yamlio.Document, loc: tuple[int | str, ...], name: str, key: str, entry: Entry) -> None:
        here = Source(doc.path, (*loc, KINDS[name].key_field), doc)
        previous = self.state.sources.get((name, key))
        if previous is not None:
            self.issue(doc, loc, f"{KINDS[name].title} {key!r} is defined twice: here and at {previous}", "keep one")
            return
        self.state.sources[(name, key)] = here
        self.state.entries[name].append(entry)
        self.state.entry_keys[name].append(key)
        for sensitive in KINDS[name].sensitive:
            value = getattr(entry, sensitive, None)
            if value:
                self.state.secrets.add(str(value))

    def validation_issues(
        self,
        doc: yamlio.Document,
        loc: tuple[int | str, ...],
        exc: ValidationError,
        model: type[BaseModel],
        raw: Any = None,
        defaults_loc: tuple[int | str, ...] = (),
    ) -> None:
        for error in exc.errors():
            where = (*loc, *error["loc"])
            first = error["loc"][0] if error["loc"] else None
            if defaults_loc and isinstance(raw, dict) and first is not None and first not in raw and error["type"] != "missing":
                where = (*defaults_loc, *error["loc"])  # the bad value came from the kind's defaults
            self.issue(doc, where, *_describe(error, model))

    def literal_secrets(self, doc: yamlio.Document, data: Any) -> None:
        """Sensitive fields written as literal values, in entries or in a kind's defaults."""
        if not isinstance(data, dict):
            return
        for name, value in data.items():
            kind = KINDS.get(name)
            if kind is None or not kind.sensitive:
                continue
            for loc, raw in _entry_mappings(name, value):
                if kind.sensitive.isdisjoint(raw):  # most entries: checked in C, with no set built for each
                    continue
                for field_name in sorted(kind.sensitive & raw.keys()):
                    if not (isinstance(raw[field_name], str) and WHOLE_REF.match(raw[field_name])):
                        self.issue(doc, (*loc, field_name), f"{field_name} is a secret and is written here as a literal value",
                                   "write it as ${env:NAME} or ${file:PATH}; a secret in the YAML would be committed to git")

    def substitute(self, doc: yamlio.Document, node: Any, loc: tuple[int | str, ...]) -> Any:
        if isinstance(node, dict):
            return {k: self.substitute(doc, v, (*loc, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self.substitute(doc, v, (*loc, i)) for i, v in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            return REF.sub(lambda m: self.reference(doc, loc, m.group(1), m.group(2)), node)
        return node

    def reference(self, doc: yamlio.Document, loc: tuple[int | str, ...], source: str, name: str) -> str:
        value = self.env_value(doc, loc, name) if source == "env" else self.file_value(doc, loc, name)
        if value is None:
            return f"${{{source}:{name}}}"  # left as written, so the entry reports no second, derived problem
        bad = CONTROL.search(value) if not _sensitive(loc) else None  # a secret is never shown
        if bad is not None:
            self.issue(doc, loc, f"${{{source}:{name}}} holds a control character (U+{ord(bad.group()):04X})",
                       "a value is one line of text")
            return f"${{{source}:{name}}}"
        if _sensitive(loc) and len(value) < MIN_SECRET_LENGTH and loc[-1] not in SHORT_SECRETS:
            self.issue(doc, loc, f"${{{source}:{name}}} is shorter than {MIN_SECRET_LENGTH} characters",
                       "use a longer secret: a short one could be found in ordinary output")
        return value

    def file_value(self, doc: yamlio.Document, loc: tuple[int | str, ...], name: str) -> str | None:
        """A file's content, without the trailing newline editors add; the path is relative to the YAML file."""
        base = Path(doc.path).parent
        root = self.roots.get(doc.path) or base.resolve()
        try:
            return confined_file(root, base, name).rstrip("\r\n")
        except ValueError as exc:
            self.issue(doc, loc, f"${{file:{name}}}: {exc}", f"a file named here must be inside {root}")
            return None

    def env_value(self, doc: yamlio.Document, loc: tuple[int | str, ...], name: str) -> str | None:
        if not ENV_NAME.match(name):
            self.issue(doc, loc, f"${{env:{name}}} is not a valid environment variable reference")
            return None
        if forbidden_variable(name):
            self.issue(doc, loc, f"${{env:{name}}} names the tool's credentials or a CI token, which a config may not read",
                       "pass the value in another variable")
            return None
        if not _sensitive(loc) and name not in self.variables:
            self.issue(doc, loc, f"${{env:{name}}} is not listed under `reconciler.variables`",
                       f"add {name} to `reconciler.variables` if its value may appear in plans")
            return None
        if name not in self.env:
            self.issue(doc, loc, f"environment variable {name} is not set", f"set {name} or remove the reference")
            return None
        return self.env[name]

    def finish(self) -> DesiredState:
        if self.issues:
            raise ConfigError(self.issues)
        self.state.fields_in_use = {name: frozenset(used) for name, used in self.used.items()}
        return self.state


def _sensitive(loc: tuple[int | str, ...]) -> bool:
    """Whether `loc` is a kind's sensitive field, in an entry or in the kind's defaults."""
    kind = KINDS.get(str(loc[0])) if loc else None
    if kind is None or not kind.sensitive:
        return False
    if len(loc) > 1 and loc[1] == ENTRIES_KEY:
        depth = 3
    else:
        depth = 2  # `kind: [entries]` (index, field) or `kind: {defaults: {field}}`
    return len(loc) == depth + 1 and loc[depth] in kind.sensitive


def _entry_mappings(name: str, value: Any) -> list[tuple[tuple[int | str, ...], dict[Any, Any]]]:
    """Each raw entry mapping of a kind with its location, the kind's defaults included."""
    found: list[tuple[tuple[int | str, ...], dict[Any, Any]]] = []
    entries: Any = value
    base: tuple[int | str, ...] = (name,)
    if isinstance(value, dict):
        if isinstance(value.get(DEFAULTS_KEY), dict):
            found.append(((name, DEFAULTS_KEY), value[DEFAULTS_KEY]))
        entries, base = value.get(ENTRIES_KEY), (name, ENTRIES_KEY)
        if not isinstance(entries, list):
            return [*found, ((name,), value)]  # a single mapping (a kind with one entry)
    for index, raw in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(raw, dict):
            found.append(((*base, index), raw))
    return found


def _groups(model: type[BaseModel], names: set[str]) -> tuple[str, ...]:
    """Those of the names whose fields hold a nested model: the only ones whose values share_field_sets
    looks at (looking at every value of 100,000 entries cost a tenth of loading them)."""
    return tuple(name for name in names if nested_model(model, name) is not None)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`; nested mappings merge, anything else (lists included) is replaced."""
    merged = {**base, **override}
    for key, value in base.items():  # the defaults are few: look for nested mappings among them
        if isinstance(value, dict) and isinstance(override.get(key), dict):
            merged[key] = deep_merge(value, override[key])
    return merged


def _describe(error: Any, model: type[BaseModel]) -> tuple[str, str]:
    """A pydantic error as (message, hint) in the config's words."""
    field_name = ".".join(str(p) for p in error["loc"]) or "entry"
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        return f"unknown field {name!r}", _suggest(name, _field_names(model, error["loc"][:-1]))
    if kind == "missing":
        return f"missing required field {field_name!r}", ""
    if kind in ("model_type", "model_attributes_type", "dict_type") and not error["loc"]:
        return "each entry must be a mapping of fields", ""
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field_name}: {message}", ""


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        current = _model_of(info.annotation)
    return list(getattr(current, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"expected one of: {', '.join(choices)}" if choices else ""
