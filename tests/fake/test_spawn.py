"""spawn(): the served fake's output stays readable, and nothing of it is left on disk."""
from __future__ import annotations

import os
import sys

import pytest

from akol_fake.spawn import spawn


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_output_lives_in_a_file_without_a_name() -> None:
    """A parent that dies without stop() (killed CI job, Locust's exit) leaves no file behind."""
    with spawn() as fake:
        assert os.readlink(f"/proc/{fake.pid}/fd/1").endswith("(deleted)")
        assert fake.url in fake.output()
    assert fake.url in fake.output()  # kept after stop
