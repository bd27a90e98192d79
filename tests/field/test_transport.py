"""FieldTransport over real sockets: what it sends again, what it never does, and bounded reads."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from akol_conformance._plugin.outcomes import Inconclusive
from akol_conformance._plugin.transport import BODY_LIMIT, FieldTransport, TruncatedResponse, body_size, resendable
from tests.field._proxy import proxy
from tests.plugin.conftest import serve

BIG = 5 * BODY_LIMIT


def counting_app(seen: Counter[str]) -> Starlette:
    async def count(request: Request) -> Response:
        seen[request.method] += 1
        return JSONResponse({"seen": seen[request.method]})

    async def big(request: Request) -> Response:
        return Response(b"x" * BIG, media_type="application/json")

    async def chunked(request: Request) -> Response:
        async def pieces() -> Iterator[bytes]:  # type: ignore[misc]
            for _ in range(BIG // 65536):
                yield b"y" * 65536

        return StreamingResponse(pieces(), media_type="application/json")

    return Starlette(routes=[Route("/count", count, methods=["GET", "POST"]), Route("/big", big),
                             Route("/chunked", chunked)])


@pytest.fixture
def upstream() -> Iterator[tuple[str, Counter[str]]]:
    seen: Counter[str] = Counter()
    with serve(counting_app(seen)) as url:
        yield url, seen


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, transport=FieldTransport(), timeout=10)


def test_a_get_whose_answer_was_lost_is_sent_again(upstream: tuple[str, Counter[str]]) -> None:
    url, seen = upstream
    with proxy(url, script=["answer-lost"]) as cutting, client(cutting.url) as http:
        response = http.get("/count")
    assert response.status_code == 200 and response.json() == {"seen": 2}
    assert seen["GET"] == 2 and cutting.cuts == {"answer-lost": 1}


def test_a_get_whose_answer_was_cut_is_sent_again(upstream: tuple[str, Counter[str]]) -> None:
    url, seen = upstream
    with proxy(url, script=["truncated", "truncated"]) as cutting, client(cutting.url) as http:
        assert http.get("/count").json() == {"seen": 3}


def test_a_post_the_server_may_have_processed_is_never_sent_again(upstream: tuple[str, Counter[str]]) -> None:
    """The server processed it, the answer was lost: a second POST would act twice (a refresh
    rotating twice); the fault goes up to the plugin, which reruns the whole test."""
    url, seen = upstream
    transport = FieldTransport()
    with proxy(url, script=["answer-lost"]) as cutting, \
            httpx.Client(base_url=cutting.url, transport=transport, timeout=10) as http:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            http.post("/count", json={})
        assert seen["POST"] == 1 and transport.resent == 0
        assert http.post("/count", json={}).json() == {"seen": 2}


def test_faults_are_resent_a_bounded_number_of_times(upstream: tuple[str, Counter[str]]) -> None:
    url, seen = upstream
    transport = FieldTransport(attempts=3)
    with proxy(url, script=["answer-lost"] * 3) as cutting, \
            httpx.Client(base_url=cutting.url, transport=transport, timeout=10) as http:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            http.get("/count")
    assert seen["GET"] == 3 and transport.resent == 2


@pytest.mark.parametrize(("events", "method", "safe"), [
    (["connection.connect_tcp.started", "connection.connect_tcp.failed"], "POST", True),
    (["http11.send_request_headers.started", "http11.send_request_headers.failed"], "POST", True),
    (["http11.send_request_body.started", "http11.send_request_body.failed",
      "http11.receive_response_headers.started"], "POST", True),
    (["http11.send_request_body.complete", "http11.receive_response_headers.started"], "POST", False),
    (["http11.send_request_body.complete", "http11.receive_response_headers.started"], "GET", True),
])
def test_resendable_when_the_request_never_arrived_whole_or_changes_nothing(
        events: list[str], method: str, safe: bool) -> None:
    assert resendable(httpx.Request(method, "http://x/"), events) is safe


@pytest.mark.parametrize("path", ["/big", "/chunked"])
def test_bodies_are_read_up_to_the_limit_and_their_true_size_is_kept(
        upstream: tuple[str, Counter[str]], path: str) -> None:
    url, _ = upstream
    with client(url) as http:
        response = http.get(path)
    assert isinstance(response, TruncatedResponse) and len(response.content) == BODY_LIMIT
    size = body_size(response)
    assert size.truncated and (size.size == BIG if path == "/big" else size.size > BODY_LIMIT)
    with pytest.raises(Inconclusive, match=f"answered 200 with a body of .* bytes; the suite reads at most "
                                           f"{BODY_LIMIT:,} bytes") as caught:
        response.json()
    assert caught.value.cause == "oversize"


def test_small_bodies_are_whole(upstream: tuple[str, Counter[str]]) -> None:
    url, _ = upstream
    with client(url) as http:
        response = http.get("/count")
    assert type(response) is httpx.Response and body_size(response).size == len(response.content)
    assert not body_size(response).truncated
