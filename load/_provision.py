"""What the load runs against: test-control provisioning and the server's clock."""
from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from akol_conformance.client import Account, Control, ControlError, detect_test_control
from akol_load._pool import TWO_FACTOR_EVERY, AccountsError

PROVISIONED_PATS = 4


def http_client(host: str) -> httpx.Client:
    return httpx.Client(base_url=host.rstrip("/"), timeout=10.0)


def control_over(http: httpx.Client) -> Control | None:
    """A test-control client over ``http``, or None when the target does not speak the protocol."""
    return Control(http) if detect_test_control(http) else None


def provision(control: Control, count: int) -> tuple[list[Account], list[str]]:
    """``count`` fresh accounts (every TWO_FACTOR_EVERY-th with 2FA) and PATs of plain ones."""
    try:
        accounts = [control.create_user(two_factor=index % TWO_FACTOR_EVERY == TWO_FACTOR_EVERY - 1)
                    for index in range(count)]
        owners = [a for a in accounts if a.totp_secret is None][:PROVISIONED_PATS] or \
            [control.create_user(two_factor=False)]
        return accounts, [control.create_pat(owner).token for owner in owners]
    except (ControlError, httpx.HTTPError, KeyError) as exc:
        raise AccountsError(f"provisioning accounts through the test-control protocol failed: {exc}") from None


def provisioner(host: str) -> Callable[[bool], Account]:
    """Makes one fresh account on demand (after this process's share ran out)."""
    control: Control | None = None

    def make(two_factor: bool) -> Account:
        nonlocal control
        if control is None:
            control = control_over(http_client(host))  # kept open: this process may need many
        if control is None:
            raise AccountsError(f"{host} stopped answering GET /__test__/clock; cannot provision more "
                                "accounts: pass --accounts-file with enough rows")
        try:
            return control.create_user(two_factor=two_factor)
        except (ControlError, httpx.HTTPError) as exc:
            raise AccountsError(f"provisioning an account on demand failed: {exc}") from None

    return make


class TargetClock:
    """Server time for TOTP codes and token expiry.

    With the test-control protocol it is the target's GET /__test__/clock, read again every
    RESYNC_SECONDS because tests move that clock; without it, local time.
    """

    RESYNC_SECONDS = 5.0

    def __init__(self) -> None:
        self._offset: float | None = None
        self._controlled = False
        self._read_at = 0.0

    def now(self, host: str) -> float:
        stale = self._controlled and time.monotonic() - self._read_at > self.RESYNC_SECONDS
        if self._offset is None or stale:
            self.resync(host)
        return time.time() + (self._offset or 0.0)

    def resync(self, host: str) -> None:
        """Read the server's clock now (once only, when the target has no test clock)."""
        if self._offset is not None and not self._controlled:
            return
        self._read_at = time.monotonic()  # first: the other users keep the old offset meanwhile
        with http_client(host) as http:
            control = control_over(http)
            self._controlled = control is not None
            self._offset = control.now() - time.time() if control is not None else 0.0
