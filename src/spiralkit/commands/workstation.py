"""``spiral workstation``: your cloud dev box, running the production image: up, status, connect,
stop, start, down (and ``grant``, for the platform engineer who makes each person's profile)."""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

from spiralkit import aws, config
from spiralkit.cost import explorer
from spiralkit.workstation import connect, inventory, lookup, machine, profile, settings, status


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("workstation", help="your cloud dev box: up, connect, stop, ...")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    up = verbs.add_parser("up", help="check everything, then launch your workstation")
    up.add_argument("--gpu", action="store_true", help="a GPU instance with the GPU image")
    up.add_argument("--instance-type", help="instead of instance_type in [tool.spiral.workstation]")
    up.add_argument("--ssh-key", type=Path, help="key to authorise (default ~/.ssh/id_ed25519)")
    up.set_defaults(handler=run_up)
    verbs.add_parser("status", help="what runs, since when, and where your files are").set_defaults(handler=run_status)
    listing = verbs.add_parser("ls", help="(administrators) every workstation: owner, state, idle time, cost")
    listing.add_argument("--all", action="store_true", help="every project's workstations, not only this one's")
    listing.set_defaults(handler=run_ls)
    link = verbs.add_parser("connect", help="SSH entry for VS Code, and Jupyter on localhost")
    link.add_argument("--ssh-key", type=Path, help="private key for the SSH entry")
    link.add_argument("--port", type=int, default=connect.JUPYTER_PORT, help="local Jupyter port")
    link.add_argument("--no-forward", action="store_true", help="print only; forward nothing")
    link.set_defaults(handler=run_connect)
    verbs.add_parser("stop", help="stop it now (the home volume stays)").set_defaults(handler=run_stop)
    verbs.add_parser("start", help="start it again after a stop").set_defaults(handler=run_start)
    down = verbs.add_parser("down", help="terminate it; the home volume is kept for the next up")
    down.add_argument("--delete-home", action="store_true", help="delete the home volume as well")
    down.set_defaults(handler=run_down)
    grant = verbs.add_parser("grant", help="(platform engineer) create PERSON's instance profile")
    grant.add_argument("person", help="the <name> of their user.<name> namespace")
    grant.set_defaults(handler=run_grant)


def run_up(args: argparse.Namespace) -> int:
    project = config.load()
    chosen = settings.resolve(project, gpu=args.gpu, instance_type=args.instance_type)
    key = connect.ssh_key(args.ssh_key)
    commit = lookup.clone_commit(project.root)
    instance = machine.up(machine.Clients.of(chosen), chosen, connect.public_key(key), commit)
    print(f"workstation {instance['InstanceId']} ({chosen.instance_type}) is starting in {chosen.region}")
    print(
        f"it stops itself after {chosen.idle_minutes} idle minutes, and {chosen.max_hours} h after each start "
        "unless `spiral keepalive` renews it; `spiral workstation connect` next"
    )
    return 0


def run_status(args: argparse.Namespace) -> int:
    chosen = _settings()
    for line in status.describe(aws.client("ec2", chosen.region), chosen):
        print(line)
    return 0


def _settings(**overrides: Any) -> settings.Settings:
    return settings.resolve(config.load(), **overrides)


def run_ls(args: argparse.Namespace) -> int:
    project = config.load()
    found = inventory.boxes(
        aws.client("ec2", project.region),
        aws.client("cloudwatch", project.region),
        explorer.client(),
        None if args.all else project.project,
        settings.cpu_threshold(project),
        dt.datetime.now(dt.UTC),
    )
    print(inventory.table(found))
    return 0


def run_connect(args: argparse.Namespace) -> int:
    chosen = _settings()
    ec2 = aws.client("ec2", chosen.region)
    instance_id = machine.require(ec2, chosen, "running")["InstanceId"]
    key = connect.ssh_key(args.ssh_key)
    path, included = connect.write_ssh_config(chosen, connect.ssh_config(chosen, instance_id, key))
    print(f"SSH entry {connect.host_alias(chosen)} written to {path}")
    if not included:
        print("  once: put `Include spiral/*.conf` on the first line of ~/.ssh/config")
    print(
        f"  VS Code: Remote-SSH: Connect to Host... -> {connect.host_alias(chosen)}, "
        "then Dev Containers: Attach to Running Container... -> spiral-workstation"
    )
    token = connect.jupyter_token(ec2, instance_id)
    print(f"Jupyter: http://127.0.0.1:{args.port}/lab?token={token}")
    if args.no_forward:
        return 0
    connect.check_tools()
    print("forwarding Jupyter through Session Manager; Ctrl-C ends it")
    return subprocess.call(connect.port_forward(chosen, instance_id, args.port))


def run_stop(args: argparse.Namespace) -> int:
    chosen = _settings()
    print(f"stopping {machine.stop(aws.client('ec2', chosen.region), chosen)}; the home volume stays")
    return 0


def run_start(args: argparse.Namespace) -> int:
    chosen = _settings()
    print(f"started {machine.start(aws.client('ec2', chosen.region), chosen)}")
    return 0


def run_down(args: argparse.Namespace) -> int:
    chosen = _settings()
    for line in machine.down(aws.client("ec2", chosen.region), chosen, args.delete_home):
        print(line)
    return 0


def run_grant(args: argparse.Namespace) -> int:
    chosen = _settings(person=args.person)
    arn = profile.grant(aws.client("iam", chosen.region), aws.client("sts", chosen.region), chosen)
    print(f"instance profile for {chosen.owner}: {arn}")
    print(f"{chosen.owner} also needs iam:PassRole on it (docs/workstation-platform.md)")
    return 0
