"""Run the `reportlib` command in real child processes without paying its imports each time.

Importing the CLI (pandas, Ibis, DuckDB, rich, Jinja2) costs about 2.5 CPU-seconds, more
than most bad-input cases spend on their work, and the corpus runs the CLI a few hundred
times. So each pytest worker starts one server process that imports `reportlib.cli` once;
for every command the server forks a child that takes the command's working folder,
environment and output files, runs `main(argv)` and exits with its code, exactly as
`python -m reportlib.cli` would (its atexit handlers run; a hang is killed at the timeout).
Each command is still a separate process: nothing it changes (environment, logging,
working folder, module state) reaches the next one or the test process.

Only the import is shared, so a case that depends on what happens at import time (none
today) must use `subprocess` directly.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The server: imports the CLI, then forks one child per request line on stdin and answers
# with the child's pid, then with its exit code once it ends.
SERVER = r"""
import atexit, json, os, sys, traceback
from reportlib.cli import main

def child(req):
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    for fd, path in ((0, os.devnull), (1, req["out"]), (2, req["err"])):
        f = os.open(path, os.O_RDONLY) if fd == 0 else os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(f, fd)
        os.close(f)
    sys.argv = ["reportlib", *req["argv"]]
    code = 1
    try:
        code = main(req["argv"])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)

replies = os.fdopen(int(sys.argv[1]), "w", buffering=1)
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        replies.close()
        child(req)
    replies.write(json.dumps({"pid": pid}) + "\n")
    _, status = os.waitpid(pid, 0)
    replies.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
"""


class _Server:
    """One forking server per process, started on first use, stopped at exit."""

    def __init__(self) -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(write)],
            stdin=subprocess.PIPE,
            pass_fds=(write,),
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        os.close(write)
        self.replies = read
        self.pending = b""
        atexit.register(self.stop)

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=30)

    def _reply(self, timeout: float) -> dict[str, int] | None:
        """The server's next reply line, or None when none comes within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.replies], [], [], left)[0]:
                return None
            chunk = os.read(self.replies, 4096)
            if not chunk:
                raise RuntimeError(f"the CLI server ended (exit {self.process.poll()})")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        reply: dict[str, int] = json.loads(line)
        return reply

    def run(
        self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="reportlib-cli-") as tmp:
            out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
            request = {"argv": argv, "cwd": str(cwd), "env": env, "out": str(out),
                       "err": str(err)}  # fmt: skip
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            started = self._reply(60)
            if started is None:
                raise RuntimeError("the CLI server did not fork within 60 s")
            done = self._reply(timeout)
            if done is None:
                os.kill(started["pid"], signal.SIGKILL)
                self._reply(60)
                raise subprocess.TimeoutExpired(["reportlib", *argv], timeout)
            return subprocess.CompletedProcess(
                ["reportlib", *argv],
                done["code"],
                out.read_text(encoding="utf-8", errors="replace"),
                err.read_text(encoding="utf-8", errors="replace"),
            )


_server: _Server | None = None


def run(
    argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """`reportlib <argv>` in a fresh child process: its exit code, stdout and stderr."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = _Server()
    return _server.run(argv, cwd, env, timeout)
