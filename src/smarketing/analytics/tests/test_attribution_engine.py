"""The attribution engine on journeys small enough to work out by hand."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smarketing.analytics.attribution import engine
from smarketing.analytics.attribution.engine import JourneyError, Journeys, attribute

DATA = Path(__file__).resolve().parents[5] / "shared" / "data" / "channelattribution-pathdata"


def credit(result: engine.ModelResult, field: str = "conversions") -> dict[str, float]:
    return {c: float(v) for c, v in zip(result.channels, getattr(result, field), strict=True)}


def approx(expected: dict[str, float]):
    return pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.fixture
def small() -> Journeys:
    """
    P1  A            2 conversions worth 10, 1 null
    P2  A > B        1 conversion worth 4
    P3  B > C > A > C  1 conversion worth 8, 2 null   (C repeats)
    P4  C            no conversion, 3 null
    """
    return Journeys.from_paths(
        [["A"], ["A", "B"], ["B", "C", "A", "C"], ["C"]],
        conversions=[2, 1, 1, 0],
        value=[10, 4, 8, 0],
        nulls=[1, 0, 2, 3],
    )


# --- rule models ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "conversions", "value"),
    [
        # P1 all to A; P2 first A / last B; P3 first B / last C.
        ("first", {"A": 3, "B": 1, "C": 0}, {"A": 14, "B": 8, "C": 0}),
        ("last", {"A": 2, "B": 1, "C": 1}, {"A": 10, "B": 4, "C": 8}),
        # P3 gives 1/4 to each touch: B 1/4, C 2/4, A 1/4.
        ("linear", {"A": 2.75, "B": 0.75, "C": 0.5}, {"A": 14, "B": 4, "C": 4}),
        # U: P2 50/50; P3 40 B, 10 C, 10 A, 40 C.
        ("u_shaped", {"A": 2.6, "B": 0.9, "C": 0.5}, {"A": 12.8, "B": 5.2, "C": 4}),
        # J: P2 20:60 -> 25/75; P3 20 B, 10 C, 10 A, 60 C.
        ("j_shaped", {"A": 2.35, "B": 0.95, "C": 0.7}, {"A": 11.8, "B": 4.6, "C": 5.6}),
        # Inverse J: P2 75/25; P3 60 B, 10 C, 10 A, 20 C.
        ("inverse_j", {"A": 2.85, "B": 0.85, "C": 0.3}, {"A": 13.8, "B": 5.8, "C": 2.4}),
        # W: P2 (2 touches) 50/50; P3 first B 30, middle (position 1) C 30, A the rest 10, last C 30.
        ("w_shaped", {"A": 2.6, "B": 0.8, "C": 0.6}, {"A": 12.8, "B": 4.4, "C": 4.8}),
        # Full path: 4 touches or fewer without known key touches -> equal split (= linear).
        ("full_path", {"A": 2.75, "B": 0.75, "C": 0.5}, {"A": 14, "B": 4, "C": 4}),
    ],
)
def test_rule_models_on_hand_computed_paths(small, model, conversions, value):
    # Given four paths (one without conversions, one with a repeated channel)
    # When the model runs
    result = engine.rule_model(small, model)
    # Then each channel gets exactly the worked-out credit, and the totals are kept
    assert credit(result) == approx(conversions)
    assert credit(result, "value") == approx(value)
    assert result.conversions.sum() == pytest.approx(4)
    assert result.value.sum() == pytest.approx(22)


@pytest.mark.parametrize("model", engine.MODELS)
def test_a_single_touch_gets_everything_in_every_model(model):
    j = Journeys.from_paths([["A"], ["B"]], conversions=[3, 1], value=[30, 5], nulls=[1, 1])
    result = attribute(j, [model])[model]
    assert credit(result) == approx({"A": 3, "B": 1})
    assert credit(result, "value") == approx({"A": 30, "B": 5})


def test_w_shaped_and_full_path_on_five_touches():
    j = Journeys.from_paths([["A", "B", "C", "D", "E"]], conversions=[1], value=[100])
    # W: first, middle floor(4/2) = position 2, last get 30 each; B and D share 10.
    w = engine.rule_model(j, "w_shaped")
    assert credit(w, "value") == approx({"A": 30, "B": 5, "C": 30, "D": 5, "E": 30})
    # Full path: positions 0, floor(4/3) = 1, floor(8/3) = 2 and 4 get 22.5; D gets the 10.
    full = engine.rule_model(j, "full_path")
    assert credit(full, "value") == approx({"A": 22.5, "B": 22.5, "C": 22.5, "D": 10, "E": 22.5})


def test_w_shaped_with_a_known_lead_touch_stacks_shares():
    # The lead was created at the first touch: it takes first + lead shares (60 %).
    j = Journeys.from_paths(
        [["A", "B", "C", "D"]], conversions=[1], value=[100], lead_at=np.array([0])
    )
    w = engine.rule_model(j, "w_shaped")
    assert credit(w, "value") == approx({"A": 60, "B": 5, "C": 5, "D": 30})


def test_full_path_with_known_lead_and_opportunity_touches():
    # Lead at B (1), opportunity at D (3) on a 5-touch path: C and E? E is last (close).
    j = Journeys.from_paths(
        [["A", "B", "C", "D", "E"]],
        conversions=[1],
        value=[100],
        lead_at=np.array([1]),
        opportunity_at=np.array([3]),
    )
    full = engine.rule_model(j, "full_path")
    assert credit(full, "value") == approx({"A": 22.5, "B": 22.5, "C": 10, "D": 22.5, "E": 22.5})


def test_time_decay_without_timestamps_counts_touches():
    # Half-life 1 touch on B > C > A > C: weights 1/8, 1/4, 1/2, 1 (sum 15/8).
    j = Journeys.from_paths([["B", "C", "A", "C"]], conversions=[1], value=[15])
    result = engine.rule_model(j, "time_decay", half_life=1)
    assert credit(result, "value") == approx({"A": 4, "B": 1, "C": 10})
    assert result.method == "half-life 1 touches"


def test_time_decay_with_days():
    # Touches 14 and 0 days before the conversion, half-life 7 days: weights 1/4 and 1.
    j = Journeys.from_paths(
        [["A", "B"]], conversions=[1], value=[10], age_days=np.array([14.0, 0.0])
    )
    result = engine.rule_model(j, "time_decay", half_life=7)
    assert credit(result, "value") == approx({"A": 2, "B": 8})
    # Journeys years old do not underflow: only the gaps between touches count.
    old = Journeys.from_paths(
        [["A", "B"]], conversions=[1], value=[10], age_days=np.array([50_014.0, 50_000.0])
    )
    assert credit(engine.rule_model(old, "time_decay", half_life=7), "value") == approx(
        {"A": 2, "B": 8}
    )


def test_time_decay_refuses_a_non_positive_half_life(small):
    with pytest.raises(JourneyError, match="half-life"):
        engine.rule_model(small, "time_decay", half_life=0)


def test_ties_split_evenly():
    # Two paths mirror each other: every symmetric model gives A and B the same credit.
    j = Journeys.from_paths([["A", "B"], ["B", "A"]], conversions=[1, 1], value=[5, 5])
    for model, result in attribute(j).items():
        got = credit(result)
        assert got["A"] == pytest.approx(got["B"], rel=1e-12), model


def test_sales_split():
    j = Journeys.from_paths(
        [["email", "sales:call"], ["sales:meeting"]], conversions=[1, 1], value=[100, 50]
    )
    split = engine.rule_model(j, "linear").split()
    assert split == {
        "marketing_conversions": 0.5,
        "sales_conversions": 1.5,
        "marketing_value": 50.0,
        "sales_value": 100.0,
    }


# --- Markov -------------------------------------------------------------------------------


@pytest.fixture
def three_channels() -> Journeys:
    return Journeys.from_paths(
        [["A", "B"], ["A", "C"], ["B"], ["C", "B"]],
        conversions=[2, 0, 1, 1],
        value=[10, 0, 3, 7],
        nulls=[0, 2, 1, 1],
    )


def test_markov_removal_effects_match_the_closed_form(three_channels):
    """
    Transitions, weighted by journeys (conversions + nulls):
      start: A 4, B 2, C 2  -> 1/2, 1/4, 1/4
      A:     B 2, C 2       -> 1/2, 1/2
      B:     conv 4, null 2 -> 2/3, 1/3
      C:     B 2, null 2    -> 1/2, 1/2
    Conversion probabilities: x_B = 2/3, x_C = 1/2 x_B = 1/3, x_A = 1/2 x_B + 1/2 x_C = 1/2,
    x_start = 1/2 x_A + 1/4 x_B + 1/4 x_C = 1/4 + 1/6 + 1/12 = 1/2 (= 4 conversions / 8 journeys).
    Remove A (start -> A goes to null): 1/4 * 2/3 + 1/4 * 1/3 = 1/4 -> RE_A = 1 - (1/4)/(1/2) = 1/2.
    Remove B: every path to conversion passes B -> 0 -> RE_B = 1.
    Remove C: x_A = 1/2 * 2/3 = 1/3, x_start = 1/6 + 1/6 = 1/3 -> RE_C = 1/3.
    Sum 11/6; 4 conversions -> A 12/11, B 24/11, C 8/11; value 20 -> 60/11, 120/11, 40/11.
    """
    result = engine.markov(three_channels)
    assert result.conversion_probability == pytest.approx(0.5, rel=1e-12)
    assert dict(zip(result.channels, result.removal_effects, strict=True)) == approx(
        {"A": 1 / 2, "B": 1.0, "C": 1 / 3}
    )
    assert credit(result) == approx({"A": 12 / 11, "B": 24 / 11, "C": 8 / 11})
    assert credit(result, "value") == approx({"A": 60 / 11, "B": 120 / 11, "C": 40 / 11})


def test_markov_repeated_channels_change_nothing(three_channels):
    # A > A > B and C > C > B > B are the same first-order journeys as A > B and C > B.
    repeated = Journeys.from_paths(
        [["A", "A", "B"], ["A", "C"], ["B"], ["C", "C", "B", "B"]],
        conversions=[2, 0, 1, 1],
        value=[10, 0, 3, 7],
        nulls=[0, 2, 1, 1],
    )
    assert credit(engine.markov(repeated)) == approx(credit(engine.markov(three_channels)))


def test_markov_with_no_conversion_credits_nothing():
    j = Journeys.from_paths([["A", "B"], ["B"]], conversions=[0, 0], nulls=[3, 1])
    result = engine.markov(j)
    assert credit(result) == {"A": 0.0, "B": 0.0}
    assert result.conversion_probability == 0.0


def test_markov_transition_counts(small):
    chain = engine.transition_counts(small)
    a, b, c, start, conv, null = 0, 1, 2, 3, 4, 5
    counts = chain.counts
    # start: P1 A x3, P2 A x1, P3 B x3, P4 C x3
    assert counts[start, [a, b, c]].tolist() == [4, 3, 3]
    # P3 B > C > A > C (x3): B->C, C->A, A->C; P2 A->B (x1)
    assert counts[b, c] == 3 and counts[c, a] == 3 and counts[a, c] == 3 and counts[a, b] == 1
    assert counts[a, conv] == 2 and counts[a, null] == 1  # P1
    assert counts[c, conv] == 1 and counts[c, null] == 2 + 3  # P3 and P4


# --- Shapley ------------------------------------------------------------------------------


def test_shapley_by_hand():
    # v({A}) = 3, v({B}) = 0, v({A, B}) = 5: phi_A = (3 + 5)/2 = 4, phi_B = (0 + 2)/2 = 1.
    j = Journeys.from_paths([["A"], ["A", "B", "A"]], conversions=[3, 2], value=[30, 20])
    result = engine.shapley(j)
    assert credit(result) == approx({"A": 4, "B": 1})
    assert credit(result, "value") == approx({"A": 40, "B": 10})
    assert result.method == "exact (all 4 coalitions)"


def test_shapley_subset_sums_against_brute_force():
    rng = np.random.default_rng(3)
    f = rng.random(1 << 5)
    g = engine.subset_sums(f, 5)
    for s in range(1 << 5):
        assert g[s] == pytest.approx(sum(f[t] for t in range(1 << 5) if t & s == t))


def test_shapley_symmetry():
    # B and C play the same role (each appears with A once, equally valued).
    j = Journeys.from_paths([["A", "B"], ["C", "A"], ["D"]], conversions=[2, 2, 1], value=[1, 1, 7])
    got = credit(engine.shapley(j))
    assert got["B"] == pytest.approx(got["C"], rel=1e-12)
    assert got["D"] == pytest.approx(1)


paths_strategy = st.lists(
    st.tuples(
        st.lists(st.integers(0, 7), min_size=1, max_size=6),
        st.integers(0, 20),
        st.floats(0, 1000, allow_nan=False),
    ),
    min_size=1,
    max_size=25,
)


def _journeys(rows) -> Journeys:
    return Journeys.from_paths(
        [[f"c{i}" for i in path] for path, _, _ in rows],
        conversions=[conv for _, conv, _ in rows],
        value=[val for _, _, val in rows],
        nulls=[1 for _ in rows],
    )


@settings(max_examples=60, deadline=None)
@given(paths_strategy)
def test_shapley_efficiency_and_both_exact_methods_agree(rows):
    j = _journeys(rows)
    by_subsets = engine.shapley_by_subsets(j)
    by_dividends = engine.shapley_by_dividends(j)
    for exact, other, total in zip(
        by_subsets, by_dividends, (j.total_conversions, j.total_value), strict=True
    ):
        assert exact.sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
        np.testing.assert_allclose(exact, other, rtol=1e-9, atol=1e-9)
    sampled = engine.shapley(j, "sampled", permutations=20, seed=1)
    assert sampled.conversions.sum() == pytest.approx(j.total_conversions, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(paths_strategy)
def test_every_model_keeps_the_totals(rows):
    j = _journeys(rows)
    for model, result in attribute(j).items():
        assert result.conversions.sum() == pytest.approx(j.total_conversions, rel=1e-9, abs=1e-9), (
            model
        )
        assert result.value.sum() == pytest.approx(j.total_value, rel=1e-9, abs=1e-6), model
        assert (result.conversions >= -1e-12).all(), model


def test_sampled_shapley_agrees_with_exact_within_its_error():
    rng = np.random.default_rng(7)
    paths = [[f"c{k}" for k in rng.integers(0, 10, size=rng.integers(1, 6))] for _ in range(300)]
    j = Journeys.from_paths(paths, conversions=rng.integers(0, 5, 300), value=rng.random(300) * 100)
    exact = engine.shapley(j)
    sampled = engine.shapley(j, "sampled", permutations=4000, seed=11)
    assert sampled.method == "sampled (4000 permutations, seed 11)"
    # Deterministic (seeded); every estimate lies within 4 standard errors of the truth.
    gap = np.abs(sampled.conversions - exact.conversions)
    assert (gap <= 4 * sampled.conversions_se + 1e-9).all()
    assert (np.abs(sampled.value - exact.value) <= 4 * sampled.value_se + 1e-9).all()
    assert sampled.conversions.sum() == pytest.approx(j.total_conversions)
    again = engine.shapley(j, "sampled", permutations=4000, seed=11)
    np.testing.assert_array_equal(again.conversions, sampled.conversions)


def test_shapley_beyond_the_subset_limit_is_exact_by_dividends():
    n = engine.SHAPLEY_SUBSET_LIMIT + 2
    paths = [[f"c{i:02d}", f"c{(i + 1) % n:02d}"] for i in range(n)] + [["c00"]]
    j = Journeys.from_paths(paths, conversions=[1] * n + [Fraction(5)], value=[2] * (n + 1))
    result = engine.shapley(j)
    assert result.method == "exact (Harsanyi dividends)"
    got = credit(result)
    # Every pair path gives 1/2 to each member; c00 also has the single path's 5.
    assert got["c00"] == pytest.approx(1 + 5)
    assert got["c05"] == pytest.approx(1)


# --- journeys ----------------------------------------------------------------------------


def test_journeys_refuse_bad_input():
    with pytest.raises(JourneyError, match="must be finite and not negative"):
        Journeys.from_paths([["A"]], conversions=[-1])
    with pytest.raises(JourneyError, match="at least one touch"):
        Journeys.from_paths([[]], conversions=[1])
    with pytest.raises(JourneyError, match="Unknown model"):
        attribute(Journeys.from_paths([["A"]], conversions=[1]), ["magic"])


# --- parity with ChannelAttribution on its own example data -------------------------------


@pytest.mark.realdata
def test_first_last_linear_equal_channelattribution_on_its_example_data():
    ca = pytest.importorskip(
        "ChannelAttribution",
        reason="the ChannelAttribution package is in the `bench` extra (pip install channelattribution)",
    )
    if not (DATA / "Data.csv").exists():
        pytest.skip(f"the ChannelAttribution example data is not at {DATA}")
    import pandas as pd

    from smarketing.analytics.attribution.paths import parse_paths

    journeys = parse_paths((DATA / "Data.csv").read_text())
    ours = attribute(journeys, ["first", "last", "linear"])
    frame = pd.read_csv(DATA / "Data.csv", sep=";")
    theirs = ca.heuristic_models(
        frame, "path", "total_conversions", var_value="total_conversion_value", flg_pro=False
    )
    assert len(theirs) == len(journeys.channels) == 12
    for model, column in (
        ("first", "first_touch"),
        ("last", "last_touch"),
        ("linear", "linear_touch"),
    ):
        conv, value = credit(ours[model]), credit(ours[model], "value")
        for name, c, v in zip(
            theirs["channel_name"],
            theirs[f"{column}_conversions"],
            theirs[f"{column}_value"],
            strict=True,
        ):
            assert conv[name] == pytest.approx(c, rel=1e-9, abs=1e-9), (model, name)
            assert value[name] == pytest.approx(v, rel=1e-9, abs=1e-9), (model, name)
