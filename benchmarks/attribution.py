"""`python -m benchmarks.attribution [--journeys 1000000]`: the attribution engine against ChannelAttribution.

Generates seeded customer journeys (11 channels, 1 to 10 touches, channel-to-channel
transitions and a conversion chance that depend on the channels met), aggregates them
to unique paths (the ChannelAttribution layout), then times in the same process:

  ours      every rule model + exact Markov + exact Shapley on the encoded paths, and the
            same starting from the `a > b` path strings (our parser included)
  ChannelAttribution   heuristic_models + markov_model(order=1)   (the target: ours <= 1.0x)
  mam       marketing-attribution-models: first, last, linear, position-based, Markov, Shapley

and compares our exact Markov removal effects and credits with ChannelAttribution's
simulated ones (three seeds, to show how much the simulation itself moves). Needs the
`bench` extra: pip install channelattribution matplotlib marketing-attribution-models.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from smarketing.analytics.attribution import engine
from smarketing.analytics.attribution.paths import encode_paths

CHANNELS = (
    "direct",
    "display",
    "email",
    "events",
    "organic_search",
    "paid_search",
    "partner",
    "referral",
    "social",
    "video",
    "webinar",
)
MAX_LENGTH = 10
RESULTS = Path(__file__).resolve().parent / "results"


def generate(journeys: int, seed: int = 42) -> dict[str, np.ndarray]:
    """Journeys aggregated to unique paths: codes (CSR), conversions, value, nulls."""
    rng = np.random.default_rng(seed)
    c = len(CHANNELS)
    start = rng.dirichlet(np.full(c, 0.8))
    transitions = rng.dirichlet(np.full(c, 0.5), size=c)
    transitions += np.eye(c) * 0.3  # people come back through the same channel
    transitions /= transitions.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(transitions, axis=1)
    lengths = np.minimum(rng.geometric(0.3, journeys), MAX_LENGTH)
    paths = np.full((journeys, MAX_LENGTH), -1, dtype=np.int64)
    paths[:, 0] = np.searchsorted(np.cumsum(start), rng.random(journeys))
    for k in range(1, MAX_LENGTH):
        alive = lengths > k
        prev = paths[alive, k - 1]
        u = rng.random(alive.sum())
        paths[alive, k] = (cumulative[prev] < u[:, None]).sum(axis=1)
    paths = np.minimum(paths, c - 1, where=paths >= 0, out=paths)
    # Conversion: a logistic on the distinct channels met and the journey's length.
    effect = rng.normal(-0.2, 0.6, size=c)
    met = np.zeros((journeys, c), dtype=bool)
    for k in range(MAX_LENGTH):
        valid = paths[:, k] >= 0
        met[np.flatnonzero(valid), paths[valid, k]] = True
    score = -2.6 + met @ effect + 0.15 * lengths
    converted = rng.random(journeys) < 1 / (1 + np.exp(-score))
    value = np.where(converted, rng.lognormal(4.0, 0.8, journeys), 0.0)
    # Aggregate: a path is a base-(c+1) number (digits = channel + 1) that fits in int64.
    digits = np.where(paths >= 0, paths + 1, 0)
    key = (digits * (c + 1) ** np.arange(MAX_LENGTH)).sum(axis=1)
    unique, inverse = np.unique(key, return_inverse=True)
    conversions = np.bincount(inverse, converted.astype(float), minlength=len(unique))
    values = np.bincount(inverse, value, minlength=len(unique))
    nulls = np.bincount(inverse, (~converted).astype(float), minlength=len(unique))
    decoded = (unique[:, None] // (c + 1) ** np.arange(MAX_LENGTH)) % (c + 1)
    path_lengths = (decoded > 0).sum(axis=1)
    offsets = np.zeros(len(unique) + 1, dtype=np.int64)
    np.cumsum(path_lengths, out=offsets[1:])
    touches = (decoded[decoded > 0] - 1).astype(np.int32)
    return {
        "offsets": offsets,
        "touches": touches,
        "conversions": conversions,
        "value": values,
        "nulls": nulls,
    }


def path_strings(data: dict[str, np.ndarray]) -> list[str]:
    names = np.array(CHANNELS, dtype=object)[data["touches"]]
    o = data["offsets"]
    return [" > ".join(names[o[i] : o[i + 1]]) for i in range(len(o) - 1)]


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def quietly(fn):
    """Run `fn` with the package's banners and progress lines swallowed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.attribution", description=__doc__)
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="our timings: best of N")
    parser.add_argument("--no-mam", action="store_true", help="skip marketing-attribution-models")
    args = parser.parse_args(argv)

    import pandas as pd

    t0 = time.perf_counter()
    data = generate(args.journeys, args.seed)
    strings = path_strings(data)
    frame = pd.DataFrame(
        {
            "path": strings,
            "total_conversions": data["conversions"].astype(np.int64),
            "total_conversion_value": data["value"],
            "total_null": data["nulls"].astype(np.int64),
        }
    )
    journeys = engine.Journeys(
        channels=CHANNELS,
        offsets=data["offsets"],
        touches=data["touches"],
        conversions=data["conversions"],
        value=data["value"],
        nulls=data["nulls"],
    )
    n_paths = journeys.n_paths
    print(
        f"{args.journeys:,} journeys → {n_paths:,} unique paths, {len(journeys.touches):,} touches, "
        f"{int(journeys.total_conversions):,} conversions, {len(CHANNELS)} channels "
        f"(generated in {time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    results: dict[str, object] = {
        "journeys": args.journeys,
        "unique_paths": n_paths,
        "touches": len(journeys.touches),
        "conversions": journeys.total_conversions,
        "channels": len(CHANNELS),
    }

    def ours_from_arrays():
        # A fresh Journeys each time so cached derived arrays are rebuilt inside the timing.
        j = engine.Journeys(
            CHANNELS,
            data["offsets"],
            data["touches"],
            data["conversions"],
            data["value"],
            data["nulls"],
        )
        return engine.attribute(j)

    def ours_from_text():
        names, offsets, touches = encode_paths(frame["path"].tolist())
        j = engine.Journeys(
            names,
            offsets,
            touches,
            frame["total_conversions"].to_numpy(float),
            frame["total_conversion_value"].to_numpy(float),
            frame["total_null"].to_numpy(float),
        )
        return engine.attribute(j)

    per_model = {}
    for model in engine.MODELS:
        fresh = engine.Journeys(
            CHANNELS,
            data["offsets"],
            data["touches"],
            data["conversions"],
            data["value"],
            data["nulls"],
        )
        fresh.path_of, fresh.position  # noqa: B018 - shared derived arrays, built once
        per_model[model], _ = timed(lambda f=fresh, m=model: engine.attribute(f, [m]), args.repeat)
    ours_arrays, ours = timed(ours_from_arrays, args.repeat)
    ours_text, _ = timed(ours_from_text, args.repeat)
    print(f"ours: all 11 models on encoded paths  {ours_arrays:8.3f} s", flush=True)
    print(f"ours: the same from path strings       {ours_text:8.3f} s", flush=True)
    print("      per model: " + ", ".join(f"{m} {s:.3f}" for m, s in per_model.items()))
    results.update(ours_arrays_s=ours_arrays, ours_text_s=ours_text, ours_per_model_s=per_model)

    import ChannelAttribution as ca

    heuristic_s, heuristic = timed(
        lambda: quietly(
            lambda: ca.heuristic_models(
                frame,
                "path",
                "total_conversions",
                var_value="total_conversion_value",
                flg_pro=False,
            )
        )
    )
    print(f"ChannelAttribution heuristic_models     {heuristic_s:8.3f} s", flush=True)

    def ca_markov(seed: int):
        return quietly(
            lambda: ca.markov_model(
                frame,
                "path",
                "total_conversions",
                var_value="total_conversion_value",
                var_null="total_null",
                order=1,
                out_more=True,
                seed=seed,
                verbose=False,
                flg_pro=False,
            )
        )

    markov_s, markov = timed(lambda: ca_markov(0))
    print(f"ChannelAttribution markov_model(order=1) {markov_s:8.3f} s", flush=True)
    target = heuristic_s + markov_s
    results.update(
        ca_heuristic_s=heuristic_s,
        ca_markov_s=markov_s,
        ratio_arrays=ours_arrays / target,
        ratio_text=ours_text / target,
    )
    print(
        f"ratio ours / ChannelAttribution (heuristic + Markov): {ours_arrays / target:.3f}x "
        f"(encoded), {ours_text / target:.3f}x (from path strings)",
        flush=True,
    )

    # Heuristic parity on the generated data.
    worst = 0.0
    for model, column in (
        ("first", "first_touch"),
        ("last", "last_touch"),
        ("linear", "linear_touch"),
    ):
        got = dict(zip(ours[model].channels, ours[model].conversions, strict=True))
        for name, value in zip(
            heuristic["channel_name"], heuristic[f"{column}_conversions"], strict=True
        ):
            worst = max(worst, abs(got[name] - value) / max(abs(value), 1.0))
    print(f"first/last/linear vs heuristic_models: largest relative difference {worst:.2e}")
    results["heuristic_max_rel_diff"] = worst

    # Markov: exact vs simulated, and the simulation's own spread over three seeds.
    seeds = (0, 7, 13)
    runs = [markov] + [ca_markov(seed) for seed in seeds[1:]]
    ours_m = ours["markov"]
    ours_re = dict(zip(ours_m.channels, ours_m.removal_effects, strict=True))
    ours_conv = dict(zip(ours_m.channels, ours_m.conversions, strict=True))
    simulated = [
        run["removal_effects"].set_index("channel_name")["removal_effects_conversion"]
        for run in runs
    ]
    conv0 = markov["result"].set_index("channel_name")["total_conversions"]
    print("\nMarkov removal effects: ours (exact) vs ChannelAttribution (simulated, 3 seeds)")
    print(
        f"  {'channel':<15} {'ours':>8} {'CA s0':>8} {'CA s7':>8} {'CA s13':>8} {'ours-s0':>9}"
        f" {'CA spread':>9} {'conv ours':>10} {'conv CA':>10}"
    )
    rows = []
    for name in CHANNELS:
        sims = [float(s[name]) for s in simulated]
        row = {
            "channel": name,
            "ours": float(ours_re[name]),
            "ca": sims,
            "ca_spread": max(sims) - min(sims),
            "conv_ours": float(ours_conv[name]),
            "conv_ca": float(conv0[name]),
        }
        rows.append(row)
        print(
            f"  {name:<15} {row['ours']:8.4f} {sims[0]:8.4f} {sims[1]:8.4f} {sims[2]:8.4f} "
            f"{row['ours'] - sims[0]:+9.4f} {row['ca_spread']:9.4f} "
            f"{row['conv_ours']:10.1f} {row['conv_ca']:10.1f}"
        )
    gap = max(abs(r["ours"] - r["ca"][0]) for r in rows)
    mean_gap = float(np.mean([abs(r["ours"] - np.mean(r["ca"])) for r in rows]))
    noise = max(r["ca_spread"] for r in rows)
    print(
        f"  largest |ours - CA seed 0|: {gap:.4f}; mean |ours - mean of CA seeds|: {mean_gap:.4f}; "
        f"largest spread between CA seeds: {noise:.4f}"
    )
    results.update(
        markov=rows, markov_max_gap=gap, markov_mean_gap=mean_gap, markov_max_seed_spread=noise
    )

    if not args.no_mam:
        import polars as pl
        from mam import MAM

        grouped = pl.concat(
            [
                pl.DataFrame(
                    {
                        "path": strings,
                        "occurrences": data["conversions"].astype(np.int64),
                        "converted": np.ones(n_paths, dtype=bool),
                        "value": data["value"],
                    }
                ),
                pl.DataFrame(
                    {
                        "path": strings,
                        "occurrences": data["nulls"].astype(np.int64),
                        "converted": np.zeros(n_paths, dtype=bool),
                        "value": np.zeros(n_paths),
                    }
                ),
            ]
        ).filter(pl.col("occurrences") > 0)

        def run_mam():
            m = MAM(
                grouped,
                format_type="grouped_journey",
                channels_colname="path",
                journey_with_conv_colname="converted",
                occurrences_colname="occurrences",
                conversion_value_colname="value",
            )
            for run in (
                m.run_first_click,
                m.run_last_click,
                m.run_linear,
                m.run_position_based,
                m.run_markov,
                m.run_shapley,
            ):
                run()

        try:
            mam_s, _ = timed(lambda: quietly(run_mam))
        except Exception as exc:  # a third-party package: report, do not crash the run
            print(f"mam failed: {exc!r}")
            results["mam_error"] = repr(exc)
        else:
            print(f"mam (first, last, linear, position, Markov, Shapley) {mam_s:8.3f} s")
            results.update(mam_s=mam_s, ratio_ours_vs_mam=ours_arrays / mam_s)

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S")
    out = RESULTS / f"attribution-{args.journeys}-{stamp}.json"
    out.write_text(json.dumps(results, indent=2, default=float))
    print(f"Saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
