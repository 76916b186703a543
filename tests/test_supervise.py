"""The supervisor of scripts/run (tutumserver/supervise.py) on its own: the backoff between restarts, and a
program that ignores SIGTERM is killed with what it started. tests/e2e/test_run_command.py runs it for real."""

import time

from tutumserver import supervise


def _run_until_it_exits(program: supervise.Program, now: float) -> None:
    program.step(now)
    assert program.process is not None
    program.process.wait()


def test_a_program_that_keeps_dying_waits_longer_each_time_up_to_30_s_and_1_s_again_after_a_minute_up(capsys):
    program = supervise.Program("quick", ["sh", "-c", "exit 3"])
    now, delays = 0.0, []
    for _ in range(7):
        _run_until_it_exits(program, now)
        program.step(now)  # notices the exit
        delays.append(program.next_start - now)
        program.step(now)  # not due yet
        assert program.process is None
        now = program.next_start
    assert delays == [1, 2, 4, 8, 16, 30, 30]

    program.step(now)
    program.process.wait()
    program.step(now + 60)  # it stayed up a minute
    assert program.next_start - (now + 60) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "[run] quick exited with status 3; restarting in 1 s",
        "[run] quick exited with status 3; restarting in 2 s",
    ]
    assert lines[-1] == "[run] quick exited with status 3; restarting in 1 s"


def test_a_program_killed_by_a_signal_is_named_so(capsys):
    program = supervise.Program("worker", ["sh", "-c", "kill -KILL $$"])
    _run_until_it_exits(program, 0.0)
    program.step(0.5)
    assert capsys.readouterr().out == "[run] worker exited with status 137 (SIGKILL); restarting in 1 s\n"


def test_a_program_that_cannot_start_is_tried_again(capsys):
    program = supervise.Program("api", ["/nonexistent/gunicorn"])
    program.step(0.0)
    assert program.process is None and program.next_start == 1
    assert capsys.readouterr().out.startswith("[run] api could not start (")


def test_stop_kills_a_program_that_ignores_sigterm_and_its_children(monkeypatch, capsys):
    monkeypatch.setattr(supervise, "STOP_TIMEOUT", 0.5)
    stubborn = supervise.Program("stubborn", ["sh", "-c", "trap '' TERM; sleep 300 & wait; wait"])
    polite = supervise.Program("polite", ["sleep", "300"])
    for program in (stubborn, polite):
        program.step(0.0)
    sleeper = _wait_for_child(stubborn.process.pid)

    supervise.stop([stubborn, polite])
    assert polite.process.returncode == -15
    assert stubborn.process.returncode == -9
    assert _gone(sleeper)
    assert capsys.readouterr().out.splitlines() == [
        "[run] stopping...",
        "[run] stubborn did not stop within 0.5 s; killing it",
    ]


def _wait_for_child(pid: int) -> int:
    for _ in range(100):
        if children := supervise.descendants(pid):
            return children[0]
        time.sleep(0.05)
    raise AssertionError(f"{pid} started no child")


def _gone(pid: int) -> bool:
    """Whether `pid` is gone within 5 s (a zombie left to init counts as gone)."""
    for _ in range(100):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rpartition(")")[2].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False
