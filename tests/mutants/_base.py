"""What a mutant is: the reference fake, broken in exactly one way."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from akol_conformance.catalog import CLAUSES

ASGIApp = Callable[..., Any]


@dataclass(frozen=True)
class Mutant:
    name: str
    clause: str
    description: str
    policy: Mapping[str, Any] = field(default_factory=dict)
    service: type | None = None
    wrap: Callable[[ASGIApp], ASGIApp] | None = None
    http: bool = False

    def __post_init__(self) -> None:
        if self.clause not in CLAUSES:
            raise ValueError(f"mutant {self.name!r}: unknown clause {self.clause!r}")
        if not (self.policy or self.service or self.wrap):
            raise ValueError(f"mutant {self.name!r} changes nothing: give policy, service or wrap")

    @property
    def level(self) -> str:
        return CLAUSES[self.clause].level

    @property
    def family(self) -> str:
        return CLAUSES[self.clause].family

    def build(self, env: str | None = None) -> ASGIApp:
        """The fake with this one deviation, as an ASGI app."""
        import akol_fake

        policy = dataclasses.replace(akol_fake.Policy(), **dict(self.policy))
        kwargs: dict[str, Any] = {"env": env}
        if self.service is not None:
            kwargs["service"] = self.service
        app = akol_fake.create_app(policy, **kwargs)
        return self.wrap(app) if self.wrap is not None else app
