"""The lease: ``spiral keepalive --for 6h`` writes it, the idle-stop agent reads it, one format."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from spiralkit.cli import main
from spiralkit.workstation.idle import lease as leases


@pytest.fixture
def lease(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lease.json"
    monkeypatch.setenv("SPIRAL_LEASE_FILE", str(path))
    return path


def test_keepalive_writes_a_lease_the_agent_reads(lease: Path) -> None:
    assert main(["keepalive", "--for", "6h", "--reason", "train"]) == 0
    until = leases.until(lease.read_text())
    assert until == pytest.approx(time.time() + 6 * 3600, abs=5)


def test_keepalive_for_zero_ends_the_lease(lease: Path) -> None:
    assert main(["keepalive", "--for", "90m"]) == 0
    assert main(["keepalive", "--for", "0"]) == 0
    assert not lease.exists()


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        ("six hours", "write it like 6h"),
        ("4d", "longer than the 72h maximum"),
        ("", "not a duration"),
    ],
)
def test_keepalive_refuses_a_bad_duration(
    lease: Path, duration: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keepalive", "--for", duration]) == 2
    assert message in capsys.readouterr().err
    assert not lease.exists()


def test_keepalive_off_a_workstation_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SPIRAL_LEASE_FILE", str(tmp_path / "absent" / "lease.json"))
    assert main(["keepalive", "--for", "6h"]) == 2
    assert "works on a spiral workstation" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "seconds"), [("6h", 21600), ("90m", 5400), ("1d12h", 129600), ("0", 0), ("2H", 7200)])
def test_durations(text: str, seconds: int) -> None:
    assert leases.parse_duration(text) == seconds


@pytest.mark.parametrize("text", [None, "", "not json", '{"until": "yesterday"}', "[]"])
def test_an_unreadable_lease_is_no_lease(text: str | None) -> None:
    assert leases.until(text) is None
