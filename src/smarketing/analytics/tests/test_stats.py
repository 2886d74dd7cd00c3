"""The claim check's statistics against SciPy's own tests and hand-computed textbook cases."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from smarketing.analytics.stats import (
    format_p,
    poisson_rate_test,
    prediction_test,
    two_proportion_test,
)
from smarketing.core.errors import ValidationFailed


class TestPoissonRateTest:
    def test_equal_exposures_hand_computed(self):
        # Given 10 events now and 2 in one earlier period of the same length,
        # when the rates are compared,
        result = poisson_rate_test(10, 2)
        # then under "same rate" X ~ Binomial(12, 1/2): P(X ≥ 10) = (66 + 12 + 1) / 4096,
        # doubled by symmetry, and the rate ratio is 10 / 2.
        assert result.p_value == pytest.approx(2 * 79 / 4096, rel=1e-12)
        assert result.estimate == pytest.approx(5.0)
        assert result.test == "poisson_exact"

    def test_matches_scipy_binomtest_and_clopper_pearson(self):
        # Given 31 days with 12 MQLs against 6 previous months (181 days) with 130,
        result = poisson_rate_test(12, 130, current_exposure=31, baseline_exposure=181)
        # then the p-value is SciPy's exact binomial test with p0 = 31 / 212,
        expected = sps.binomtest(12, 142, 31 / 212)
        assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
        # and the CI is Clopper-Pearson (beta quantiles) mapped to the rate ratio.
        lo_p = sps.beta.ppf(0.025, 12, 142 - 12 + 1)
        hi_p = sps.beta.ppf(0.975, 12 + 1, 142 - 12)
        assert result.ci_low == pytest.approx(lo_p / (1 - lo_p) * 181 / 31, rel=1e-9)
        assert result.ci_high == pytest.approx(hi_p / (1 - hi_p) * 181 / 31, rel=1e-9)
        assert result.estimate == pytest.approx((12 / 31) / (130 / 181))
        assert result.ci_low < result.estimate < result.ci_high
        assert result.significant()

    def test_same_rate_is_not_significant(self):
        result = poisson_rate_test(20, 120, current_exposure=1, baseline_exposure=6)
        assert result.estimate == pytest.approx(1.0)
        assert result.p_value == pytest.approx(1.0)
        assert not result.significant()
        assert result.ci_low < 1 < result.ci_high

    def test_no_events_cannot_be_tested(self):
        result = poisson_rate_test(0, 0, baseline_exposure=6)
        assert not result.testable and result.estimate is None

    def test_no_baseline_event_gives_open_upper_bound(self):
        # Given 5 events now and none before (exposures 1 and 1): p = 2 · (1/2)^5.
        result = poisson_rate_test(5, 0)
        assert result.p_value == pytest.approx(2 / 32)
        assert result.estimate is None and result.ci_high is None
        # Clopper-Pearson lower bound for 5/5 is (0.025)^(1/5).
        lo_p = 0.025 ** (1 / 5)
        assert result.ci_low == pytest.approx(lo_p / (1 - lo_p), rel=1e-9)

    def test_bad_input_is_refused(self):
        with pytest.raises(ValidationFailed):
            poisson_rate_test(-1, 3)
        with pytest.raises(ValidationFailed):
            poisson_rate_test(1, 3, baseline_exposure=0)
        with pytest.raises(ValidationFailed):
            poisson_rate_test(1, 3, confidence=1.5)


class TestTwoProportionTest:
    def test_hand_computed(self):
        # Given 45 of 100 accepted now and 30 of 100 before,
        result = two_proportion_test(45, 100, 30, 100)
        # then pooled p = 0.375, SE = √(0.375 · 0.625 · 0.02), z = 0.15 / SE,
        se = math.sqrt(0.375 * 0.625 * 0.02)
        assert result.statistic == pytest.approx(0.15 / se)
        assert result.statistic == pytest.approx(2.1909, abs=1e-4)
        assert result.p_value == pytest.approx(0.02846, abs=1e-5)
        # and the Wald CI is 0.15 ± 1.96 · √(0.45·0.55/100 + 0.3·0.7/100).
        half = sps.norm.ppf(0.975) * math.sqrt(0.45 * 0.55 / 100 + 0.3 * 0.7 / 100)
        assert result.estimate == pytest.approx(0.15)
        assert result.ci_low == pytest.approx(0.15 - half)
        assert result.ci_high == pytest.approx(0.15 + half)
        assert result.ci_low == pytest.approx(0.0174, abs=1e-4)

    @pytest.mark.parametrize(
        ("x1", "n1", "x0", "n0"), [(12, 40, 130, 310), (3, 9, 50, 60), (200, 1000, 1100, 5000)]
    )
    def test_p_value_equals_uncorrected_chi_square(self, x1, n1, x0, n0):
        # The z-test squared is Pearson's chi-square on the 2x2 table without correction.
        result = two_proportion_test(x1, n1, x0, n0)
        chi2, p, _dof, _expected = sps.chi2_contingency(
            [[x1, n1 - x1], [x0, n0 - x0]], correction=False
        )
        assert result.statistic**2 == pytest.approx(chi2, rel=1e-9)
        assert result.p_value == pytest.approx(p, rel=1e-9)

    def test_all_or_nothing_on_both_sides(self):
        assert two_proportion_test(0, 10, 0, 50).p_value == 1.0
        assert two_proportion_test(10, 10, 50, 50).estimate == 0.0

    def test_empty_side_cannot_be_tested(self):
        assert not two_proportion_test(0, 0, 5, 10).testable

    def test_more_successes_than_trials_is_refused(self):
        with pytest.raises(ValidationFailed):
            two_proportion_test(11, 10, 5, 10)


class TestPredictionTest:
    def test_hand_computed_with_closed_form_t2(self):
        # Given totals 10, 12, 14 before (mean 12, s = 2) and 20 now,
        result = prediction_test(20, [10, 12, 14])
        # then t = 8 / (2 · √(4/3)) = √12 with 2 degrees of freedom, whose tail is
        # ½ (1 - t / √(t² + 2)) in closed form.
        t = math.sqrt(12)
        assert result.statistic == pytest.approx(t)
        assert result.p_value == pytest.approx(1 - t / math.sqrt(t * t + 2))
        assert result.estimate == pytest.approx(8)
        half = sps.t.ppf(0.975, 2) * 2 * math.sqrt(4 / 3)
        assert (result.ci_low, result.ci_high) == (
            pytest.approx(8 - half),
            pytest.approx(8 + half),
        )
        assert not result.significant()

    def test_far_outlier_is_significant(self):
        assert prediction_test(100, [10, 11, 9, 10, 12, 8]).significant()

    def test_needs_two_previous_values(self):
        assert not prediction_test(5, [4]).testable

    def test_flat_history(self):
        assert prediction_test(5, [5, 5, 5]).p_value == 1.0
        assert prediction_test(6, [5, 5, 5]).p_value == 0.0


def test_format_p():
    assert format_p(0.0004) == "p < 0.001"
    assert format_p(0.0031) == "p = 0.003"
    assert format_p(0.4213) == "p = 0.42"
