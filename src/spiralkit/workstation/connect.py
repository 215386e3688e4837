"""Reaching a running workstation through SSM Session Manager only: an SSH host entry that VS Code
Remote-SSH uses (``ProxyCommand`` opens an SSM session to port 22), and a port forward for Jupyter.
Nothing listens on the network; IAM decides who gets in, and CloudTrail records who did.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

from spiralkit.workstation import WorkstationError, userdata
from spiralkit.workstation.settings import Settings

KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")
JUPYTER_PORT = 8888


def ssh_key(given: Path | None = None, home: Path | None = None) -> Path:
    """The private key whose ``.pub`` the instance authorises: ``given``, else the usual ones."""
    ssh = (home or Path.home()) / ".ssh"
    candidates = [given.with_suffix("") if given.suffix == ".pub" else given] if given else [ssh / k for k in KEYS]
    for key in candidates:
        if key.with_name(key.name + ".pub").is_file():
            return key
    raise WorkstationError(
        f"no SSH public key at {', '.join(str(k) + '.pub' for k in candidates)}: "
        "run `ssh-keygen -t ed25519`, or pass --ssh-key"
    )


def public_key(key: Path) -> str:
    return key.with_name(key.name + ".pub").read_text(encoding="utf-8").strip()


def host_alias(settings: Settings) -> str:
    return f"spiral-{settings.project}"


def ssh_config(settings: Settings, instance_id: str, key: Path) -> str:
    """One ``Host`` entry; rewritten by every ``connect`` because ``up`` makes a new instance id."""
    return (
        f"# Written by `spiral workstation connect`; rewritten each time.\n"
        f"Host {host_alias(settings)}\n"
        f"  HostName {instance_id}\n"
        f"  User ec2-user\n"
        f"  IdentityFile {key}\n"
        f"  IdentitiesOnly yes\n"
        f"  ProxyCommand aws ssm start-session --region {settings.region} --target %h "
        f"--document-name AWS-StartSSHSession --parameters portNumber=%p\n"
        f"  ServerAliveInterval 60\n"
    )


def write_ssh_config(settings: Settings, text: str, home: Path | None = None) -> tuple[Path, bool]:
    """Write the entry to ``~/.ssh/spiral/<project>.conf``; say if ~/.ssh/config includes it."""
    ssh = (home or Path.home()) / ".ssh"
    path = ssh / "spiral" / f"{settings.project}.conf"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text, encoding="utf-8")
    main = ssh / "config"
    included = main.is_file() and "spiral/*.conf" in main.read_text(encoding="utf-8")
    return path, included


def port_forward(settings: Settings, instance_id: str, local_port: int = JUPYTER_PORT) -> list[str]:
    return [
        "aws",
        "ssm",
        "start-session",
        "--region",
        settings.region,
        "--target",
        instance_id,
        "--document-name",
        "AWS-StartPortForwardingSession",
        "--parameters",
        f"portNumber={JUPYTER_PORT},localPortNumber={local_port}",
    ]


def check_tools() -> None:
    """Session Manager needs the AWS CLI and its plugin on this machine."""
    missing = [tool for tool in ("aws", "session-manager-plugin") if shutil.which(tool) is None]
    if missing:
        raise WorkstationError(
            f"{' and '.join(missing)} not found on PATH: install the AWS CLI v2 and the Session "
            "Manager plugin (docs/workstation.md, 'Before the first up')"
        )


def jupyter_token(ec2: Any, instance_id: str) -> str:
    """The token ``up`` gave this instance's Jupyter, read back from its user-data."""
    value = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    return userdata.jupyter_token(base64.b64decode(value["UserData"]["Value"]))
