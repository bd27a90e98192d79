"""Locust load profiles for the Akol auth API: ``akol-load <Profile>`` (= ``locust -f load/locustfile.py``).

Public entry points are the locustfiles (``locustfile.py``, ``stepfile.py``), the profile
modules and the ``akol-load`` console script (``cli.py``); everything in ``_*.py`` is private plumbing.
"""
