"""The project's OpenAPI document of the public auth API (bundled data), and what it describes.

Cheap on purpose (YAML only): test collection needs the operation list, and every run pays
for what collection imports; the schemathesis machinery lives in ``fuzz``.
"""
from __future__ import annotations

import functools
from pathlib import Path

import yaml

import akol_fixtures

__all__ = ["DOCUMENT", "labels", "schema_path"]

DOCUMENT = "fixtures/openapi.yaml"  # how reports name it
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def schema_path() -> Path:
    """Where the document is; ``akol_fixtures.MissingData`` when the install lacks it."""
    return akol_fixtures.path(akol_fixtures.OPENAPI)


@functools.cache
def labels() -> tuple[str, ...]:
    """"METHOD /path" of every operation the document describes, in document order."""
    document = yaml.safe_load(schema_path().read_text(encoding="utf-8"))
    return tuple(f"{method.upper()} {path}" for path, item in document["paths"].items()
                 for method in item if method in _METHODS)
