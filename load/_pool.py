"""Accounts and PATs for the users: reading them, partitioning them, handing them out once each."""
from __future__ import annotations

import csv
import hashlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from akol_conformance.client import Account

T = TypeVar("T")
# Every 4th account a user provisions is a 2FA one, so SessionUser/LoginUser exercise verify-2fa.
TWO_FACTOR_EVERY = 4


class AccountsError(RuntimeError):
    """Accounts or PATs are missing or malformed; the message says how to fix it."""


def account_key(account: Account) -> str:
    """A stable, non-identifying name for an account in reports (its email never is written)."""
    return "acct-" + hashlib.sha256(account.email.strip().lower().encode()).hexdigest()[:12]


def read_accounts_csv(path: Path) -> list[Account]:
    """``email,password[,totp_secret]`` rows; a first row starting with ``email`` is a header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise AccountsError(f"--accounts-file {path}: cannot read it ({exc.strerror}); "
                            "pass a CSV of email,password[,totp_secret] rows") from None
    accounts: list[Account] = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() == "email":
            continue
        if len(cells) not in (2, 3) or not cells[0] or not cells[1]:
            raise AccountsError(f"--accounts-file {path}, line {number}: expected email,password[,totp_secret], "
                                f"got {len(cells)} cell(s) (values not shown)")
        totp = cells[2] if len(cells) == 3 and cells[2] else None
        accounts.append(Account(id=None, email=cells[0], password=cells[1], totp_secret=totp))
    if len({account_key(a) for a in accounts}) != len(accounts):
        raise AccountsError(f"--accounts-file {path}: an email appears twice; each row must be a distinct "
                            "account, or two users would share one refresh chain")
    return accounts


def read_pats(pat: str | None, pats_file: Path | None) -> list[str]:
    """``--pat`` plus the non-empty lines of ``--pats-file``."""
    pats = [pat] if pat else []
    if pats_file is not None:
        try:
            lines = pats_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AccountsError(f"--pats-file {pats_file}: cannot read it ({exc.strerror}); "
                                "pass a file with one personal access token per line") from None
        pats += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return pats


def partition(items: Sequence[T], parts: int) -> list[list[T]]:
    """Disjoint, near-equal shares, in the order Locust's dispatcher hands users to workers."""
    if parts < 1:
        raise ValueError(f"partition needs at least one part, got {parts}")
    return [list(items[index::parts]) for index in range(parts)]


@dataclass(frozen=True)
class Claim:
    user: str
    profile: str
    account: str


class AccountPool:
    """One process's share of accounts: each claim returns an account no other user ever gets."""

    def __init__(self) -> None:
        self._accounts: deque[Account] = deque()
        self._pats: list[str] = []
        self._provision: Callable[[bool], Account] | None = None
        self._claimed = 0
        self._pat_cursor = 0
        self.claims: list[Claim] = []
        self._reported = 0
        self.share_label = "local"

    def load(self, accounts: Sequence[Account], pats: Sequence[str],
             provision: Callable[[bool], Account] | None, share_label: str) -> None:
        """Replace this process's share; ``provision`` makes fresh accounts once the share runs out."""
        self._accounts = deque(accounts)
        self._pats = list(pats)
        self._provision = provision
        self.share_label = share_label

    def claim(self, user: str, profile: str) -> Account:
        if self._accounts:
            account = self._accounts.popleft()
        elif self._provision is not None:
            account = self._provision(self._claimed % TWO_FACTOR_EVERY == TWO_FACTOR_EVERY - 1)
        else:
            raise AccountsError(
                f"{profile} {user} needs an account of its own, but this process's share ({self.share_label}) "
                f"is used up after {self._claimed} users: add rows to --accounts-file or run fewer users")
        self._claimed += 1
        self.claims.append(Claim(user=user, profile=profile, account=account_key(account)))
        return account

    def next_pat(self, profile: str) -> str:
        """PATs have no refresh chain, so users may share them: round-robin."""
        if not self._pats:
            raise AccountsError(f"{profile} needs a personal access token: pass --pat TOKEN or "
                                "--pats-file FILE (or no --host, to provision them on the fake)")
        pat = self._pats[self._pat_cursor % len(self._pats)]
        self._pat_cursor += 1
        return pat

    def unreported_claims(self) -> list[Claim]:
        """Claims made since the last call: what a worker still has to tell the master."""
        fresh = self.claims[self._reported:]
        self._reported = len(self.claims)
        return fresh
