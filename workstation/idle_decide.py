"""The idle-stop agent's decisions: pure functions over what the agent observed.

Nothing here reads the machine, so every rule can be tested with recorded inputs. The agent
(``idle_agent.py``) gathers an ``Observation`` once a minute and asks ``decide`` whether to stop.
``spiral keepalive`` uses the lease functions, so the lease file has one format and one reader.

Standard library only, and Python 3.9 compatible: this file runs on the instance's own python3
(Amazon Linux 2023 ships 3.9), outside the workstation container.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

MAX_LEASE_SECONDS = 3 * 24 * 3600  # a weekend job; longer leases are how bills explode
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
TCP_ESTABLISHED = "01"


@dataclass(frozen=True)
class Policy:
    """When the machine counts as idle, from ``[tool.spiral.workstation]``."""

    idle_seconds: float = 3600.0
    cpu_threshold: float = 10.0  # percent of all cores, averaged over one interval
    gpu_threshold: float = 10.0  # percent, the busiest GPU


@dataclass(frozen=True)
class Observation:
    """Everything the agent saw at ``now`` (epoch seconds); None means "could not tell"."""

    now: float
    ssm_sessions: int = 0
    ssh_sessions: int = 0
    vscode_connections: int = 0
    jupyter_last_activity: float | None = None
    cpu_percent: float | None = None
    gpu_percent: float | None = None
    lease_until: float | None = None
    notes: Sequence[str] = field(default_factory=tuple)  # observer failures, logged as-is


@dataclass(frozen=True)
class Decision:
    stop: bool
    last_active: float
    reason: str


def active_now(obs: Observation, policy: Policy) -> list[str]:
    """What keeps the machine busy at this instant, in words for the log."""
    reasons = []
    for count, what in (
        (obs.ssm_sessions, "SSM session"),
        (obs.ssh_sessions, "SSH session"),
        (obs.vscode_connections, "VS Code server connection"),
    ):
        if count:
            reasons.append(f"{count} {what}{'s' if count > 1 else ''}")
    if obs.cpu_percent is not None and obs.cpu_percent >= policy.cpu_threshold:
        reasons.append(f"CPU {obs.cpu_percent:.0f}% >= {policy.cpu_threshold:g}%")
    if obs.gpu_percent is not None and obs.gpu_percent >= policy.gpu_threshold:
        reasons.append(f"GPU {obs.gpu_percent:.0f}% >= {policy.gpu_threshold:g}%")
    if obs.lease_until is not None and obs.lease_until > obs.now:
        reasons.append(f"lease until {iso(obs.lease_until)}")
    return reasons


def decide(last_active: float, obs: Observation, policy: Policy) -> Decision:
    """Stop once nothing has been active for ``policy.idle_seconds``; say why either way.

    ``last_active`` is the previous decision's (or the agent's start time, so a fresh boot gets
    a full idle period). A Jupyter kernel counts at the time it was last active, not at the time
    we looked; a lease counts as activity until it expires, so the idle clock starts then.
    """
    reasons = active_now(obs, policy)
    if reasons:
        last_active = max(last_active, obs.now)
    for moment, what in (
        (obs.jupyter_last_activity, "Jupyter kernel active"),
        (obs.lease_until, "lease ended"),
    ):
        if moment is not None and last_active < moment <= obs.now:
            last_active = moment
            reasons.append(f"{what} at {iso(moment)}")
    idle = max(0.0, obs.now - last_active)
    budget = f"idle {idle / 60:.0f} of {policy.idle_seconds / 60:g} min"
    if idle >= policy.idle_seconds:
        return Decision(True, last_active, f"stop: {budget}; {_quiet(obs)}")
    why = "; ".join(reasons) if reasons else "nothing active"
    return Decision(False, last_active, f"keep: {why}; {budget}")


def _quiet(obs: Observation) -> str:
    """The evidence for a stop: every signal, so a wrong stop can be traced to its input."""

    def pct(value: float | None) -> str:
        return "unknown" if value is None else f"{value:.0f}%"

    jupyter = "none" if obs.jupyter_last_activity is None else iso(obs.jupyter_last_activity)
    lease = "none" if obs.lease_until is None else f"expired {iso(obs.lease_until)}"
    parts = [
        f"sessions SSM={obs.ssm_sessions} SSH={obs.ssh_sessions} VS Code={obs.vscode_connections}",
        f"Jupyter last activity {jupyter}",
        f"CPU {pct(obs.cpu_percent)}",
        f"GPU {pct(obs.gpu_percent)}",
        f"lease {lease}",
    ]
    return ", ".join(list(parts) + list(obs.notes))


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """Jupyter's and the lease's timestamps (``2024-05-01T10:00:00.123456Z``) as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- the lease: ``spiral keepalive --for 6h`` writes it, the agent reads it ----------------------
def parse_duration(text: str) -> int:
    """``6h``, ``90m``, ``1d12h`` or ``0`` (end the lease) in seconds; ValueError says why not."""
    match = _DURATION.match(text.strip().lower())
    if text.strip() == "0":
        return 0
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration: write it like 6h, 90m or 1d12h")
    days, hours, minutes = (int(group or 0) for group in match.groups())
    seconds = days * 86400 + hours * 3600 + minutes * 60
    if seconds > MAX_LEASE_SECONDS:
        raise ValueError(f"{text} is longer than the {MAX_LEASE_SECONDS // 3600}h maximum lease")
    return seconds


def lease_text(until: float, by: str, reason: str = "") -> str:
    return json.dumps({"until": iso(until), "by": by, "reason": reason}) + "\n"


def lease_until(text: str | None) -> float | None:
    """The lease's expiry, or None when there is no lease file or it cannot be read."""
    if not text:
        return None
    try:
        return parse_iso(json.loads(text)["until"])
    except (ValueError, KeyError, TypeError):
        return None


# --- parsers of raw machine output, kept pure so recorded samples can test them ------------------
def established_sockets(proc_net_tcp: str) -> list[tuple[int, int]]:
    """``(local port, socket inode)`` of each ESTABLISHED connection in /proc/net/tcp{,6}."""
    result = []
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 9 and fields[3] == TCP_ESTABLISHED:
            result.append((int(fields[1].rsplit(":", 1)[1], 16), int(fields[9])))
    return result


def ssh_sessions(established: Iterable[tuple[int, int]], port: int = 22) -> int:
    return sum(1 for local_port, _ in established if local_port == port)


def cpu_times(proc_stat: str) -> tuple[int, int]:
    """``(busy, total)`` jiffies from the aggregate ``cpu`` line of /proc/stat.

    Busy is user, nice, system, irq and softirq; idle, iowait and steal (time the hypervisor
    took) are not work. Guest time is already inside user and nice, so it is not added again.
    """
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in proc_stat.splitlines()[0].split()[1:9])
    return (
        user + nice + system + irq + softirq,
        user + nice + system + idle + iowait + irq + softirq + steal,
    )


def cpu_percent(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    total = after[1] - before[1]
    return None if total <= 0 else 100.0 * (after[0] - before[0]) / total


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


VSCODE_MARKERS = (".vscode-server", "vscode-remote", ".cursor-server", "code-server")


def is_vscode_server(cmdline: str) -> bool:
    return any(marker in cmdline for marker in VSCODE_MARKERS)


def is_ssm_session(cmdline: str) -> bool:
    """One ``ssm-session-worker`` runs per Session Manager session, port forwards included."""
    return cmdline.split("\0", 1)[0].rsplit("/", 1)[-1] == "ssm-session-worker"
