"""Run a command and make sure it and everything it starts ends (``python -m``; stdlib only).

Usage::

    python -m obliviate.federated._supervise --parent PID [--grace SECONDS] -- COMMAND ...

The supervisor is started in a process group of its own; the command and whatever it
starts stay in that group. When the supervisor receives SIGTERM or SIGINT, or when the
process ``PID`` that started it is gone, it sends SIGTERM to the command, waits
``--grace`` seconds, then SIGKILLs the whole group (itself last). When the command exits
by itself, leftovers in the group are killed the same way. Ray's ``ray start --block`` is
not always able to stop its helpers, hence this.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the command's exit code when it ends by itself."""
    parser = argparse.ArgumentParser(prog="obliviate.federated._supervise")
    parser.add_argument("--parent", type=int, required=True, help="stop when this process is gone")
    parser.add_argument("--grace", type=float, default=20.0, help="seconds between SIGTERM and SIGKILL")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command and args.command[0] == "--" else args.command
    if not command:
        parser.error("no command given after --")
    stop = {"asked": False}

    def ask_stop(signum: int, frame: object) -> None:
        stop["asked"] = True

    signal.signal(signal.SIGTERM, ask_stop)
    signal.signal(signal.SIGINT, ask_stop)
    child = subprocess.Popen(command)
    code = 0
    while True:
        polled = child.poll()
        if polled is not None:
            code = polled
            break
        if stop["asked"] or os.getppid() != args.parent:
            child.terminate()
            try:
                code = child.wait(timeout=args.grace)
            except subprocess.TimeoutExpired:
                code = -signal.SIGKILL
            break
        time.sleep(0.2)
    sys.stdout.flush()
    # Whatever the command left behind shares our process group.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(os.getpgrp(), signal.SIGTERM)
        time.sleep(0.5)
    except ProcessLookupError:
        pass
    members = [pid for pid in _group_members(os.getpgrp()) if pid != os.getpid()]
    for pid in members:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return code


def live_processes() -> list[tuple[int, int, int]]:
    """``(pid, parent pid, process group)`` of every live, non-zombie process (Linux ``/proc``;
    empty elsewhere)."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, ...
        if fields[0] != b"Z":
            found.append((int(entry), int(fields[1]), int(fields[2])))
    return found


def _group_members(pgid: int) -> list[int]:
    """PIDs of the live processes in process group ``pgid``."""
    return [pid for pid, _, group in live_processes() if group == pgid]


if __name__ == "__main__":
    sys.exit(main())
