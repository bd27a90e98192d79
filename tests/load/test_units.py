"""The load package's pure parts: accounts, partitioning, answer validation."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from akol_conformance.client import Account
from akol_load._api import THROTTLED_SUFFIX, login_answer, throttled_name, token_pair
from akol_load._pool import AccountPool, AccountsError, account_key, partition, read_accounts_csv, read_pats


def test_accounts_csv_reads_rows_skips_header_and_keeps_totp(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("email,password,totp_secret\na@x.io,pw1\n\n# comment\nb@x.io,pw2,JBSWY3DPEHPK3PXP\n")
    accounts = read_accounts_csv(path)
    assert [(a.email, a.password, a.totp_secret) for a in accounts] == [
        ("a@x.io", "pw1", None), ("b@x.io", "pw2", "JBSWY3DPEHPK3PXP")]


def test_accounts_csv_errors_name_the_line_but_not_the_values(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a@x.io,secret-pw\nb@x.io\n")
    with pytest.raises(AccountsError, match="line 2: expected email,password") as error:
        read_accounts_csv(path)
    assert "secret-pw" not in str(error.value)


def test_accounts_csv_rejects_a_repeated_account(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a@x.io,pw\nA@x.io,pw\n")
    with pytest.raises(AccountsError, match="appears twice"):
        read_accounts_csv(path)


def test_missing_files_say_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(AccountsError, match="--accounts-file .*cannot read"):
        read_accounts_csv(tmp_path / "nope.csv")
    with pytest.raises(AccountsError, match="--pats-file .*one personal access token per line"):
        read_pats(None, tmp_path / "nope.txt")


def test_pats_come_from_the_option_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pats.txt"
    path.write_text("pat-two\n\n# note\npat-three\n")
    assert read_pats("pat-one", path) == ["pat-one", "pat-two", "pat-three"]


def test_partition_is_disjoint_and_complete() -> None:
    shares = partition(list(range(7)), 3)
    assert shares == [[0, 3, 6], [1, 4], [2, 5]]
    assert sorted(x for share in shares for x in share) == list(range(7))
    with pytest.raises(ValueError):
        partition([1], 0)


def _account(n: int) -> Account:
    return Account(id=None, email=f"user{n}@x.io", password="pw")


def test_pool_hands_each_account_out_once_then_says_how_to_fix() -> None:
    pool = AccountPool()
    pool.load([_account(1), _account(2)], [], None, "w1")
    first, second = pool.claim("w1#1", "RefreshUser"), pool.claim("w1#2", "RefreshUser")
    assert {first.email, second.email} == {"user1@x.io", "user2@x.io"}
    with pytest.raises(AccountsError, match=r"share \(w1\) is used up after 2 users: add rows"):
        pool.claim("w1#3", "RefreshUser")
    assert [c.account for c in pool.claims] == [account_key(first), account_key(second)]
    assert len(pool.unreported_claims()) == 2 and pool.unreported_claims() == []


def test_pool_provisions_once_its_share_runs_out_with_some_two_factor() -> None:
    made: list[bool] = []

    def provision(two_factor: bool) -> Account:
        made.append(two_factor)
        return _account(100 + len(made))

    pool = AccountPool()
    pool.load([], [], provision, "local")
    for n in range(8):
        pool.claim(f"local#{n}", "SessionUser")
    assert made.count(True) == 2 and len(made) == 8


def test_pats_are_shared_round_robin_and_missing_ones_are_explained() -> None:
    pool = AccountPool()
    pool.load([], ["p1", "p2"], None, "local")
    assert [pool.next_pat("PatUser") for _ in range(3)] == ["p1", "p2", "p1"]
    pool.load([], [], None, "local")
    with pytest.raises(AccountsError, match="--pat TOKEN or --pats-file FILE"):
        pool.next_pat("PatUser")


def test_account_key_hides_the_email_but_ignores_case() -> None:
    key = account_key(_account(1))
    assert "user1" not in key and key == account_key(Account(id=None, email="USER1@x.io", password="x"))


USER = {"id": "u1", "email": "a@x.io", "role": "USER", "plan": "STARTER"}
PAIR: dict[str, Any] = {"success": True, "data": {"user": USER, "token": "access-1", "refreshToken": "refresh-1"}}


def test_token_pair_accepts_a_full_answer_and_names_what_is_missing() -> None:
    check = token_pair(email="A@x.io")
    assert check(PAIR) is None
    assert check({"success": True, "data": {"token": "t"}}) == "expected data.refreshToken (a token pair)"
    assert check({"success": False}) == "expected success: true and a data object"
    other_user = {**PAIR, "data": {**PAIR["data"], "user": {**PAIR["data"]["user"], "email": "b@x.io"}}}
    assert check(other_user) == "expected data.user.email to be the login email"


def test_token_pair_after_refresh_demands_new_tokens_without_quoting_them() -> None:
    rotated = {"success": True, "data": {"token": "access-2", "refreshToken": "refresh-1"}}
    problem = token_pair(email=None, previous=("access-1", "refresh-1"))(rotated)
    assert problem is not None and "no rotation" in problem and "refresh-1" not in problem
    assert token_pair(email=None, previous=("access-0", "refresh-0"))(PAIR) is None


def test_login_answer_accepts_a_2fa_challenge_only_for_accounts_with_a_secret() -> None:
    challenge: dict[str, Any] = {"success": True, "data": {"requires2FA": True, "pendingToken": "pending"}}
    assert login_answer(email="a@x.io", has_totp=True)(challenge) is None
    assert "3rd CSV column" in str(login_answer(email="a@x.io", has_totp=False)(challenge))
    leaky = {"success": True, "data": {**challenge["data"], "token": "t"}}
    assert "no token before the second factor" in str(login_answer(email="a@x.io", has_totp=True)(leaky))


def test_throttled_names_fold_back_to_their_endpoint() -> None:
    name = throttled_name("POST /auth/login", 429)
    assert name == "POST /auth/login [429 throttled]"
    assert THROTTLED_SUFFIX.sub("", name) == "POST /auth/login"
