"""The instance's user-data: a cloud-config that installs Docker, the SSM agent and the ECR
credential helper, writes spiralkit's host files (``workstation/`` and the idle agent's package),
and starts the workstation container and the idle-stop agent as systemd units, so both come back
after every stop/start.

It is written as JSON (a subset of YAML that cloud-init reads) from a dict, so no file content can
break the YAML, and gzip-compressed, which cloud-init detects: the host files alone are near
EC2's 16 KiB user-data limit.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from typing import Any

from spiralkit.workstation import host
from spiralkit.workstation.settings import Settings

HEADER = "#cloud-config\n"
JUPYTER_TOKEN = "/etc/spiral/jupyter-token"
# The idle agent's package on the instance; spiral-idle.service runs `python3 -m spiral_idle.agent` from it.
IDLE_PACKAGE = "/opt/spiral/spiral_idle"
HOST_FILES = (  # (file in workstation/, path on the instance, mode)
    ("start.sh", "/opt/spiral/start.sh", "0755"),
    ("spiral-workstation.service", "/etc/systemd/system/spiral-workstation.service", "0644"),
    ("spiral-idle.service", "/etc/systemd/system/spiral-idle.service", "0644"),
)


@dataclass(frozen=True)
class Launch:
    """What ``up`` found or made before launching: the values the instance needs to know."""

    image: str  # <registry>/<repository>@sha256:<digest>
    home_volume: str
    ssh_public_key: str
    jupyter_token: str


def cloud_config(settings: Settings, launch: Launch) -> dict[str, Any]:
    registry = launch.image.split("/", 1)[0]
    env = {
        "SPIRAL_HOME_VOLUME": launch.home_volume,
        "SPIRAL_IMAGE": launch.image,
        "SPIRAL_GPU": "true" if settings.gpu else "false",
        # On the box, AWS says the caller is the instance's role session (.../spiral-ws-<project>-<owner>/i-...):
        # the owner's namespace is set here, the one their instance profile may write.
        "SPIRAL_NAMESPACE": f"user.{settings.owner}",
        "AWS_DEFAULT_REGION": settings.region,
    }
    agent = {
        "idle_minutes": settings.idle_minutes,
        "max_hours": settings.max_hours,
        "cpu_threshold": settings.cpu_threshold,
        "gpu_threshold": settings.gpu_threshold,
        "jupyter_token_file": JUPYTER_TOKEN,
    }
    files = [_file(f"{IDLE_PACKAGE}/{name}", host.idle_source(name), "0644") for name in host.IDLE_MODULES]
    files += [_file(path, host.read(name), mode) for name, path, mode in HOST_FILES] + [
        _file("/etc/spiral/workstation.env", "".join(f"{k}={v}\n" for k, v in env.items()), "0600"),
        _file("/etc/spiral/idle-agent.json", json.dumps(agent, indent=2) + "\n", "0644"),
        _file(JUPYTER_TOKEN, launch.jupyter_token + "\n", "0600"),
        _file(
            "/root/.docker/config.json",
            json.dumps({"credHelpers": {registry: "ecr-login"}}),
            "0600",
        ),
    ]
    return {
        "package_update": False,
        "packages": ["docker", "amazon-ecr-credential-helper", "amazon-ssm-agent"],
        "ssh_pwauth": False,
        "ssh_authorized_keys": [launch.ssh_public_key],
        "write_files": files,
        "runcmd": [
            ["systemctl", "daemon-reload"],
            ["usermod", "--append", "--groups", "docker", "ec2-user"],
            ["systemctl", "enable", "--now", "docker.service", "amazon-ssm-agent.service"],
            ["systemctl", "enable", "--now", "--no-block", "spiral-idle.service"],
            ["systemctl", "enable", "--now", "--no-block", "spiral-workstation.service"],
        ],
    }


def _file(path: str, content: str, mode: str) -> dict[str, str]:
    return {"path": path, "content": content, "permissions": mode, "owner": "root:root"}


def render(config: dict[str, Any]) -> bytes:
    return gzip.compress((HEADER + json.dumps(config, indent=2) + "\n").encode(), mtime=0)


def text(user_data: bytes) -> str:
    """The cloud-config as cloud-init sees it, from what ``render`` made (or EC2 handed back)."""
    return (gzip.decompress(user_data) if user_data[:2] == b"\x1f\x8b" else user_data).decode()


def parse(user_data: bytes) -> dict[str, Any]:
    body = text(user_data)
    if not body.startswith(HEADER):
        raise ValueError("not a spiral workstation's cloud-config")
    return dict(json.loads(body[len(HEADER) :]))


def jupyter_token(user_data: bytes) -> str:
    for entry in parse(user_data)["write_files"]:
        if entry["path"] == JUPYTER_TOKEN:
            return str(entry["content"]).strip()
    raise ValueError("this workstation's user-data has no Jupyter token")
