"""Structured clause failures: what the clause expected, what the target did.

Never pass a token, password or secret as ``expected``/``observed``: describe it
("the old refresh token"). The plugin scrubs output anyway and attaches the test's
recorded exchanges as ``evidence``.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

import httpx

__all__ = ["ClauseFailure", "expect", "expect_status"]

_BODY_EXCERPT = 300


class ClauseFailure(AssertionError):
    def __init__(self, *, expected: str, observed: object, what: str | None = None) -> None:
        self.expected = expected
        self.observed = observed
        self.what = what
        self.evidence: list[dict[str, Any]] = []
        prefix = f"{what}: " if what else ""
        super().__init__(f"{prefix}expected {expected}; observed {observed}")


def expect(condition: object, *, expected: str, observed: object, what: str | None = None) -> None:
    """Raise ClauseFailure unless ``condition`` holds."""
    __tracebackhide__ = True
    if not condition:
        raise ClauseFailure(expected=expected, observed=observed, what=what)


def _describe(response: httpx.Response) -> str:
    request = response.request
    body = response.text[:_BODY_EXCERPT].replace("\n", " ")
    return f"{request.method} {request.url.path} answered {response.status_code} {body!r}".rstrip()


def expect_status(response: httpx.Response, status: int | Collection[int], what: str = "") -> None:
    """Raise ClauseFailure unless the response's status is ``status`` (or one of them)."""
    __tracebackhide__ = True
    allowed = {status} if isinstance(status, int) else set(status)
    if response.status_code not in allowed:
        wanted = " or ".join(str(s) for s in sorted(allowed))
        raise ClauseFailure(expected=f"status {wanted}", observed=_describe(response), what=what or None)
