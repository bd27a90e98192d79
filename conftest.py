"""Registers the conformance suite's options before pytest parses the command line.

pytest only knows the options of conftests it loads before parsing; with
`pytest --target URL` the URL hides conformance/ from that early discovery.
"""
from conformance._settings import pytest_addoption  # noqa: F401
