"""Locust load profiles for the Akol auth API: ``locust -f load/locustfile.py <Profile>``.

Public entry points are the locustfiles (``locustfile.py``, ``stepfile.py``) and the profile
modules; everything in ``_*.py`` is private plumbing.
"""
