"""Regenerate reconciler/sandbox/openapi-subset.json from the shared Telnyx OpenAPI subset.

Usage: python scripts/vendor_spec.py [PATH_TO_openapi-subset.yaml]
The JSON copy ships inside the package so the sandbox can validate requests without the YAML loader.
"""

import json
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "telnyx-api" / "openapi-subset.yaml"
TARGET = ROOT / "reconciler" / "sandbox" / "openapi-subset.json"


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    spec = YAML(typ="safe", pure=True).load(source.read_text())
    TARGET.write_text(json.dumps(spec, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
