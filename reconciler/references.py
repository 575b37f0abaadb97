"""What `${env:NAME}` and `${file:PATH}` may read. No network; the config module resolves the references.

A config may come from anyone who can open a pull request, and plans of pull requests are posted where
everyone reads them. So a variable never names the tool's own credentials or a token the CI platform puts
in every job's environment (`forbidden_variable`), and a file is a regular file inside the config's root,
outside `.git`, of at most `MAX_FILE_VALUE` bytes, checked before it is opened (`confined_file`).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The tool's own credentials and the tokens CI platforms put in the environment of every job: GitHub
# Actions, GitLab CI, Azure Pipelines, Bitbucket, CircleCI, Buildkite.
FORBIDDEN_VARIABLES = frozenset({
    "TELNYX_API_KEY", "TELNYX_RECONCILER_STATE_KEY", "GITHUB_TOKEN", "GH_TOKEN", "CI_JOB_TOKEN", "CI_JOB_JWT",
    "CI_JOB_JWT_V1", "CI_JOB_JWT_V2", "CI_BUILD_TOKEN", "CI_REGISTRY_PASSWORD", "CI_DEPENDENCY_PROXY_PASSWORD",
    "CI_DEPLOY_PASSWORD", "SYSTEM_ACCESSTOKEN", "BITBUCKET_STEP_OIDC_TOKEN", "CIRCLE_OIDC_TOKEN",
    "CIRCLE_OIDC_TOKEN_V2", "BUILDKITE_AGENT_ACCESS_TOKEN",
})
FORBIDDEN_PREFIXES = ("ACTIONS_",)  # GitHub's runner tokens: ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN, ...
MAX_FILE_VALUE = 64 * 1024


def forbidden_variable(name: str) -> bool:
    return name.upper() in FORBIDDEN_VARIABLES or name.upper().startswith(FORBIDDEN_PREFIXES)


def roots(paths: list[str] | tuple[str, ...], files: list[Path]) -> dict[str, Path]:
    """Each file's root for `${file:}`: the git work tree holding it, else the directory given (or holding
    the file given)."""
    given = [Path(p).resolve() for p in paths] or [files[0].parent.resolve()]
    found: dict[str, Path] = {}
    for file in files:
        resolved = file.resolve()
        owner = next((g for g in given if g == resolved or g in resolved.parents), resolved.parent)
        found[str(file)] = work_tree(resolved.parent) or (owner if owner.is_dir() else owner.parent)
    return found


def work_tree(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def confined_file(root: Path, base: Path, name: str) -> str:
    """The text of `${file:NAME}`: a regular file inside `root`, symlinks resolved, at most MAX_FILE_VALUE
    bytes, UTF-8. Raises ValueError saying what is wrong. A FIFO or device is never opened to find out."""
    if Path(name).is_absolute() or name.startswith(("~", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise ValueError("an absolute path is not allowed; write it relative to this YAML file")
    try:
        target = (base / name).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ValueError(f"cannot read {base / name}: {getattr(exc, 'strerror', None) or 'no such file'}") from None
    if target != root and root not in target.parents:
        raise ValueError(f"{name} is outside the config's root {root} (symlinks resolved)")
    if ".git" in target.relative_to(root).parts:  # a CI checkout keeps its token in .git/config
        raise ValueError(f"{name} is inside .git, which may hold credentials")
    info = target.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{name} is not a regular file (a directory, device or FIFO)")
    if info.st_size > MAX_FILE_VALUE:
        raise ValueError(f"{name} is larger than {MAX_FILE_VALUE // 1024} KiB")
    descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # replaced since the check
            raise ValueError(f"{name} is not a regular file")
        raw = handle.read(MAX_FILE_VALUE + 1)
    if len(raw) > MAX_FILE_VALUE:
        raise ValueError(f"{name} is larger than {MAX_FILE_VALUE // 1024} KiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not UTF-8 text") from None
