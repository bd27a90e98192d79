"""--processes 2 against a real --host with an accounts file: no account is used by two users."""
from __future__ import annotations

import csv
from pathlib import Path

import httpx

from akol_conformance.client import Control
from akol_load._fake import FakeServer
from akol_load._pool import account_key
from tests.load._locust import LocustRun, headless

USERS = 6


def test_two_worker_processes_split_the_accounts(served_fake: FakeServer, tmp_path: Path) -> None:
    with httpx.Client(base_url=served_fake.url, timeout=10) as http:
        control = Control(http)
        accounts = [control.create_user(two_factor=index % 3 == 2) for index in range(USERS)]
    accounts_file = tmp_path / "accounts.csv"
    with accounts_file.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "password", "totp_secret"])
        writer.writerows([a.email, a.password, a.totp_secret or ""] for a in accounts)

    run = LocustRun(tmp_path / "run", *headless("RefreshUser", "--processes", "2", "--host", served_fake.url,
                                                "--accounts-file", str(accounts_file), "--replay-every", "3",
                                                users=USERS, seconds=4)).finish()

    assert run.returncode == 0, run.output[-3000:]
    summary = run.summary
    assert summary["processes"] == 2 and summary["target"]["autoStartedFake"] is False
    claims = summary["accounts"]["assignments"]
    assert len(claims) == USERS
    assert {c["user"].split("#")[0] for c in claims} == {"w0", "w1"}, "both workers ran users"
    assert len({c["user"] for c in claims}) == USERS
    assert sorted(c["account"] for c in claims) == sorted(account_key(a) for a in accounts), \
        "each account of the file went to exactly one user"
    assert summary["accounts"]["shared"] == []
    endpoints = summary["endpoints"]
    assert endpoints["POST /auth/refresh"]["requests"] > 0
    assert endpoints["POST /auth/refresh [replay]"]["requests"] > 0
    assert summary["totals"]["failures"] == 0, summary["errors"]


def test_more_users_than_accounts_fails_with_a_fix(served_fake: FakeServer, tmp_path: Path) -> None:
    with httpx.Client(base_url=served_fake.url, timeout=10) as http:
        account = Control(http).create_user()
    accounts_file = tmp_path / "accounts.csv"
    accounts_file.write_text(f"{account.email},{account.password}\n")

    run = LocustRun(tmp_path / "run", *headless("LoginUser", "--host", served_fake.url,
                                                "--accounts-file", str(accounts_file), users=2, seconds=1)).finish()

    assert run.returncode != 0
    assert "add rows to --accounts-file or run fewer users" in run.output
    assert account.password not in run.output
    assert [c["account"] for c in run.summary["accounts"]["assignments"]] == [account_key(account)]
