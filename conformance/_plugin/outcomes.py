"""The outcomes of a check besides passing: the target broke the clause, or it could not be judged.

``ClauseFailure``: the target answered and the answer breaks the clause (status ``failed``).
``Inconclusive``: the suite could not judge the clause (status ``error``, with a ``cause``):
never a verdict on the target. Any other exception inside a check is the suite's own fault
and is reported as inconclusive with cause ``suite``.

Never pass a token, password or secret as ``expected``/``observed``: describe it
("the old refresh token"). The plugin scrubs output anyway and attaches the test's
recorded exchanges as ``evidence``.
"""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

import httpx

__all__ = ["CAUSES", "ClauseFailure", "Inconclusive", "expect", "expect_status"]

# Why a clause could not be judged (conformance.json "cause"):
CAUSES = {
    "transport": "the network or the target dropped a request (reset, timeout, truncated answer)",
    "budget": "the run's --max-duration was spent before the clause was judged",
    "rate-limit": "the target kept answering 429 past the suite's wait-out bound",
    "prerequisite": "a step the check needs (a login, a provisioned account) did not succeed",
    "oversize": "an answer's body was larger than the suite reads (1 MiB), so it could not be read whole",
    "suite": "an error inside the suite itself",
    "aborted": "the run stopped before judging anything",
}

_BODY_EXCERPT = 300


class Inconclusive(Exception):
    """The clause cannot be judged from what happened: say why, and which of ``CAUSES`` it is."""

    def __init__(self, reason: str, *, cause: str = "suite") -> None:
        if cause not in CAUSES:
            raise ValueError(f"unknown cause {cause!r}; one of {', '.join(CAUSES)}")
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


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
