"""The idle-stop agent's observers (workstation/idle_agent.py) on this real machine: its sockets,
its processes, an HTTP server standing in for Jupyter, and whole runs of the agent."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import idle_agent as agent
import idle_decide as rules
import pytest

AGENT_DIR = Path(agent.__file__).parent

KERNELS = (Path(__file__).parent / "data" / "idle" / "jupyter_kernels.json").read_text()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def _port(server: socket.socket) -> int:
    return int(server.getsockname()[1])


def _spawn(argv0: str, code: str) -> subprocess.Popen[bytes]:
    """A python process whose command line starts with ``argv0``, as bash's ``exec -a`` makes."""
    return subprocess.Popen(["bash", "-c", f'exec -a {argv0} {sys.executable} -c "{code}"'])


def _wait_for(condition: object, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_established_sees_a_connection_while_it_is_open(listener: socket.socket) -> None:
    port = _port(listener)
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    assert rules.ssh_sessions(agent.established(), port=port) == 1
    client.close()
    accepted.close()
    assert _wait_for(lambda: rules.ssh_sessions(agent.established(), port=port) == 0)


def test_a_session_worker_process_is_counted(listener: socket.socket) -> None:
    worker = _spawn("ssm-session-worker", "import time; time.sleep(30)")
    try:
        assert _wait_for(lambda: any(rules.is_ssm_session(c) for p, c in agent.processes().items() if p == worker.pid))
    finally:
        worker.kill()
        worker.wait()


def test_a_vscode_server_counts_only_while_it_holds_a_connection(listener: socket.socket) -> None:
    address = ("127.0.0.1", _port(listener))
    code = f"import socket, time; s = socket.create_connection({address}); time.sleep(30)"
    server = _spawn("/home/spiral/.vscode-server/bin/abc/node", code)
    try:
        accepted, _ = listener.accept()

        def connected() -> bool:
            open_inodes = {inode for _, inode in agent.established()}
            return bool(agent.socket_inodes(server.pid) & open_inodes)

        assert _wait_for(connected)
        assert rules.is_vscode_server(agent.processes()[server.pid])
        accepted.close()
        assert _wait_for(lambda: not connected())
    finally:
        server.kill()
        server.wait()


class _Jupyter(http.server.BaseHTTPRequestHandler):
    """Answers /api/kernels with the recorded response; 403 without the token, as Jupyter does."""

    def do_GET(self) -> None:
        ok = self.path == "/api/kernels" and self.headers.get("Authorization") == "token s3cret"
        self.send_response(200 if ok else 403)
        self.end_headers()
        self.wfile.write(KERNELS.encode() if ok else b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def jupyter(tmp_path: Path) -> Iterator[dict[str, object]]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Jupyter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    yield {
        "jupyter_url": f"http://127.0.0.1:{server.server_address[1]}",
        "jupyter_token_file": str(token),
        "lease_file": str(tmp_path / "lease.json"),
    }
    server.shutdown()


def test_jupyter_is_asked_with_the_token(jupyter: dict[str, object], tmp_path: Path) -> None:
    last, note = agent.jupyter(jupyter, now=time.time())
    assert note is None
    assert last == rules.jupyter_last_activity(KERNELS, 0)
    (tmp_path / "token").write_text("wrong")
    last, note = agent.jupyter(jupyter, now=time.time())
    assert last is None
    assert "403" in str(note)


def _python39() -> str | None:
    candidates = sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python3.9"))
    for python in [*map(str, candidates), shutil.which("python3.9")]:
        if python and subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0:
            return python
    return None


def _run_agent(python: str, config: dict[str, object], tmp_path: Path, *args: str) -> str:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(
        [python, str(AGENT_DIR / "idle_agent.py"), "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_the_agent_honours_a_lease_on_the_instances_python_3_9(jupyter: dict[str, object], tmp_path: Path) -> None:
    python = _python39()
    if python is None:
        pytest.skip("no working python3.9 here: Amazon Linux 2023's python3 is 3.9")
    Path(str(jupyter["lease_file"])).write_text(rules.lease_text(time.time() + 3600, "ana", "train"))
    out = _run_agent(python, {**jupyter, "cpu_threshold": 100}, tmp_path, "--once")
    assert out.startswith("keep: lease until")


def test_the_agent_runs_its_stop_command_once_idle(jupyter: dict[str, object], tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    config = {
        **jupyter,
        "idle_minutes": 0,
        "interval_seconds": 0.2,
        "cpu_threshold": 100,
        "stop_command": ["touch", str(marker)],
    }
    out = _run_agent(sys.executable, config, tmp_path)
    assert out.startswith("stop: idle 0 of 0 min")
    assert marker.exists()
