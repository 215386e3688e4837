"""The idle-stop decisions (spiralkit.workstation.idle.decide) over recorded and constructed inputs.

Every activity kind keeps the machine up; a lease keeps it up until it expires; a machine with
none of them stops after the idle time and not before. The samples in tests/data/idle/ were
recorded on a real machine (see the README there).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spiralkit.workstation.idle import decide as rules

DATA = Path(__file__).parent / "data" / "idle"
HOUR = 3600.0
T0 = 1_780_000_000.0  # any fixed instant
POLICY = rules.Policy(idle_seconds=HOUR, cpu_threshold=10, gpu_threshold=10)

ACTIVITIES = {
    "1 SSM session opened": {"sessions": (rules.Session("SSM", T0 - 60),)},
    "2 SSH sessions opened": {"sessions": (rules.Session("SSH", T0 - 60), rules.Session("SSH", T0))},
    "1 VS Code client connection": {"vscode_connections": 1},
    "Jupyter kernel active": {"jupyter_last_activity": T0 - 60},
    "terminal input": {"terminal_input": T0 - 60},
    "CPU core 55%": {"cpu_percent": 55.0},
    "GPU 97%": {"gpu_percent": 97.0, "gpu_present": True},
    "GPU busy for all we know: nvidia-smi failed": {"gpu_present": True},
    "disk 40%": {"disk_percent": 40.0},
    "lease until": {"lease_until": T0 + HOUR},
}


def replay(observations: list[rules.Observation], started: float) -> list[rules.Decision]:
    """Run the agent's loop over recorded observations, as the agent would, minute by minute."""
    decisions, last_active = [], started
    for observation in observations:
        decision = rules.decide(last_active, observation, POLICY)
        decisions.append(decision)
        last_active = decision.last_active
    return decisions


def minutes(start: float, count: int, **signals: object) -> list[rules.Observation]:
    return [rules.Observation(now=start + 60 * i, **signals) for i in range(count)]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ACTIVITIES)
def test_each_activity_keeps_an_otherwise_idle_machine_up(kind: str) -> None:
    long_idle = T0 - 3 * HOUR
    quiet = rules.decide(long_idle, rules.Observation(now=T0), POLICY)
    busy = rules.decide(long_idle, rules.Observation(now=T0, **ACTIVITIES[kind]), POLICY)
    assert quiet.stop
    assert not busy.stop
    assert kind in busy.reason


@pytest.mark.parametrize("signal", ["cpu_percent", "gpu_percent", "disk_percent"])
def test_utilisation_below_the_threshold_is_idle(signal: str) -> None:
    decision = rules.decide(T0 - 2 * HOUR, rules.Observation(now=T0, **{signal: 9.9}), POLICY)
    assert decision.stop


def test_an_unused_machine_stops_after_the_idle_time_and_not_before() -> None:
    decisions = replay(minutes(T0 + 60, 70), started=T0)
    first_stop = next(i for i, d in enumerate(decisions) if d.stop)
    assert T0 + 60 * (first_stop + 1) == T0 + HOUR  # the first minute at which idle reached 60
    assert all(not d.stop for d in decisions[:first_stop])
    assert decisions[first_stop].reason.startswith("stop: idle 60 of 60 min")


def test_a_lease_keeps_it_up_until_it_expires_then_the_idle_time_runs() -> None:
    lease_end = T0 + 6 * HOUR
    decisions = replay(minutes(T0, 8 * 60, lease_until=lease_end), started=T0)
    first_stop = next(i for i, d in enumerate(decisions) if d.stop)
    assert T0 + 60 * first_stop == lease_end + HOUR
    assert "lease until" in decisions[0].reason


def test_a_session_resets_the_idle_clock() -> None:
    quiet, session = minutes(T0, 50), minutes(T0 + 50 * 60, 1, terminal_input=T0 + 50 * 60)
    after = minutes(T0 + 51 * 60, 70)
    decisions = replay(quiet + session + after, started=T0)
    first_stop = next(i for i, d in enumerate(decisions) if d.stop)
    assert first_stop == 50 + 60  # an hour after the session, not an hour after boot


def test_a_jupyter_kernel_counts_when_it_was_last_active_not_when_we_looked() -> None:
    recent = rules.Observation(now=T0, jupyter_last_activity=T0 - 30 * 60)
    stale = rules.Observation(now=T0, jupyter_last_activity=T0 - 61 * 60)
    assert not rules.decide(T0 - 5 * HOUR, recent, POLICY).stop
    assert rules.decide(T0 - 5 * HOUR, stale, POLICY).stop


def test_a_stop_logs_every_signal_it_saw() -> None:
    seen = rules.Observation(now=T0, cpu_percent=2.0, notes=("Jupyter not asked (refused)",))
    reason = rules.decide(T0 - 2 * HOUR, seen, POLICY).reason
    for evidence in (
        "SSM=0",
        "SSH=0",
        "VS Code=0",
        "terminal input none",
        "CPU 2%",
        "GPU none",
        "disk unknown",
        "lease none",
        "refused",
    ):
        assert evidence in reason


# --- parsers, over what a real machine printed -------------------------------------------------
def test_ssh_sessions_from_a_recorded_proc_net_tcp() -> None:
    established = rules.established_sockets((DATA / "proc_net_tcp.txt").read_text())
    assert [c.inode for c in rules.ssh_sessions(established)] == [63721]  # the server side of one connection to :22
    assert len(rules.ssh_sessions(established, port=8888)) == 1  # the Jupyter port forward
    assert len(established) == 4  # listening sockets are not connections
    assert all(c.loopback for c in established)  # all were over 127.0.0.1


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("0100007F", True),  # 127.0.0.1
        ("0200A8C0", False),  # 192.168.0.2
        ("00000000000000000000000001000000", True),  # ::1
        ("0000000000000000FFFF00000100007F", True),  # ::ffff:127.0.0.1
        ("0000000000000000FFFF00000A00000A", False),  # ::ffff:10.0.0.10
        ("B80D0120000000000000000001000000", False),  # 2001:db8::1
    ],
)
def test_a_peer_on_this_machine_is_loopback(address: str, loopback: bool) -> None:
    line = f"   1: 0100007F:1F90 {address}:D431 01 00000000:00000000 00:00000000 00000000 0 0 4242 1"
    assert rules.established_sockets(f"header\n{line}\n") == [rules.Connection(8080, 4242, loopback)]


def test_cpu_percent_is_the_busiest_core_from_recorded_proc_stat() -> None:
    before = rules.cpu_times((DATA / "proc_stat_cores_1.txt").read_text())
    after = rules.cpu_times((DATA / "proc_stat_cores_2.txt").read_text())
    assert len(before) == 2  # the aggregate `cpu` line is not a core
    assert rules.cpu_percent(before, after) == pytest.approx(100 * 204 / 205)  # cpu1
    assert rules.cpu_percent(after, after) is None


def test_one_busy_core_of_64_is_busy() -> None:
    idle_cores = [(0, 0)] * 63
    before, after = [*idle_cores, (0, 0)], [(1, 6000)] * 63 + [(6000, 6000)]
    assert rules.cpu_percent(before, after) == 100.0


def test_disk_percent_from_recorded_proc_diskstats() -> None:
    before = rules.disk_busy_ms((DATA / "proc_diskstats_1.txt").read_text())
    after = rules.disk_busy_ms((DATA / "proc_diskstats_2.txt").read_text())
    assert set(before) == {"vda"}  # loop and zram devices are not disks
    assert rules.disk_percent(before, after, seconds=1.0) == pytest.approx(46.0)  # 460 ms busy
    assert rules.disk_percent(before, after, seconds=0.1) == 100.0


@pytest.mark.parametrize(("output", "expected"), [("3\n87\n", 87.0), ("0\n", 0.0), ("[N/A]\n", None), ("", None)])
def test_gpu_percent_is_the_busiest_gpu(output: str, expected: float | None) -> None:
    assert rules.gpu_percent(output) == expected


def test_jupyter_last_activity_from_a_recorded_api_kernels_response() -> None:
    text = (DATA / "jupyter_kernels.json").read_text()
    latest = max(rules.parse_iso(k["last_activity"]) for k in json.loads(text))
    assert rules.jupyter_last_activity(text, now=T0) == latest
    busy = [dict(k, execution_state="busy") for k in json.loads(text)]
    assert rules.jupyter_last_activity(json.dumps(busy), now=T0) == T0
    assert rules.jupyter_last_activity("[]", now=T0) is None


@pytest.mark.parametrize(
    ("cmdline", "ssm", "vscode"),
    [
        ("/usr/bin/ssm-session-worker\0ana-0f1e\0i-0abc\0", True, False),
        ("/usr/bin/ssm-agent-worker\0", False, False),
        ("/home/spiral/.vscode-server/bin/3f2a/node\0--max-old-space-size=8192\0", False, True),
        ("/usr/lib/code-server/lib/node\0/usr/lib/code-server\0", False, True),  # code-server's own node
        ("/usr/bin/node\0/home/ana/code-server-notes/app.js\0", False, False),  # any other node
        ("/usr/bin/code-server\0--bind-addr\x000.0.0.0:8080\0", False, True),
        ("sh\0/root/.vscode-server/bin/3f2a/bin/code-server\0--start-server\0", False, False),  # its launcher
        ("/opt/my-code-server-backup\0", False, False),
        ("vim\0/home/ana/notes/code-server.md\0", False, False),
        ("python3\0-m\0ipykernel_launcher\0", False, False),
    ],
)
def test_process_kinds(cmdline: str, ssm: bool, vscode: bool) -> None:
    assert rules.is_ssm_session(cmdline) is ssm
    assert rules.is_vscode_server(cmdline) is vscode
