#!/usr/bin/env python3
"""Stop this workstation once nobody has used it for a while; log why it stops, or why not.

Runs on the instance (systemd unit ``spiral-idle.service``), outside the workstation container,
as root so it can see every process and socket. Once a minute it observes the machine, asks
``idle_decide.decide`` and, when told to, powers off: the instance was launched with
``InstanceInitiatedShutdownBehavior=stop``, so power-off means *stopped*, home volume intact,
and the agent needs no AWS permission at all.

    python3 idle_agent.py --config /etc/spiral/idle-agent.json [--once]

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

import idle_decide as rules  # the sibling file: python puts this script's folder on sys.path

DEFAULTS = {
    "idle_minutes": 60,
    "cpu_threshold": 10,
    "gpu_threshold": 10,
    "interval_seconds": 60,
    "jupyter_url": "http://127.0.0.1:8888",
    "jupyter_token_file": "/etc/spiral/jupyter-token",
    "lease_file": "/var/lib/spiral/lease.json",
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


def established(proc: Path = Path("/proc")) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for name in ("tcp", "tcp6"):
        path = proc / "net" / name
        if path.exists():
            found += rules.established_sockets(path.read_text())
    return found


def jupyter(config: dict, now: float) -> tuple[float | None, str | None]:
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


def gpu() -> float | None:
    if shutil.which("nvidia-smi") is None:
        return None
    query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
    done = subprocess.run(query, capture_output=True, text=True, timeout=30, check=False)
    return rules.gpu_percent(done.stdout) if done.returncode == 0 else None


def observe(config: dict, cpu_before: tuple[int, int]) -> tuple[rules.Observation, tuple[int, int]]:
    now = time.time()
    cpu_now = rules.cpu_times(Path("/proc/stat").read_text())
    sockets = established()
    open_inodes = {inode for _, inode in sockets}
    commands = processes()
    vscode = sum(1 for pid, cmd in commands.items() if rules.is_vscode_server(cmd) and socket_inodes(pid) & open_inodes)
    lease = Path(config["lease_file"])
    last_kernel, note = jupyter(config, now)
    observation = rules.Observation(
        now=now,
        ssm_sessions=sum(1 for cmd in commands.values() if rules.is_ssm_session(cmd)),
        ssh_sessions=rules.ssh_sessions(sockets),
        vscode_connections=vscode,
        jupyter_last_activity=last_kernel,
        cpu_percent=rules.cpu_percent(cpu_before, cpu_now),
        gpu_percent=gpu(),
        lease_until=rules.lease_until(lease.read_text() if lease.exists() else None),
        notes=(note,) if note else (),
    )
    return observation, cpu_now


def load_config(path: str | None) -> dict:
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
    )
    last_active = time.time()
    cpu = rules.cpu_times(Path("/proc/stat").read_text())
    while True:
        time.sleep(1 if args.once else config["interval_seconds"])
        observation, cpu = observe(config, cpu)
        decision = rules.decide(last_active, observation, policy)
        last_active = decision.last_active
        print(decision.reason, flush=True)
        if args.once:
            return 0
        if decision.stop:
            return subprocess.run(config["stop_command"], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
