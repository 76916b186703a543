"""Keeps the processes of `scripts/run` up: one that exits is started again after a backoff (1 s, doubling to
30 s, back to 1 s once it stayed up a minute), and Ctrl-C or SIGTERM stops them all.

    python tutumserver/supervise.py NAME: COMMAND [ARG ...] [NAME: COMMAND [ARG ...]] ...

A word of lower-case letters ending in a colon (`worker:`) starts the next program. Standard library only and
run as a file, so the supervisor imports neither Django nor Celery.

The programs share the supervisor's process group, so a Ctrl-C in the terminal reaches them as it always did;
the supervisor sends each a SIGTERM as well, waits for them all, and kills (with its descendants, e.g.
gunicorn's workers) any still running after STOP_TIMEOUT seconds. Should the supervisor itself be killed
(SIGKILL, the OOM killer), the kernel sends each program a SIGTERM, so none is left behind holding the port or
taking tasks. Linux: the descendants are read in /proc, the parent-death signal is set with prctl.
"""

import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STAYED_UP = 60.0  # a program that ran this long starts again after FIRST_DELAY
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.2
NAME = re.compile(r"[a-z][a-z0-9_-]*:")
# SIGHUP too: the terminal closing must not leave the programs behind.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


PR_SET_PDEATHSIG = 1


def _libc_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: no parent-death signal
        return None


PRCTL = _libc_prctl()


def _die_with_the_supervisor() -> None:
    """Runs in the child between fork and exec (the supervisor has one thread, so this is safe)."""
    PRCTL(PR_SET_PDEATHSIG, int(signal.SIGTERM))


def say(message: str) -> None:
    print(f"[run] {message}", flush=True)


def describe(returncode: int) -> str:
    if returncode < 0:  # killed by a signal: the shell's way of saying it, and the signal's name
        return f"exited with status {128 - returncode} ({signal.Signals(-returncode).name})"
    return f"exited with status {returncode}"


@dataclass
class Program:
    name: str
    argv: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    started: float = 0.0
    next_start: float = 0.0
    delay: float = FIRST_DELAY

    def step(self, now: float) -> None:
        """Start the program when it is due, or note that it exited and when it is due again."""
        if self.process is None:
            if now >= self.next_start:
                self._start(now)
            return
        returncode = self.process.poll()
        if returncode is not None:
            self.process = None
            self._again(now, describe(returncode))

    def _start(self, now: float) -> None:
        self.started = now
        try:
            self.process = subprocess.Popen(self.argv, preexec_fn=_die_with_the_supervisor if PRCTL else None)
        except OSError as exc:  # e.g. the executable is missing: report it and try again later
            self._again(now, f"could not start ({exc})")

    def _again(self, now: float, what: str) -> None:
        if now - self.started >= STAYED_UP:
            self.delay = FIRST_DELAY
        say(f"{self.name} {what}; restarting in {self.delay:g} s")
        self.next_start = now + self.delay
        self.delay = min(self.delay * 2, MAX_DELAY)


def parse(words: list[str]) -> list[Program]:
    programs: list[Program] = []
    for word in words:
        if NAME.fullmatch(word):
            programs.append(Program(word[:-1]))
        elif programs:
            programs[-1].argv.append(word)
        else:
            break
    if not programs or not all(program.argv for program in programs):
        sys.exit(__doc__)
    return programs


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read off the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop(programs: list[Program]) -> None:
    say("stopping...")
    running = [program for program in programs if program.process is not None]
    for program in running:
        program.process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for program in running:
        try:
            program.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{program.name} did not stop within {STOP_TIMEOUT:g} s; killing it")
            below = descendants(program.process.pid)
            kill([program.process.pid, *below])  # the parent first, so that it cannot replace what is killed
            program.process.wait()


def main(words: list[str]) -> int:
    programs = parse(words)
    stop_requested: list[int] = []
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:  # e.g. SIGHUP under nohup stays ignored
            signal.signal(sig, lambda signum, _frame: stop_requested.append(signum))
    while not stop_requested:
        now = time.monotonic()
        for program in programs:
            program.step(now)
        time.sleep(POLL_INTERVAL)
    stop(programs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
