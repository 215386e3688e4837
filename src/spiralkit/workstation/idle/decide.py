"""The idle-stop agent's decisions: pure functions over what the agent observed.

Nothing here reads the machine, so every rule can be tested with recorded inputs. The agent
(``agent.py``) gathers an ``Observation`` once a minute and asks ``decide`` whether to stop.
The lease file's format and its reader are in ``lease.py``.

Standard library only, and Python 3.9 compatible: this file runs on the instance's own python3
(Amazon Linux 2023 ships 3.9), outside the workstation container.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple

TCP_ESTABLISHED = "01"


@dataclass(frozen=True)
class Policy:
    """When the machine counts as idle, from ``[tool.spiral.workstation]``."""

    idle_seconds: float = 3600.0
    cpu_threshold: float = 10.0  # percent of the busiest core: one thread on 64 vCPUs is 1.6% of all of them
    gpu_threshold: float = 10.0  # percent, the busiest GPU
    disk_threshold: float = 10.0  # percent of the interval the busiest disk was doing I/O (iostat's %util)
    session_cap_seconds: float = 2 * 3600.0  # how long a session nobody types in still counts, once opened
    # The longest the machine runs after a start, busy or not, unless a lease (`spiral keepalive`) says
    # longer: a forgotten loop or a notebook left polling must not keep a GPU box up for weeks. None: no cap.
    max_up_seconds: float | None = None


@dataclass(frozen=True)
class Session:
    """An SSH connection or an SSM session; ``opened`` on the agent's monotonic clock."""

    kind: str  # "SSH" or "SSM"
    opened: float


@dataclass(frozen=True)
class Observation:
    """Everything the agent saw; None means "could not tell".

    ``now`` is the agent's monotonic clock, which a wall-clock jump (NTP, a resumed instance) cannot move;
    ``wall`` is the wall clock at the same instant, for the epoch times others report (Jupyter, the lease,
    terminal input). None: both clocks are the same (tests).
    """

    now: float
    wall: float | None = None
    sessions: Sequence[Session] = ()
    terminal_input: float | None = None  # epoch of the latest keystroke in any terminal (tty atime)
    vscode_connections: int = 0
    jupyter_last_activity: float | None = None
    cpu_percent: float | None = None  # the busiest core
    gpu_percent: float | None = None
    gpu_present: bool = False  # a GPU exists; with gpu_percent None, nvidia-smi failed
    disk_percent: float | None = None  # the busiest disk
    lease_until: float | None = None  # already capped by :func:`lease.until`
    up_since: float | None = None  # monotonic: when the agent started, i.e. since the machine's last start
    notes: Sequence[str] = field(default_factory=tuple)  # observer failures, logged as-is

    def monotonic(self, epoch: float) -> float:
        """An epoch time from the wall clock, as a moment on the monotonic clock (never in the future)."""
        wall = self.now if self.wall is None else self.wall
        return self.now - max(0.0, wall - epoch)


@dataclass(frozen=True)
class Decision:
    stop: bool
    last_active: float
    reason: str


def active_now(obs: Observation, policy: Policy) -> list[str]:
    """What keeps the machine busy at this instant, in words for the log."""
    reasons = []
    for kind in ("SSH", "SSM"):
        recent = [s for s in obs.sessions if s.kind == kind and obs.now - s.opened < policy.session_cap_seconds]
        if recent:
            cap = policy.session_cap_seconds / 60
            reasons.append(f"{len(recent)} {kind} session{'s' if len(recent) > 1 else ''} opened < {cap:g} min ago")
    if obs.vscode_connections:
        reasons.append(f"{obs.vscode_connections} VS Code client connection{'s' if obs.vscode_connections > 1 else ''}")
    for value, threshold, what in (
        (obs.cpu_percent, policy.cpu_threshold, "CPU core"),
        (obs.gpu_percent, policy.gpu_threshold, "GPU"),
        (obs.disk_percent, policy.disk_threshold, "disk"),
    ):
        if value is not None and value >= threshold:
            reasons.append(f"{what} {value:.0f}% >= {threshold:g}%")
    if obs.gpu_present and obs.gpu_percent is None:
        reasons.append("GPU busy for all we know: nvidia-smi failed")
    if obs.lease_until is not None and obs.monotonic(obs.lease_until) >= obs.now:
        reasons.append(f"lease until {iso(obs.lease_until)}")
    return reasons


def decide(last_active: float, obs: Observation, policy: Policy) -> Decision:
    """Stop once nothing has been active for ``policy.idle_seconds``; say why either way.

    ``last_active`` (monotonic) is the previous decision's, or the agent's start, so a fresh boot gets a
    full idle period. Jupyter kernels and terminal input count at the time they happened, not at the
    time we looked; a lease counts until it expires, so the idle clock starts then.
    """
    if (overdue := _past_lifetime(obs, policy)) is not None:
        return Decision(True, last_active, overdue)
    reasons = active_now(obs, policy)
    if reasons:
        last_active = max(last_active, obs.now)
    for epoch, what in (
        (obs.jupyter_last_activity, "Jupyter kernel active"),
        (obs.terminal_input, "terminal input"),
        (obs.lease_until, "lease ended"),
    ):
        if epoch is not None and last_active < obs.monotonic(epoch) <= obs.now:
            last_active = obs.monotonic(epoch)
            reasons.append(f"{what} at {iso(epoch)}")
    idle = max(0.0, obs.now - last_active)
    budget = f"idle {idle / 60:.0f} of {policy.idle_seconds / 60:g} min"
    if idle >= policy.idle_seconds:
        return Decision(True, last_active, f"stop: {budget}; {_quiet(obs)}")
    why = "; ".join(reasons) if reasons else "nothing active"
    return Decision(False, last_active, f"keep: {why}; {budget}")


def _past_lifetime(obs: Observation, policy: Policy) -> str | None:
    """Why the machine stops although it may be busy: up past its lifetime, and no lease runs now."""
    if policy.max_up_seconds is None or obs.up_since is None:
        return None
    up = obs.now - obs.up_since
    leased = obs.lease_until is not None and obs.monotonic(obs.lease_until) >= obs.now
    if up < policy.max_up_seconds or leased:
        return None
    return (
        f"stop: up {up / 3600:.1f} h, past the {policy.max_up_seconds / 3600:g} h lifetime with no lease "
        "(`spiral keepalive --for 6h` renews it); the home volume stays"
    )


def _quiet(obs: Observation) -> str:
    """The evidence for a stop: every signal, so a wrong stop can be traced to its input."""

    def pct(value: float | None) -> str:
        return "unknown" if value is None else f"{value:.0f}%"

    def when(epoch: float | None) -> str:
        return "none" if epoch is None else iso(epoch)

    kinds = [s.kind for s in obs.sessions]
    parts = [
        f"sessions SSM={kinds.count('SSM')} SSH={kinds.count('SSH')} VS Code={obs.vscode_connections}",
        f"terminal input {when(obs.terminal_input)}",
        f"Jupyter last activity {when(obs.jupyter_last_activity)}",
        f"CPU {pct(obs.cpu_percent)}",
        f"GPU {pct(obs.gpu_percent) if obs.gpu_present or obs.gpu_percent is not None else 'none'}",
        f"disk {pct(obs.disk_percent)}",
        f"lease {'none' if obs.lease_until is None else 'expired ' + iso(obs.lease_until)}",
    ]
    return ", ".join(list(parts) + list(obs.notes))


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """Jupyter's and the lease's timestamps (``2024-05-01T10:00:00.123456Z``) as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- parsers of raw machine output, kept pure so recorded samples can test them ------------------
class Connection(NamedTuple):
    """One ESTABLISHED TCP connection from /proc/net/tcp{,6}."""

    local_port: int
    inode: int
    loopback: bool  # the peer is this machine: a tunnel or a local process, not a client out there


def established_sockets(proc_net_tcp: str) -> list[Connection]:
    """Each ESTABLISHED connection in /proc/net/tcp{,6}; listening sockets are not connections."""
    result = []
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 9 and fields[3] == TCP_ESTABLISHED:
            port = int(fields[1].rsplit(":", 1)[1], 16)
            result.append(Connection(port, int(fields[9]), _loopback(fields[2].rsplit(":", 1)[0])))
    return result


def _loopback(hex_address: str) -> bool:
    """The kernel prints addresses as 32-bit words in host (little-endian) order."""
    raw = b"".join(bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8))
    address = ipaddress.ip_address(raw)
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def ssh_sessions(established: Iterable[Connection], port: int = 22) -> list[Connection]:
    return [connection for connection in established if connection.local_port == port]


def cpu_times(proc_stat: str) -> list[tuple[int, int]]:
    """``(busy, total)`` jiffies of each core (the ``cpuN`` lines of /proc/stat).

    Busy is user, nice, system, irq and softirq; idle, iowait and steal (time the hypervisor
    took) are not work. Guest time is already inside user and nice, so it is not added again.
    """
    cores = []
    for line in proc_stat.splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in values[:8])
            busy = user + nice + system + irq + softirq
            cores.append((busy, busy + idle + iowait + steal))
    return cores


def cpu_percent(before: Sequence[tuple[int, int]], after: Sequence[tuple[int, int]]) -> float | None:
    """The busiest core's share of the interval: one busy thread counts however many cores are idle."""
    shares = [
        100.0 * (a[0] - b[0]) / (a[1] - b[1]) for b, a in zip(before, after) if a[1] > b[1]
    ]  # a core taken offline (or none at all) has no share
    return max(shares) if shares else None


def disk_busy_ms(proc_diskstats: str) -> dict[str, int]:
    """Milliseconds each disk has spent doing I/O (field 13 of /proc/diskstats); loop and RAM disks skipped."""
    result = {}
    for line in proc_diskstats.splitlines():
        fields = line.split()
        if len(fields) >= 13 and not fields[2].startswith(("loop", "ram", "zram")):
            result[fields[2]] = int(fields[12])
    return result


def disk_percent(before: dict[str, int], after: dict[str, int], seconds: float) -> float | None:
    """The busiest disk's share of ``seconds`` spent doing I/O (iostat's %util)."""
    shares = [min(100.0, (after[name] - before[name]) / (10.0 * seconds)) for name in after if name in before]
    return max(shares) if shares and seconds > 0 else None


def gpu_percent(nvidia_smi_csv: str) -> float | None:
    """The busiest GPU, from ``nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader``."""
    values = [float(v) for v in nvidia_smi_csv.split() if v.replace(".", "", 1).isdigit()]
    return max(values) if values else None


def jupyter_last_activity(kernels_json: str, now: float) -> float | None:
    """Latest kernel activity from Jupyter's ``/api/kernels``; a busy kernel is active now."""
    times = []
    for kernel in json.loads(kernels_json):
        if kernel.get("execution_state") == "busy":
            times.append(now)
        elif kernel.get("last_activity"):
            times.append(parse_iso(kernel["last_activity"]))
    return max(times) if times else None


# The programs that serve VS Code clients, by exact name: a path merely containing "code-server" is not one.
VSCODE_PROGRAMS = ("code-server", "openvscode-server", "code-tunnel")
# Folders (whole path components) whose node runs a VS Code server: Remote-SSH's, Cursor's, code-server's own.
VSCODE_HOMES = (".vscode-server", ".vscode-server-insiders", ".cursor-server", "code-server", "openvscode-server")


def is_vscode_server(cmdline: str) -> bool:
    """The program itself (not an argument) is a VS Code server: by name, or node inside a server's home."""
    parts = cmdline.split("\0", 1)[0].split("/")
    return parts[-1] in VSCODE_PROGRAMS or (parts[-1] == "node" and any(part in VSCODE_HOMES for part in parts))


def is_ssm_session(cmdline: str) -> bool:
    """One ``ssm-session-worker`` runs per Session Manager session, port forwards included."""
    return cmdline.split("\0", 1)[0].rsplit("/", 1)[-1] == "ssm-session-worker"
