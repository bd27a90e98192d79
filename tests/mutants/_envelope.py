"""Reading and rewriting the fake's JSON envelope inside ASGI editors (HTTP-surface mutants)."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.mutants._asgi import Answer, Scope

__all__ = ["edit_data", "error_code", "replace_error", "request_header"]


def request_header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == wanted), None)


def _body(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def error_code(answer: Answer) -> str | None:
    """`error.code` of an error envelope, None for anything else."""
    body = _body(answer)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def error_body(code: str, message: str) -> bytes:
    """The fake's error envelope, as bytes."""
    return json.dumps({"success": False, "error": {"code": code, "message": message}}).encode()


def replace_error(answer: Answer, status: int, code: str, message: str) -> None:
    answer.status = status
    answer.body = error_body(code, message)


def edit_data(answer: Answer, edit: Callable[[dict[str, Any]], None]) -> None:
    """Apply `edit` to the `data` object of a success envelope (no-op for anything else)."""
    body = _body(answer)
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        edit(body["data"])
        answer.body = json.dumps(body).encode()
