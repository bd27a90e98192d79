import pytest

from tests import _early

pytest_plugins = ["pytester"]


def pytest_collection_finish(session: pytest.Session) -> None:
    # Runs that mostly wait (black-box TOTP steps, rate windows) start now, beside the rest.
    if not session.config.option.collectonly:
        _early.start(session.items, session.config._tmp_path_factory.mktemp)  # type: ignore[attr-defined]
