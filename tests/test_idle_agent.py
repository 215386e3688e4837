"""The idle-stop agent's observers (spiralkit.workstation.idle.agent) on this real machine: its sockets,
its processes, an HTTP server standing in for Jupyter, and whole runs of the agent as the instance runs it."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spiralkit.workstation import host, userdata
from spiralkit.workstation.idle import agent, lease
from spiralkit.workstation.idle import decide as rules

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
    assert len(rules.ssh_sessions(agent.established(), port=port)) == 1
    client.close()
    accepted.close()
    assert _wait_for(lambda: not rules.ssh_sessions(agent.established(), port=port))


def test_a_session_worker_process_is_counted(listener: socket.socket) -> None:
    worker = _spawn("ssm-session-worker", "import time; time.sleep(30)")
    try:
        assert _wait_for(lambda: any(rules.is_ssm_session(c) for p, c in agent.processes().items() if p == worker.pid))
    finally:
        worker.kill()
        worker.wait()


def _outward_address() -> str | None:
    """This machine's address on its network (no packet is sent), or None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


@pytest.mark.parametrize(
    ("argv0", "peer", "counted"),
    [
        ("/home/spiral/.vscode-server/bin/abc/node", "outward", 1),
        ("/home/spiral/.vscode-server/bin/abc/node", "loopback", 0),  # a tunnel or a local process
        ("/opt/my-code-server-backup/node", "outward", 0),  # a name that merely contains code-server
    ],
)
def test_a_vscode_server_counts_only_real_client_connections(argv0: str, peer: str, counted: int) -> None:
    host = "127.0.0.1" if peer == "loopback" else _outward_address()
    if host is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect through")
    # The "server" listens and accepts, so it holds the server end of the connection, as VS Code's does.
    code = (
        f"import socket, time; s = socket.create_server({(host, 0)!r}); "
        "print(s.getsockname()[1], flush=True); c, _ = s.accept(); time.sleep(30)"
    )
    server = subprocess.Popen(
        ["bash", "-c", f'exec -a {argv0} {sys.executable} -c "{code}"'], stdout=subprocess.PIPE, text=True
    )

    def clients() -> int:
        commands = {pid: cmd for pid, cmd in agent.processes().items() if pid == server.pid}
        return agent.vscode_clients(agent.established(), commands)

    try:
        assert server.stdout is not None
        client = socket.create_connection((host, int(server.stdout.readline())))
        assert _wait_for(lambda: agent.socket_inodes(server.pid) & {c.inode for c in agent.established()})
        assert clients() == counted
        client.close()
        assert _wait_for(lambda: clients() == 0)
    finally:
        server.kill()
        server.wait()


def test_terminal_input_moves_a_ttys_access_time_and_output_does_not() -> None:
    main, terminal = os.openpty()
    try:
        path = os.ttyname(terminal)
        long_ago = time.time() - 3600
        os.utime(path, (long_ago, long_ago))
        os.write(terminal, b"output only\n")  # what a program prints is not someone using it
        assert os.stat(path).st_atime == pytest.approx(long_ago, abs=1)
        os.write(main, b"ls\n")  # a keystroke: the shell reads it from the terminal
        os.read(terminal, 16)
        typed = os.stat(path).st_atime
        assert typed == pytest.approx(time.time(), abs=10)  # the kernel keeps it to 8 s granularity
        assert (agent.terminal_input() or 0) >= typed
    finally:
        os.close(main)
        os.close(terminal)


def test_the_observer_reads_this_machine(jupyter: dict[str, object]) -> None:
    observer = agent.Observer({**agent.DEFAULTS, **jupyter})
    time.sleep(0.3)
    seen = observer.observe()
    assert seen.cpu_percent is not None
    assert 0 <= seen.cpu_percent <= 100
    assert seen.now == pytest.approx(time.monotonic(), abs=5)
    assert seen.wall == pytest.approx(time.time(), abs=5)
    assert seen.lease_until is None


def test_a_lease_written_by_hand_until_2099_ends_at_the_cap_when_read(tmp_path: Path) -> None:
    path = tmp_path / "lease.json"
    path.write_text(json.dumps({"until": "2099-01-01T00:00:00Z", "by": "someone", "reason": "forever"}))
    written = time.time() - 3600
    os.utime(path, (written, written))
    assert lease.read(path) == pytest.approx(written + lease.MAX_SECONDS)


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
    """Run the agent as spiral-idle.service does, from the package user-data writes, under ``tmp_path``."""
    opt = tmp_path / "opt"
    for name in host.IDLE_MODULES:  # the files user-data writes into IDLE_PACKAGE, byte for byte
        target = opt / Path(userdata.IDLE_PACKAGE).relative_to("/opt") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(host.idle_source(name))
    unit = dict(
        line.split("=", 1) for line in host.read("spiral-idle.service").splitlines() if "=" in line and line[0] != "#"
    )
    pythonpath = unit["Environment"].removeprefix("PYTHONPATH=").replace("/opt", str(opt), 1)
    interpreter, *argv = unit["ExecStart"].split()
    assert (interpreter, argv[:2]) == ("/usr/bin/python3", ["-m", "spiral_idle.agent"])
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(config))
    done = subprocess.run(
        [python, *argv[:2], "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": pythonpath},  # no spiralkit: the instance has none
    )
    return done.stdout


def test_the_agent_honours_a_lease_on_the_instances_python_3_9(jupyter: dict[str, object], tmp_path: Path) -> None:
    python = _python39()
    if python is None:
        pytest.skip("no working python3.9 here: Amazon Linux 2023's python3 is 3.9")
    Path(str(jupyter["lease_file"])).write_text(lease.text(time.time() + 3600, "ana", "train"))
    out = _run_agent(python, jupyter, tmp_path, "--once")
    # Other signals may be busy too on a loaded machine (that made this test fail under load): the
    # lease must be among the reasons, whatever else is.
    assert out.startswith("keep: ")
    assert "lease until" in out.splitlines()[0]


def test_the_agent_runs_its_stop_command_once_idle(jupyter: dict[str, object], tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    config = {
        **jupyter,
        "idle_minutes": 0,
        "interval_seconds": 0.2,
        "stop_command": ["touch", str(marker)],
    }
    out = _run_agent(sys.executable, config, tmp_path)
    assert out.startswith("stop: idle 0 of 0 min")
    assert marker.exists()
