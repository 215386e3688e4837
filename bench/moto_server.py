"""A moto server of the bench's own, as a separate AWS endpoint would be, with its request log kept."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.measure import BenchError
from spiralkit import aws

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@dataclass(frozen=True)
class MotoServer:
    url: str
    log: Path

    @property
    def env(self) -> dict[str, str]:
        """Settings that point boto3, Arrow (through spiralkit) and DVC at this server."""
        return {**FAKE_AWS, "AWS_ENDPOINT_URL": self.url}

    def configure(self, settings: dict[str, object]) -> None:
        """Set moto's own options (``POST /moto-api/config``), e.g. Batch without Docker."""
        request = urllib.request.Request(
            f"{self.url}/moto-api/config", data=json.dumps(settings).encode(), method="POST"
        )
        urllib.request.urlopen(request, timeout=10).close()

    def requests(self, method: str, path: str) -> int:
        """How many ``method`` requests for ``path`` the server has logged so far."""
        return self.log.read_text().count(f'"{method} {path} HTTP')


@contextmanager
def running(work: Path) -> Iterator[MotoServer]:
    """Start ``moto.server`` on a free port on 127.0.0.1; stop it on exit."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    work.mkdir(parents=True, exist_ok=True)
    log = work / "moto.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=output, stderr=output
        )
    server = MotoServer(f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_up(server, process)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(server: MotoServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{server.url}/moto-api/", timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"moto server did not start; its log: {server.log}") from None
            time.sleep(0.2)


@contextmanager
def pointed_at(env: dict[str, str]) -> Iterator[None]:
    """Point spiralkit's boto3 clients at the bench's moto server for the duration."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    aws.session.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        aws.session.cache_clear()
