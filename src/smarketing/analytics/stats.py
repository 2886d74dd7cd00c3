"""Significance tests of the claim check: is this period different from the previous ones?

Three kinds of metric, three tests (each returns a `Significance` with the estimate of the
change, its confidence interval and a two-sided p-value):

- **counts** (MQLs, new leads, won deals…) — `poisson_rate_test`: the exact conditional
  test of two Poisson rates. Given the total n = x₁ + x₀ of events in this period
  (exposure t₁) and in the previous periods together (exposure t₀), under "same rate" x₁
  is Binomial(n, t₁ / (t₁ + t₀)); the p-value is the exact binomial test's and the
  confidence interval of the rate ratio (x₁/t₁) / (x₀/t₀) comes from the Clopper-Pearson
  interval (p_lo, p_hi) of that binomial proportion through RR = p/(1-p) · t₀/t₁. Exposures
  are the periods' lengths in days, so a 31-day month is compared fairly with a 28-day one.
- **proportions** (acceptance rate, MQL→SQL, win rate) — `two_proportion_test`: the
  two-proportion z-test of this period against the previous periods pooled, with the
  pooled standard error for the p-value and the unpooled (Wald) one for the confidence
  interval of the difference p₁ - p₀.
- **amounts** (won revenue, pipeline created) — `prediction_test`: a sum of money is not a
  Poisson count, so this period's total is set against the distribution of the previous
  N totals: t = (x - mean) / (s · √(1 + 1/N)) with N - 1 degrees of freedom, i.e. is x
  inside the prediction interval for one more period like the previous ones.

SciPy provides the distributions; the tests compare them with SciPy's own tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as sps

from smarketing.core.errors import fail

DEFAULT_ALPHA = 0.05


@dataclass(frozen=True)
class Significance:
    """One test's outcome. `estimate` is the rate ratio (counts), the difference p₁ - p₀
    (proportions) or the difference from the baseline mean (amounts)."""

    test: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    statistic: float | None = None
    confidence: float = 0.95

    @property
    def testable(self) -> bool:
        return self.p_value is not None

    def significant(self, alpha: float = DEFAULT_ALPHA) -> bool:
        return self.p_value is not None and self.p_value < alpha


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise fail("The confidence level is not valid.", confidence="must be between 0 and 1")


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def poisson_rate_test(
    current: int,
    baseline: int,
    *,
    current_exposure: float = 1.0,
    baseline_exposure: float = 1.0,
    confidence: float = 0.95,
) -> Significance:
    """Exact conditional test that two Poisson rates are equal, and the rate ratio's CI.

    `current` events happened in `current_exposure` (e.g. days), `baseline` events in
    `baseline_exposure`. With no event at all there is nothing to test (p-value None).
    An infinite bound (no baseline event) is reported as None.
    """
    _check_confidence(confidence)
    if current < 0 or baseline < 0:
        raise fail("Counts cannot be negative.", counts=f"{current}, {baseline}")
    if current_exposure <= 0 or baseline_exposure <= 0:
        raise fail(
            "Exposures must be positive.", exposure=f"{current_exposure}, {baseline_exposure}"
        )
    total = current + baseline
    if total == 0:
        return Significance("poisson_exact", None, None, None, None, confidence=confidence)
    share = current_exposure / (current_exposure + baseline_exposure)
    result = sps.binomtest(current, total, share, alternative="two-sided")
    low, high = result.proportion_ci(confidence_level=confidence, method="exact")
    scale = baseline_exposure / current_exposure

    def ratio(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * scale

    estimate = (
        (current / current_exposure) / (baseline / baseline_exposure) if baseline else math.inf
    )
    return Significance(
        "poisson_exact",
        _finite_or_none(estimate),
        ratio(low),
        _finite_or_none(ratio(high)),
        float(min(result.pvalue, 1.0)),
        statistic=float(current),
        confidence=confidence,
    )


def two_proportion_test(
    current_successes: int,
    current_trials: int,
    baseline_successes: int,
    baseline_trials: int,
    *,
    confidence: float = 0.95,
) -> Significance:
    """Two-sided z-test of p₁ = p₀ (pooled SE) and the Wald CI of p₁ - p₀ (unpooled SE)."""
    _check_confidence(confidence)
    for s, n in ((current_successes, current_trials), (baseline_successes, baseline_trials)):
        if n < 0 or s < 0 or s > n:
            raise fail(
                "Successes must be between 0 and the number of trials.", counts=f"{s} of {n}"
            )
    if current_trials == 0 or baseline_trials == 0:
        return Significance("two_proportion_z", None, None, None, None, confidence=confidence)
    p1 = current_successes / current_trials
    p0 = baseline_successes / baseline_trials
    diff = p1 - p0
    pooled = (current_successes + baseline_successes) / (current_trials + baseline_trials)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / current_trials + 1 / baseline_trials))
    if pooled_se == 0:
        # Everyone (or no one) succeeded on both sides: the proportions are equal.
        z, p_value = 0.0, 1.0
    else:
        z = diff / pooled_se
        p_value = float(2 * sps.norm.sf(abs(z)))
    se = math.sqrt(p1 * (1 - p1) / current_trials + p0 * (1 - p0) / baseline_trials)
    critical = float(sps.norm.ppf(0.5 + confidence / 2))
    return Significance(
        "two_proportion_z",
        diff,
        diff - critical * se,
        diff + critical * se,
        min(p_value, 1.0),
        statistic=z,
        confidence=confidence,
    )


def prediction_test(
    current: float, previous: Sequence[float], *, confidence: float = 0.95
) -> Significance:
    """Is `current` a plausible next value of the series `previous`? (t prediction interval)

    Needs at least two previous values; when they are all equal there is no variation to
    judge against and the p-value is 1 if `current` equals them too, else 0.
    """
    _check_confidence(confidence)
    n = len(previous)
    if n < 2:
        return Significance("prediction_t", None, None, None, None, confidence=confidence)
    mean = math.fsum(previous) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in previous) / (n - 1))
    diff = current - mean
    scale = sd * math.sqrt(1 + 1 / n)
    if scale == 0:
        p_value = 1.0 if diff == 0 else 0.0
        return Significance(
            "prediction_t", diff, diff, diff, p_value, statistic=None, confidence=confidence
        )
    t = diff / scale
    p_value = float(2 * sps.t.sf(abs(t), n - 1))
    critical = float(sps.t.ppf(0.5 + confidence / 2, n - 1))
    return Significance(
        "prediction_t",
        diff,
        diff - critical * scale,
        diff + critical * scale,
        min(p_value, 1.0),
        statistic=t,
        confidence=confidence,
    )


def format_p(p_value: float) -> str:
    """p = 0.003, p < 0.001 — how a p-value is written in verdicts."""
    if p_value < 0.001:
        return "p < 0.001"
    if p_value < 0.01:
        return f"p = {p_value:.3f}"
    return f"p = {p_value:.2f}"
