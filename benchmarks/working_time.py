"""`python -m benchmarks.working_time`: due-time arithmetic for the SLA sweep, vectorised vs scalar.

Starts are spread over a year (uniform instants, so most fall outside working hours), in a
Europe/Madrid calendar with a lunch break, a fortnight's summer closure and national
holidays; durations are a mix of SLA terms (0, 1, 4, 8, 24 and 80 working hours). Each
figure is the best of `--repeat` runs; "cold" builds the calendar's interval table inside the
timed call, "warm" reuses it (as a sweep does after its first batch). The scalar loop calls
`WorkingCalendar.add` on 10,000 starts; the ratio is per start. Results are also written to
benchmarks/results/working_time-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.harness import RESULTS, machine
from smarketing.sla.working_time import WorkingCalendar

SPEC = {
    "timezone": "Europe/Madrid",
    "hours": {day: ["09:00-14:00", "15:00-18:00"] for day in ("mon", "tue", "wed", "thu")}
    | {"fri": ["08:00-15:00"]},
    "holidays": {
        "2026-01-01": "Año Nuevo",
        "2026-01-06": "Reyes",
        "2026-04-03": "Viernes Santo",
        "2026-05-01": "Día del Trabajo",
        "2026-10-12": "Fiesta Nacional",
        "2026-12-08": "Inmaculada",
        "2026-12-25": "Navidad",
        **{f"2026-08-{d:02d}": "Cierre de verano" for d in range(10, 22)},
    },
}
HOURS_MIX = np.array([0, 1, 4, 8, 24, 80], dtype=np.float64)


def workload(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    low = np.datetime64("2026-01-01T00:00:00", "us").astype(np.int64)
    year = 365 * 86_400 * 1_000_000
    starts = (low + rng.integers(0, year, n)).astype("datetime64[us]")
    seconds = rng.choice(HOURS_MIX, n) * 3600
    ends = starts + (rng.integers(0, 30 * 86_400, n) * 1_000_000).astype("timedelta64[us]")
    return starts, seconds, ends


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return min(times), result


def vectorised(n: int, repeat: int) -> dict[str, float]:
    starts, seconds, ends = workload(n)
    cold, _ = best(lambda: WorkingCalendar.from_spec(SPEC).add_many(starts, seconds), 1)
    cal = WorkingCalendar.from_spec(SPEC)
    cal.add_many(starts, seconds)
    warm, due = best(lambda: cal.add_many(starts, seconds), repeat)
    between, _ = best(lambda: cal.between_many(starts, ends), repeat)
    if not np.allclose(cal.between_many(starts, due), seconds, atol=1e-6):
        raise SystemExit("between_many(start, add_many(start, d)) differs from d")
    print(
        f"{n:>9,} starts: add_many {warm * 1e3:8.1f} ms warm, {cold * 1e3:8.1f} ms cold "
        f"(incl. table build); between_many {between * 1e3:8.1f} ms "
        f"({warm / n * 1e9:.0f} ns per start)"
    )
    return {"cold_s": cold, "warm_s": warm, "between_many_s": between}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.working_time", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scalar", type=int, default=10_000, help="starts in the scalar loop")
    args = parser.parse_args(argv)

    results: dict[str, object] = {}
    print(f"calendar: {SPEC['timezone']}, {len(SPEC['holidays'])} holidays, durations 0-80 h")
    for n in (100_000, 1_000_000):
        results[f"add_many_{n}"] = vectorised(n, args.repeat)

    n = args.scalar
    starts, seconds, _ = workload(n, seed=11)
    cal = WorkingCalendar.from_spec(SPEC)
    cal.add_many(starts, seconds)
    aware = [
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(s))
        for s in starts.astype(np.int64)
    ]
    durations = [timedelta(seconds=float(s)) for s in seconds]
    loop, scalar_due = best(
        lambda: [cal.add(s, d) for s, d in zip(aware, durations, strict=True)], args.repeat
    )
    vector, vector_due = best(lambda: cal.add_many(starts, seconds), args.repeat)
    same = [d.replace(tzinfo=None) for d in scalar_due] == vector_due.tolist()
    results["scalar_loop"] = {
        "starts": n,
        "loop_s": loop,
        "add_many_s": vector,
        "ratio": loop / vector,
        "identical": same,
    }
    print(
        f"{n:>9,} starts: Python loop over add {loop * 1e3:8.1f} ms "
        f"({loop / n * 1e6:.1f} µs each), add_many {vector * 1e3:.2f} ms: "
        f"{loop / vector:,.0f}x faster; identical answers: {same}"
    )

    # One long duration, cold: a year of working time from a fresh calendar.
    def long_one() -> datetime:
        fresh = WorkingCalendar.from_spec(SPEC)
        return fresh.add(datetime(2026, 1, 5, 9, tzinfo=UTC), timedelta(hours=1600))

    long_s, long_due = best(long_one, args.repeat)
    results["long_duration_cold_s"] = long_s
    print(f"1,600 working hours from a fresh calendar: {long_s * 1e3:.1f} ms (due {long_due})")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S")
    path = Path(RESULTS) / f"working_time-{stamp}.json"
    path.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    print(f"Saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
