"""Starting a stage's commands: forked from the warm parent when they are ``python -m pkg.mod``, else as DVC does.

DVC runs each line of a stage's ``cmd`` as ``$SHELL -c LINE`` in the stage's directory, stopping at the
first that fails. A line that is exactly ``python -m package.module [args]``, where that ``python`` is
this interpreter, is run by a child of the warm parent (:mod:`spiralkit.runs.warm`) instead: the same
module, arguments, directory and environment, without paying the imports again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from spiralkit.runs import dvcstage

_MODULE = re.compile(r"^[A-Za-z_][\w.]*$")
_SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?\[\]{}~\\!#\n]")


def python_module(command: str, path: str) -> tuple[str, list[str]] | None:
    """``(module, args)`` when ``command`` is ``python -m module args`` with ``python`` this interpreter
    on ``path`` and no shell syntax in it; else None."""
    if _SHELL_SYNTAX.search(command):
        return None
    words = shlex.split(command)
    if len(words) < 3 or words[1] != "-m" or not _MODULE.match(words[2]):
        return None
    found = shutil.which(words[0], path=path)
    here = Path(sys.executable)
    if found is None or Path(found).parent != here.parent or not Path(found).samefile(here):
        return None
    return words[2], words[3:]


class WarmParent:
    """The warm parent process (``python -m spiralkit.runs.warm``) and the exits it reported."""

    def __init__(self, modules: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spiralkit.runs.warm", *modules],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.requests: IO[bytes] = self.process.stdin
        self.replies = self.process.stdout.fileno()
        self.buffer = b""
        self.exits: dict[int, int] = {}
        ready = self._read()
        self.modules: list[str] = list(ready["modules"])
        self.threads: int | None = ready.get("threads")
        self._count = 0

    def fileno(self) -> int:
        """For a selector: readable when the warm parent has something to report."""
        return self.replies

    def fork(self, module: str, args: list[str], cwd: str, env: Mapping[str, str], log: Path | None) -> int | None:
        """The pid of a child running ``python -m module args``, or None when the parent refused to fork."""
        self._count += 1
        request = {"id": self._count, "module": module, "args": args, "cwd": cwd, "env": dict(env)}
        request["log"] = str(log) if log else None
        self.requests.write(json.dumps(request).encode() + b"\n")
        self.requests.flush()
        while True:
            message = self._read()
            if message.get("id") == self._count:
                if "pid" not in message:
                    return None
                self.exits.pop(int(message["pid"]), None)  # an earlier child's, if its pid was reused
                return int(message["pid"])

    def collect(self) -> None:
        """Take in what the warm parent reported (call when :meth:`fileno` is readable)."""
        self._receive()
        while b"\n" in self.buffer:
            self._next()

    def _read(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            self._receive()
        return self._next()

    def _receive(self) -> None:
        chunk = os.read(self.replies, 65536)
        if not chunk:
            raise OSError(f"the warm parent exited ({self.process.poll()}); see its output above")
        self.buffer += chunk

    def _next(self) -> dict[str, Any]:
        line, self.buffer = self.buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        if "code" in message:
            self.exits[int(message["pid"])] = int(message["code"])
        return message

    def close(self) -> None:
        """Let the warm parent wait for its children and exit."""
        self.requests.close()
        self.process.wait()


@dataclass
class Command:
    """A running stage: its remaining command lines, and the one running now."""

    prepared: dvcstage.Prepared
    log: Path | None
    warm: WarmParent | None
    todo: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    pid: int | None = None
    code: int | None = None
    how: str = ""

    def start(self) -> None:
        """Start the first line of ``todo``."""
        line = self.todo.pop(0)
        env = self.prepared.env
        module = python_module(line, env.get("PATH", os.defpath)) if self.warm else None
        self.pid = self.process = None
        if module is not None and self.warm is not None:
            self.pid = self.warm.fork(*module, self.prepared.cwd, env, self.log)
        if self.pid is not None:
            self.how = "warm"
            return
        self.how = "subprocess"
        out = self.log.open("ab") if self.log else None
        try:
            self.process = subprocess.Popen(
                dvcstage.shell_command(self.prepared, line), cwd=self.prepared.cwd, env=env, stdout=out, stderr=out
            )
        finally:
            if out:
                out.close()

    def poll(self) -> int | None:
        """The stage's exit code once its last line ended (or one failed); None while it runs."""
        if self.code is not None:
            return self.code
        if self.process is not None:
            code = self.process.poll()
        elif self.pid is not None and self.warm is not None:
            code = self.warm.exits.pop(self.pid, None)
        else:
            code = None
        if code is None:
            return None
        if code == 0 and self.todo:
            self.start()
            return self.poll()
        self.code = code
        return code

    def kill(self) -> None:
        """Stop the running line (on a failure elsewhere or Ctrl-C)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        elif self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def start(prepared: dvcstage.Prepared, log: Path | None, warm: WarmParent | None) -> Command:
    """Start stage ``prepared``'s commands, writing their output to ``log`` (inherited when None)."""
    command = Command(prepared, log, warm, list(prepared.commands))
    command.start()
    return command
