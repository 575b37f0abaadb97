"""JSON Schema of the config, generated from the pydantic models (editors use it for completion and checks).

`schemas/` in the repository holds the generated files; a test fails when they are out of date.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.config import config_model


def config_schema() -> dict[str, Any]:
    schema = config_model().model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_files() -> dict[str, str]:
    """File name -> content, exactly as written to disk."""
    return {"config.schema.json": json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"}


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in schema_files().items():
        path = directory / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
