"""`python -m benchmarks [name] [--db sqlite|postgres] [options]`; `all` (the default) runs each.

single  one touch per request over HTTP: wrk at full speed, then a fixed 500 req/s
batch   1,000-touch batches over HTTP
import  a 100,000-row contacts CSV through the importer
demo    the demo generator at 100,000 contacts
scoring-ingest  the same touch batches ingested in process with scoring on and off
rescore         bulk rescoring of --contacts / --touches against DuckDB's in-memory floor
"""

from __future__ import annotations

import argparse
import subprocess
import sys

NAMES = ("single", "batch", "import", "demo", "scoring-ingest", "rescore")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", nargs="?", default="all", choices=[*NAMES, "all"])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (HTTP benchmarks)")
    parser.add_argument("--seconds", type=int, default=20, help="length of each HTTP run")
    parser.add_argument("--rate", type=int, default=500, help="fixed request rate (single)")
    parser.add_argument(
        "--ladder",
        default="25,50,100,200",
        help="lower fixed rates to try after the main one, comma-separated ('' for none)",
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (single)")
    parser.add_argument("--batches", type=int, default=60, help="number of batches (batch)")
    parser.add_argument("--concurrency", type=int, default=2, help="batches in flight (batch)")
    parser.add_argument("--rows", type=int, default=100_000, help="CSV rows (import)")
    parser.add_argument(
        "--contacts",
        type=int,
        default=None,
        help="contacts (demo and rescore: 100,000; scoring-ingest: 20,000 already there)",
    )
    parser.add_argument(
        "--touches", type=int, default=None, help="touches (scoring benchmarks; 10 per contact)"
    )
    parser.add_argument("--size", type=int, default=1000, help="touches per batch (scoring-ingest)")
    parser.add_argument("--singles", type=int, default=300, help="single touches (scoring-ingest)")
    parser.add_argument(
        "--pg-database",
        default="smarketing_bench",
        help="PostgreSQL database to recreate for the run (--db postgres)",
    )
    parser.add_argument(
        "--no-rules",
        action="store_true",
        help="leave the default definitions uninstalled (scoring on write then does nothing)",
    )
    args = parser.parse_args(argv)

    if args.name == "all":
        # Each benchmark in its own process, against its own fresh database.
        code = 0
        for name in NAMES:
            for db in ("sqlite", "postgres"):
                print(f"\n=== {name} on {db} ===", flush=True)
                extra = ["--no-rules"] if args.no_rules else []
                code |= subprocess.call(
                    [sys.executable, "-m", "benchmarks", name, "--db", db, *extra]
                )
        return code

    from benchmarks import suites
    from benchmarks.harness import configure

    bench = configure(args.name, args.db, pg_database=args.pg_database, rules=not args.no_rules)
    print(f"=== {args.name} on {args.db} (data in {bench.data_dir}) ===", flush=True)
    if args.name == "single":
        suites.single(
            bench,
            workers=args.workers,
            seconds=args.seconds,
            rate=args.rate,
            connections=args.connections,
            ladder=[int(r) for r in args.ladder.split(",") if r.strip()],
        )
    elif args.name == "batch":
        suites.batch(bench, workers=args.workers, count=args.batches, concurrency=args.concurrency)
    elif args.name == "import":
        suites.import_csv(bench, rows=args.rows)
    elif args.name == "demo":
        suites.demo(bench, contacts=args.contacts or 100_000)
    else:
        from benchmarks import scoring

        contacts = args.contacts or (20_000 if args.name == "scoring-ingest" else 100_000)
        touches = args.touches if args.touches is not None else 10 * contacts
        if args.name == "scoring-ingest":
            scoring.scoring_ingest(
                bench,
                contacts=contacts,
                touches=touches,
                batches=args.batches,
                size=args.size,
                singles=args.singles,
            )
        else:
            scoring.rescore(bench, contacts=contacts, touches=touches)
    print(f"Saved {bench.save()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
