"""Stop this workstation once nobody has used it for a while; log why it stops, or why not.

Runs on the instance (systemd unit ``spiral-idle.service``), outside the workstation container,
as root so it can see every process and socket. Once a minute it observes the machine, asks
``decide.decide`` and, when told to, powers off: the instance was launched with
``InstanceInitiatedShutdownBehavior=stop``, so power-off means *stopped*, home volume intact,
and the agent needs no AWS permission at all.

    python3 -m spiral_idle.agent --config /etc/spiral/idle-agent.json [--once]

Standard library only, Python 3.9 compatible (the instance's own python3).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import decide as rules  # spiralkit.workstation.idle here, spiral_idle on the instance
from . import lease as leases

DEFAULTS = {
    "idle_minutes": 60,
    "cpu_threshold": 10,
    "gpu_threshold": 10,
    "disk_threshold": 10,
    "session_cap_minutes": 120,
    "max_hours": None,  # lifetime after each start unless a lease runs; None: no cap
    "interval_seconds": 60,
    "jupyter_url": "http://127.0.0.1:8888",
    "jupyter_token_file": "/etc/spiral/jupyter-token",
    "lease_file": leases.DEFAULT_PATH,
    "stop_command": ["systemctl", "poweroff"],
}


def processes(proc: Path = Path("/proc")) -> dict[int, str]:
    """Command line of every process, NUL-separated as the kernel gives it."""
    result = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                result[int(entry.name)] = (entry / "cmdline").read_text(errors="replace")
            except OSError:  # the process ended while we looked
                continue
    return result


def socket_inodes(pid: int, proc: Path = Path("/proc")) -> set[int]:
    inodes = set()
    try:
        for fd in (proc / str(pid) / "fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


def established(proc: Path = Path("/proc")) -> list[rules.Connection]:
    found: list[rules.Connection] = []
    for name in ("tcp", "tcp6"):
        path = proc / "net" / name
        if path.exists():
            found += rules.established_sockets(path.read_text())
    return found


def vscode_clients(connections: list[rules.Connection], commands: dict[int, str], proc: Path = Path("/proc")) -> int:
    """Connections from another machine held by a VS Code server: a client is attached."""
    remote = {connection.inode for connection in connections if not connection.loopback}
    return sum(len(socket_inodes(pid, proc) & remote) for pid, cmd in commands.items() if rules.is_vscode_server(cmd))


def terminal_input(pts: Path = Path("/dev/pts")) -> float | None:
    """When anyone last typed in a terminal: a tty's access time moves on input only, as ``w`` reads it."""
    times = []
    for entry in pts.glob("[0-9]*"):
        try:
            times.append(entry.stat().st_atime)
        except OSError:  # the session ended while we looked
            continue
    return max(times) if times else None


def jupyter(config: dict[str, Any], now: float) -> tuple[float | None, str | None]:
    """Latest kernel activity, or a note saying why Jupyter could not be asked."""
    token_file = Path(config["jupyter_token_file"])
    token = token_file.read_text().strip() if token_file.exists() else ""
    request = urllib.request.Request(
        config["jupyter_url"].rstrip("/") + "/api/kernels",
        headers={"Authorization": f"token {token}"} if token else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return rules.jupyter_last_activity(response.read().decode(), now), None
    except (OSError, ValueError) as error:
        return None, f"Jupyter not asked ({error})"


def gpu() -> tuple[float | None, bool, str | None]:
    """(busiest GPU, whether a GPU exists, a note when nvidia-smi failed)."""
    present = shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists()
    if not present:
        return None, False, None
    query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, True, f"nvidia-smi failed ({error})"
    percent = rules.gpu_percent(done.stdout) if done.returncode == 0 else None
    return percent, True, None if percent is not None else f"nvidia-smi failed ({done.stderr.strip()[:200]})"


class Observer:
    """What the agent remembers between looks: CPU and disk counters, and when each session opened."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.at = self.started = time.monotonic()
        self.cpu = rules.cpu_times(Path("/proc/stat").read_text())
        self.disk = rules.disk_busy_ms(Path("/proc/diskstats").read_text())
        self.opened: dict[tuple[str, int], float] = {}

    def observe(self) -> rules.Observation:
        now, wall = time.monotonic(), time.time()
        cpu = rules.cpu_times(Path("/proc/stat").read_text())
        disk = rules.disk_busy_ms(Path("/proc/diskstats").read_text())
        connections = established()
        commands = processes()
        keys = [("SSH", c.inode) for c in rules.ssh_sessions(connections)]
        keys += [("SSM", pid) for pid, cmd in commands.items() if rules.is_ssm_session(cmd)]
        self.opened = {key: self.opened.get(key, now) for key in keys}  # sessions seen for the first time open now
        last_kernel, jupyter_note = jupyter(self.config, wall)
        gpu_now, gpu_present, gpu_note = gpu()
        observation = rules.Observation(
            now=now,
            wall=wall,
            sessions=tuple(rules.Session(kind, opened) for (kind, _), opened in self.opened.items()),
            terminal_input=terminal_input(),
            vscode_connections=vscode_clients(connections, commands),
            jupyter_last_activity=last_kernel,
            cpu_percent=rules.cpu_percent(self.cpu, cpu),
            gpu_percent=gpu_now,
            gpu_present=gpu_present,
            disk_percent=rules.disk_percent(self.disk, disk, now - self.at),
            lease_until=leases.read(Path(self.config["lease_file"])),
            up_since=self.started,
            notes=tuple(note for note in (jupyter_note, gpu_note) if note),
        )
        self.at, self.cpu, self.disk = now, cpu, disk
        return observation


def load_config(path: str | None) -> dict[str, Any]:
    config = dict(DEFAULTS)
    if path:
        config.update(json.loads(Path(path).read_text()))
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="JSON settings (see DEFAULTS in this file)")
    parser.add_argument("--once", action="store_true", help="observe, print the decision, exit")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    policy = rules.Policy(
        idle_seconds=60.0 * config["idle_minutes"],
        cpu_threshold=float(config["cpu_threshold"]),
        gpu_threshold=float(config["gpu_threshold"]),
        disk_threshold=float(config["disk_threshold"]),
        session_cap_seconds=60.0 * config["session_cap_minutes"],
        max_up_seconds=None if config["max_hours"] is None else 3600.0 * config["max_hours"],
    )
    observer = Observer(config)
    last_active = observer.at  # monotonic: a wall-clock jump neither stops the machine nor keeps it up
    while True:
        time.sleep(1 if args.once else config["interval_seconds"])
        decision = rules.decide(last_active, observer.observe(), policy)
        last_active = decision.last_active
        print(decision.reason, flush=True)
        if args.once:
            return 0
        if decision.stop:
            return subprocess.run(config["stop_command"], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
