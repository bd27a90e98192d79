"""The mutant catalog: every clause's "almost right" implementations.

Each ``tests/mutants/<family>.py`` defines ``MUTANTS: list[Mutant]``.
``app_factory`` is what the matrix passes as ``--app-factory tests.mutants:app_factory``:
it builds the mutant named by the ``AKOL_MUTANT`` environment variable.
"""
from __future__ import annotations

import importlib
import os
import pkgutil

from tests.mutants._base import ASGIApp, Mutant

__all__ = ["CATALOG", "Mutant", "app_factory"]


def _collect() -> dict[str, Mutant]:
    catalog: dict[str, Mutant] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "serve":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for mutant in getattr(module, "MUTANTS", []):
            if mutant.name in catalog:
                raise ValueError(f"duplicate mutant name {mutant.name!r} in {info.name}")
            catalog[mutant.name] = mutant
    return catalog


CATALOG: dict[str, Mutant] = _collect()


def app_factory(env: str | None = None) -> ASGIApp:
    """The in-process app for the mutant named by AKOL_MUTANT, in environment `env`.

    The foreign environment (ENV-01) is the same mutant too: a deployment's other environment
    runs the same code, so a shared-key or issuer bug shows only between two of its builds.
    """
    name = os.environ.get("AKOL_MUTANT", "")
    if name not in CATALOG:
        raise LookupError(f"AKOL_MUTANT={name!r} names no mutant; known: {', '.join(sorted(CATALOG))}")
    return CATALOG[name].build(env)
