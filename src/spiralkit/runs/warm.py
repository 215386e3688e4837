"""Warm starts: a parent that imported the heavy libraries once forks a fresh child for each stage.

About 93% of a small stage is interpreter start and imports (``import sklearn.base`` alone is 1.3 s).
``python -m spiralkit.runs.warm MODULE...`` imports MODULEs, then forks one child per request it
reads on stdin. Each child is its own process: it sees the parent's imported modules, never another
stage's globals, and its exit is reported on stdout. Kept safe:

- the parent imports with the BLAS/OpenMP pools pinned to one thread, so no pool threads exist when it
  forks, and refuses to fork once a Python thread exists; a refused request runs as a subprocess;
- each child gets what a fresh interpreter would: its own working directory, environment and
  ``sys.argv``; fresh random state (``random`` reseeds itself at fork, numpy's global generator is
  reseeded here); BLAS/OpenMP pools set back to the size the child's environment asks for.

Messages are JSON lines: ``{"id", "module", "args", "cwd", "env", "log"}`` in; ``{"ready", "modules",
"threads"}`` (OS threads after preloading: 1 unless a library starts its own, e.g. pyarrow's jemalloc)
once, then ``{"id", "pid"}`` or ``{"id", "error"}``, and ``{"pid", "code"}`` when a child ends.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import runpy
import selectors
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

POOL_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def preload(modules: Sequence[str]) -> list[str]:
    """Import ``modules`` with thread pools pinned to one thread; returns those that imported.

    Pools are pinned only when threadpoolctl is there to size them again in each child (scikit-learn
    depends on it); without it a child would be left with one BLAS thread.
    """
    saved = {name: os.environ.get(name) for name in POOL_VARIABLES}
    if importlib.util.find_spec("threadpoolctl") is not None:
        os.environ.update(dict.fromkeys(POOL_VARIABLES, "1"))
    loaded = []
    try:
        for module in modules:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as error:
                if "." not in module or error.name != module:  # else `b` of `from a import b` is no module
                    print(f"spiral warm: not preloading {module}: {error}", file=sys.stderr)
            except Exception as error:  # a module that fails to import is simply not preloaded
                print(f"spiral warm: not preloading {module}: {error}", file=sys.stderr)
            else:
                loaded.append(module)
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
    return loaded


def fresh_state(env: Mapping[str, str]) -> None:
    """What a fresh interpreter would have: its own random state and thread pools of the usual size."""
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # the legacy global generator: from OS entropy, as at import
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    cores = os.cpu_count() or 1
    blas = env.get("OPENBLAS_NUM_THREADS") or env.get("MKL_NUM_THREADS") or env.get("OMP_NUM_THREADS")
    threadpool_limits(limits={"blas": int(blas or cores), "openmp": int(env.get("OMP_NUM_THREADS") or cores)})


def _child(request: Mapping[str, Any], closing: Sequence[int]) -> None:
    """In the forked child: become the stage's ``python -m module args``; never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in closing:
            os.close(fd)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if request.get("log") else 2
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = os.getcwd()  # `python -m` puts the working directory first
        sys.argv = [request["module"], *request["args"]]
        fresh_state(request["env"])
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
    except BaseException:  # the stage's own error: printed as python would, exit 1
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(modules: Sequence[str]) -> int:
    """Preload, then fork a child per request until stdin closes; wait for the children, then exit."""
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything an import prints goes to stderr, never into the replies
    loaded = preload(modules)
    # Python 3.12 warns at each fork when any OS thread exists; pyarrow's allocator starts one at import
    # (see "threads" above). Python threads, the ones that could hold the interpreter's locks, are refused.
    warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
    reply.write(json.dumps({"ready": True, "modules": loaded, "threads": threads}) + "\n")
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, "request")
    selector.register(wake_read, selectors.EVENT_READ, "child")
    requests, running, open_input = os.fdopen(0, "rb", buffering=0), 0, True
    pending = b""
    while open_input or running:
        for key, _ in selector.select(timeout=1.0):
            if key.data == "child":
                os.read(wake_read, 512)
                continue
            chunk = requests.read(65536)
            if not chunk:
                selector.unregister(0)
                open_input = False
                continue
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                if threading.active_count() > 1:
                    reply.write(json.dumps({"id": request["id"], "error": "a thread exists: not forking"}) + "\n")
                    continue
                reply.flush()
                pid = os.fork()
                if pid == 0:
                    _child(request, (wake_read, wake_write, reply.fileno()))
                running += 1
                reply.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            running -= 1
            reply.write(json.dumps({"pid": pid, "code": os.waitstatus_to_exitcode(status)}) + "\n")
    return 0


if __name__ == "__main__":
    code = serve(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # nothing to clean up: tearing down scipy, pandas and the rest took 0.6 s of each run
