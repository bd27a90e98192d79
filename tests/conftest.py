import pytest

pytest_plugins = ["pytester"]


def pytest_collection_finish(session: pytest.Session) -> None:
    # Black-box runs mostly wait (TOTP steps, rate windows): they start now and run beside the rest.
    if any(item.nodeid.startswith("tests/test_blackbox.py::") for item in session.items):
        from tests.test_blackbox import start_early

        start_early(session.items, session.config._tmp_path_factory.mktemp)  # type: ignore[attr-defined]
