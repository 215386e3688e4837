"""The idle-stop decision over whole days: one minute-by-minute trace per situation that went wrong.

Each trace is what the agent would observe every minute for 24 hours (the monotonic clock in
``now``, the wall clock in ``wall``), built here from a description of the day. The decision of
every minute is asserted: kept up until the minute it should stop, stopped from then on.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from faults_plugin import FaultCase

from spiralkit.workstation.idle import decide as rules
from spiralkit.workstation.idle import lease

MINUTE, HOUR = 60.0, 3600.0
DAY = 24 * 60  # minutes
BOOT = 1_000.0  # the monotonic clock at boot: unrelated to the wall clock
WALL0 = 1_780_000_000.0  # the wall clock at boot
POLICY = rules.Policy(idle_seconds=HOUR, session_cap_seconds=2 * HOUR)


def day(sample: Callable[[int], dict[str, object]], wall_jump: Callable[[int], float] = lambda m: 0.0) -> list:
    """24 hours of observations; ``sample(minute)`` gives that minute's signals."""
    return [
        rules.Observation(now=BOOT + m * MINUTE, wall=WALL0 + m * MINUTE + wall_jump(m), **sample(m))  # type: ignore[arg-type]
        for m in range(1, DAY + 1)
    ]


def wall(minute: float) -> float:
    return WALL0 + minute * MINUTE


def replay(trace: list[rules.Observation]) -> tuple[list[bool], list[str]]:
    last_active, stops, reasons = BOOT, [], []
    for observation in trace:
        decision = rules.decide(last_active, observation, POLICY)
        last_active = decision.last_active
        stops.append(decision.stop)
        reasons.append(decision.reason)
    return stops, reasons


def _sessions(*opened: tuple[str, int]) -> tuple[rules.Session, ...]:
    return tuple(rules.Session(kind, BOOT + minute * MINUTE) for kind, minute in opened)


# name: (what happened that day, the sample for each minute, the first minute it must stop)
TRACES: dict[str, tuple[str, Callable[[int], dict[str, object]], int]] = {
    "nobody-uses-it": ("booted, then nothing at all", lambda m: {"cpu_percent": 1.0}, 60),
    "one-thread-on-many-cores": (
        "a single-threaded job pins one of 64 cores (1.6% on average) for 10 h",
        lambda m: {"cpu_percent": 100.0 if m < 600 else 0.5},
        600 + 59,
    ),
    "gpu-job-nvidia-smi-fails": (
        "a GPU training job for 20 h while nvidia-smi fails every minute",
        lambda m: {"gpu_present": True, "gpu_percent": None, "cpu_percent": 2.0} if m < 1200 else {},
        1200 + 59,
    ),
    "io-bound-job": (
        "a job copying data for 6 h: CPU 3%, the disk busy 70% of the time",
        lambda m: {"cpu_percent": 3.0, "disk_percent": 70.0 if m < 360 else 0.2},
        360 + 59,
    ),
    "ssm-session-left-open": (
        "an SSM session opened at minute 30 and left open all day, never typed in (cap 2 h)",
        lambda m: {"sessions": _sessions(("SSM", 30)) if m >= 30 else ()},
        30 + 120 - 1 + 60,
    ),
    "ssh-session-typed-in-for-3h": (
        "an SSH session at minute 30, typed in until 3 h later, then left open",
        lambda m: {"sessions": _sessions(("SSH", 30)), "terminal_input": wall(min(m, 210) - 0.5)} if m >= 30 else {},
        210 + 60,
    ),
    "lease-written-by-hand-until-2099": (
        "a lease edited by hand to 2099, written 70 h before boot (the read caps it at 72 h)",
        lambda m: {"lease_until": lease.until('{"until": "2099-01-01T00:00:00Z"}', written=wall(-70 * 60))},
        120 + 60,
    ),
    "vscode-client-for-8h": (
        "a VS Code client attached from a laptop for 8 h, then disconnected",
        lambda m: {"vscode_connections": 1 if m < 480 else 0},
        480 + 59,
    ),
    "jupyter-kernel-busy-5h": (
        "a notebook cell running 5 h, then the kernel idle",
        lambda m: {"jupyter_last_activity": wall(min(m, 300))},
        300 + 60,
    ),
}


@pytest.mark.faults
@pytest.mark.parametrize("name", TRACES)
def test_a_day_of_activity_stops_the_machine_exactly_when_it_should(name: str, fault: FaultCase) -> None:
    story, sample, stop_at = TRACES[name]
    fault.inject(f"24 h trace: {story}", f"keeps up, stops at minute {stop_at}")
    stops, reasons = replay(day(sample))
    actual = next((m for m, stop in enumerate(stops, start=1) if stop), None)
    fault.saw("never stops" if actual is None else f"keeps up, stops at minute {actual}")
    expected = [minute >= stop_at for minute in range(1, DAY + 1)]
    wrong = [(m, reasons[m - 1]) for m in range(1, DAY + 1) if stops[m - 1] != expected[m - 1]]
    assert wrong == [], f"{len(wrong)} minutes decided wrongly, first: {wrong[:3]}"


@pytest.mark.faults
@pytest.mark.parametrize("jump_hours", [3.0, -3.0, 48.0])
def test_a_wall_clock_jump_neither_stops_nor_holds_the_machine(jump_hours: float, fault: FaultCase) -> None:
    """Typing until minute 40, the wall clock jumps at minute 30 (NTP, a resumed instance): stop at 100."""
    fault.inject(f"wall clock jumps {jump_hours:+g} h at minute 30; typing until minute 40", "stops at minute 100")

    def jump(minute: int) -> float:
        return jump_hours * HOUR if minute >= 30 else 0.0

    def sample(minute: int) -> dict[str, object]:
        typed = min(minute, 40)
        return {"terminal_input": wall(typed) + jump(typed), "sessions": _sessions(("SSH", -300))}

    stops, _ = replay(day(sample, wall_jump=jump))
    actual = next((m for m, stop in enumerate(stops, start=1) if stop), None)
    fault.saw(f"stops at minute {actual}")
    assert stops == [minute >= 100 for minute in range(1, DAY + 1)]


def test_the_nvidia_smi_failure_is_named_as_the_reason_to_stay_up() -> None:
    decision = rules.decide(BOOT, rules.Observation(now=BOOT + 2 * HOUR, gpu_present=True), POLICY)
    assert not decision.stop
    assert "GPU busy for all we know: nvidia-smi failed" in decision.reason


def test_a_lease_is_capped_when_read_not_only_when_written() -> None:
    text = '{"until": "2099-01-01T00:00:00Z"}'
    assert lease.until(text, written=WALL0) == WALL0 + lease.MAX_SECONDS
    short = lease.text(WALL0 + HOUR, "ana")
    assert lease.until(short, written=WALL0) == WALL0 + HOUR
