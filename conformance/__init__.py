"""The Akol conformance suite: clause tests (test_<family>.py) and the pytest plugin that runs
them (conftest.py, with its logic in the private _*.py modules). See docs/ARCHITECTURE.md §2."""
