"""The project's OpenAPI document of the public auth API: where it is, what it describes.

Cheap on purpose (YAML only): test collection needs the operation list, and every run pays
for what collection imports; the schemathesis machinery lives in ``_fuzz``.
"""
from __future__ import annotations

import functools
from pathlib import Path

import yaml

__all__ = ["DOCUMENT", "SCHEMA_PATH", "labels"]

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "openapi.yaml"
DOCUMENT = "fixtures/openapi.yaml"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@functools.cache
def labels() -> tuple[str, ...]:
    """"METHOD /path" of every operation the document describes, in document order."""
    document = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    return tuple(f"{method.upper()} {path}" for path, item in document["paths"].items()
                 for method in item if method in _METHODS)
