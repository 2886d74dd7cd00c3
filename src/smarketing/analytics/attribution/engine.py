"""The attribution engine: rule-based models, first-order Markov (exact) and Shapley values.

Pure NumPy, no Django: the paths file, the database runner, the API and the benchmark
all hand it the same `Journeys` (aggregated paths encoded as integer arrays, CSR style)
and read the same `ModelResult` back. Every rule model turns a path into per-touch
weights that sum to 1, so a converting path always hands out exactly its conversions
and its value; the per-channel credit is one `np.bincount` over all touches.
docs/attribution.md gives every percentage, formula and edge case.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

SALES_PREFIX = "sales:"

FIRST, LAST, LINEAR = "first", "last", "linear"
U_SHAPED, W_SHAPED, FULL_PATH = "u_shaped", "w_shaped", "full_path"
TIME_DECAY, J_SHAPED, INVERSE_J = "time_decay", "j_shaped", "inverse_j"
MARKOV, SHAPLEY = "markov", "shapley"
RULE_MODELS = (
    FIRST,
    LAST,
    LINEAR,
    U_SHAPED,
    W_SHAPED,
    FULL_PATH,
    TIME_DECAY,
    J_SHAPED,
    INVERSE_J,
)
MODELS = (*RULE_MODELS, MARKOV, SHAPLEY)

DEFAULT_HALF_LIFE = 7.0
# Up to this many channels Shapley values come from the subset sums of all 2**n coalitions.
SHAPLEY_SUBSET_LIMIT = 16
# Bitmask coalitions need one bit per channel in an int64.
MAX_MASK_CHANNELS = 62
DEFAULT_PERMUTATIONS = 2000
# The Markov chain is solved with a dense inverse: (channels + 1)² floats.
MAX_MARKOV_CHANNELS = 5000


class JourneyError(ValueError):
    """Journeys the engine cannot use (negative counts, empty paths, misaligned arrays)."""


def is_sales(channel: str) -> bool:
    """Sales activities are channels named `sales:<kind>`; everything else is marketing."""
    return channel.startswith(SALES_PREFIX)


@dataclass(frozen=True, eq=False)
class Journeys:
    """Aggregated customer journeys.

    Path `i` is `touches[offsets[i]:offsets[i + 1]]` (codes into `channels`), in time
    order, repeats allowed; `conversions[i]`, `value[i]` and `nulls[i]` say how many
    journeys followed it to a conversion, what they were worth, and how many did not convert.

    Optional, from the database: `age_days` per touch (days from the touch to the
    conversion, or to the end of a non-converting journey) for time decay, and per path
    the index inside the path of the lead-creation touch (`lead_at`) and of the
    opportunity-creation touch (`opportunity_at`), -1 when unknown.
    """

    channels: tuple[str, ...]
    offsets: np.ndarray
    touches: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray
    age_days: np.ndarray | None = None
    lead_at: np.ndarray | None = None
    opportunity_at: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.conversions)
        if len(self.offsets) != n + 1 or len(self.value) != n or len(self.nulls) != n:
            raise JourneyError(
                "offsets, conversions, value and nulls do not describe the same paths."
            )
        if n and (self.offsets[0] != 0 or self.offsets[-1] != len(self.touches)):
            raise JourneyError("offsets must start at 0 and end at the number of touches.")
        if n and np.any(np.diff(self.offsets) < 1):
            raise JourneyError("every path needs at least one touch.")
        if len(self.touches) and (
            self.touches.min() < 0 or self.touches.max() >= len(self.channels)
        ):
            raise JourneyError("touch codes must index the channel list.")
        for name in ("conversions", "value", "nulls"):
            column = getattr(self, name)
            if not np.all(np.isfinite(column)) or np.any(column < 0):
                raise JourneyError(f"{name} must be finite and not negative.")
        if self.age_days is not None and len(self.age_days) != len(self.touches):
            raise JourneyError("age_days needs one value per touch.")
        for name in ("lead_at", "opportunity_at"):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise JourneyError(f"{name} needs one value per path.")

    @classmethod
    def from_paths(
        cls,
        paths: Sequence[Sequence[str]],
        conversions: Iterable[float],
        value: Iterable[float] | None = None,
        nulls: Iterable[float] | None = None,
        **extra: np.ndarray | None,
    ) -> Journeys:
        """Journeys from lists of channel names (channels are numbered in sorted order)."""
        names = sorted({c for p in paths for c in p})
        code = {c: i for i, c in enumerate(names)}
        lengths = np.fromiter((len(p) for p in paths), dtype=np.int64, count=len(paths))
        offsets = np.zeros(len(paths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        touches = np.fromiter(
            (code[c] for p in paths for c in p), dtype=np.int32, count=int(offsets[-1])
        )
        conv = np.asarray(list(conversions), dtype=np.float64)
        return cls(
            channels=tuple(names),
            offsets=offsets,
            touches=touches,
            conversions=conv,
            value=np.zeros_like(conv) if value is None else np.asarray(list(value), float),
            nulls=np.zeros_like(conv) if nulls is None else np.asarray(list(nulls), float),
            **extra,
        )

    # --- derived arrays, computed once -------------------------------------------------

    @property
    def n_paths(self) -> int:
        return len(self.conversions)

    @cached_property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def path_of(self) -> np.ndarray:
        """The path each touch belongs to."""
        return np.repeat(np.arange(self.n_paths, dtype=np.int64), self.lengths)

    @cached_property
    def position(self) -> np.ndarray:
        """Each touch's 0-based position inside its path."""
        return np.arange(len(self.touches), dtype=np.int64) - self.offsets[:-1][self.path_of]

    @cached_property
    def sides(self) -> np.ndarray:
        """True for sales channels."""
        return np.array([is_sales(c) for c in self.channels], dtype=bool)

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        return float(self.value.sum())


@dataclass
class ModelResult:
    """Credit per channel (aligned with `channels`) for conversions and for value."""

    model: str
    channels: tuple[str, ...]
    conversions: np.ndarray
    value: np.ndarray
    method: str = ""
    conversions_se: np.ndarray | None = None
    value_se: np.ndarray | None = None
    removal_effects: np.ndarray | None = None
    conversion_probability: float | None = None
    notes: list[str] = field(default_factory=list)

    def split(self) -> dict[str, float]:
        """Marketing vs sales credit (conversions and value)."""
        sales = np.array([is_sales(c) for c in self.channels], dtype=bool)
        return {
            "marketing_conversions": float(self.conversions[~sales].sum()),
            "sales_conversions": float(self.conversions[sales].sum()),
            "marketing_value": float(self.value[~sales].sum()),
            "sales_value": float(self.value[sales].sum()),
        }


# --- rule-based models -------------------------------------------------------------------

# (share of the first touch, share of the last touch, share spread over the touches between)
POSITION_SHARES = {
    U_SHAPED: (0.4, 0.4, 0.2),
    J_SHAPED: (0.2, 0.6, 0.2),
    INVERSE_J: (0.6, 0.2, 0.2),
}
W_SHARES = (0.3, 0.3, 0.3, 0.1)  # first, lead creation, last, rest
FULL_PATH_SHARES = (0.225, 0.225, 0.225, 0.225, 0.1)  # first, lead, opportunity, close, rest


def _credit(j: Journeys, weights: np.ndarray, model: str, method: str = "") -> ModelResult:
    """Hand each path's conversions and value to its touches in proportion to `weights`."""
    path_of = j.path_of
    c = len(j.channels)
    conv = np.bincount(j.touches, weights * j.conversions[path_of], minlength=c)
    val = np.bincount(j.touches, weights * j.value[path_of], minlength=c)
    return ModelResult(model, j.channels, conv, val, method=method)


def _normalised(j: Journeys, w: np.ndarray) -> np.ndarray:
    total = np.bincount(j.path_of, w, minlength=j.n_paths)
    return w / total[j.path_of]


def first_weights(j: Journeys) -> np.ndarray:
    return (j.position == 0).astype(np.float64)


def last_weights(j: Journeys) -> np.ndarray:
    return (j.position == j.lengths[j.path_of] - 1).astype(np.float64)


def linear_weights(j: Journeys) -> np.ndarray:
    return 1.0 / j.lengths[j.path_of]


def _role_weights(
    j: Journeys, roles: Sequence[tuple[float, np.ndarray]], rest: float
) -> np.ndarray:
    """Each role's share to the touch at its position (-1: role absent), `rest` over the others.

    Roles may land on the same touch; their shares then add up. The touches no role
    landed on share `rest` equally. Weights are normalised per path, so when a path has
    no such touches (or a role is absent) the shares that are there keep their proportions.
    """
    w = np.zeros(len(j.touches), dtype=np.float64)
    key = np.zeros(len(j.touches), dtype=bool)
    starts = j.offsets[:-1]
    for share, at in roles:
        present = at >= 0
        index = starts[present] + at[present]
        w[index] += share
        key[index] = True
    others = ~key
    n_others = np.bincount(j.path_of[others], minlength=j.n_paths)
    w[others] += rest / n_others[j.path_of[others]]
    return _normalised(j, w)


def position_weights(j: Journeys, model: str) -> np.ndarray:
    """U-shaped, J-shaped and inverse J: first / last / the rest spread over the middle."""
    first, last, middle = POSITION_SHARES[model]
    return _role_weights(j, [(first, np.zeros(j.n_paths, np.int64)), (last, j.lengths - 1)], middle)


def _key_positions(j: Journeys, known: np.ndarray | None, i: int, k: int) -> np.ndarray:
    """Where the i-th of k key touches is: the known index, else floor(i·(n-1)/(k-1)) when n > k."""
    n = j.lengths
    fallback = np.where(n > k, (i * (n - 1)) // (k - 1), -1)
    if known is None:
        return fallback
    known = np.where(known < n, known, n - 1)
    return np.where(known >= 0, known, fallback)


def _keyed_weights(
    j: Journeys, shares: Sequence[float], middles: Sequence[np.ndarray | None]
) -> np.ndarray:
    """W-shaped and full path: first, the middle key touches, last, and the rest."""
    k = len(shares) - 1
    roles = [(shares[0], np.zeros(j.n_paths, np.int64))]
    for i, known in enumerate(middles, start=1):
        roles.append((shares[i], _key_positions(j, known, i, k)))
    roles.append((shares[k - 1], j.lengths - 1))
    w = _role_weights(j, roles, shares[k])
    # A short path whose key touches are not known is split equally (every touch is key).
    unknown = np.ones(j.n_paths, dtype=bool)
    for known in middles:
        if known is not None:
            unknown &= known < 0
    equal = (j.lengths <= k) & unknown
    touch_equal = equal[j.path_of]
    w[touch_equal] = 1.0 / j.lengths[j.path_of][touch_equal]
    return w


def w_shaped_weights(j: Journeys) -> np.ndarray:
    first, lead, last, rest = W_SHARES
    return _keyed_weights(j, (first, lead, last, rest), [j.lead_at])


def full_path_weights(j: Journeys) -> np.ndarray:
    return _keyed_weights(j, FULL_PATH_SHARES, [j.lead_at, j.opportunity_at])


def time_decay_weights(j: Journeys, half_life: float) -> np.ndarray:
    """2^(-age / half-life), age in days when known, else in touches before the last one."""
    if not half_life > 0:
        raise JourneyError("The half-life must be a positive number.")
    if j.age_days is not None:
        age = j.age_days.astype(np.float64)
    else:
        age = (j.lengths[j.path_of] - 1 - j.position).astype(np.float64)
    # Relative to the path's most recent touch (weight 1), so old journeys never underflow to 0/0.
    newest = np.full(j.n_paths, np.inf)
    np.minimum.at(newest, j.path_of, age)
    return _normalised(j, np.exp2(-(age - newest[j.path_of]) / half_life))


def rule_model(j: Journeys, model: str, half_life: float = DEFAULT_HALF_LIFE) -> ModelResult:
    if model == FIRST:
        return _credit(j, first_weights(j), model)
    if model == LAST:
        return _credit(j, last_weights(j), model)
    if model == LINEAR:
        return _credit(j, linear_weights(j), model)
    if model in POSITION_SHARES:
        return _credit(j, position_weights(j, model), model)
    if model == W_SHAPED:
        return _credit(j, w_shaped_weights(j), model)
    if model == FULL_PATH:
        return _credit(j, full_path_weights(j), model)
    if model == TIME_DECAY:
        unit = "days" if j.age_days is not None else "touches"
        return _credit(
            j,
            time_decay_weights(j, half_life),
            model,
            method=f"half-life {half_life:g} {unit}",
        )
    raise JourneyError(f"Unknown rule model {model!r}.")


# --- Markov ------------------------------------------------------------------------------


@dataclass
class MarkovChain:
    """Transition counts of the first-order chain; states: channels, start, conversion, null."""

    counts: np.ndarray

    @property
    def n_channels(self) -> int:
        return self.counts.shape[0] - 3

    def probabilities(self) -> np.ndarray:
        rows = self.counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, self.counts / rows, 0.0)


def transition_counts(j: Journeys) -> MarkovChain:
    """Counts of start → channel → … → conversion/null over every journey.

    Consecutive repeats of a channel are collapsed (as ChannelAttribution does); for a
    first-order chain this changes no absorption probability (see docs/attribution.md).
    """
    c = len(j.channels)
    start, conv, null = c, c + 1, c + 2
    size = c + 3
    t = j.touches.astype(np.int64)
    first = j.position == 0
    previous = np.empty_like(t)
    previous[1:] = t[:-1]
    previous[first] = start
    step = first | (t != previous)
    journeys = (j.conversions + j.nulls)[j.path_of]
    flat = np.bincount(
        previous[step] * size + t[step], weights=journeys[step], minlength=size * size
    )
    counts = flat.reshape(size, size)
    last = t[j.offsets[1:] - 1]
    counts[:, conv] += np.bincount(last, weights=j.conversions, minlength=size)
    counts[:, null] += np.bincount(last, weights=j.nulls, minlength=size)
    return MarkovChain(counts)


def markov(j: Journeys) -> ModelResult:
    """Removal effects from the absorbing chain, solved exactly.

    With Q the transient part (channels and start) and r the one-step conversion
    probabilities, x = (I - Q)^-1 r are the conversion probabilities from each state.
    Removing channel c (every transition into c goes to null) forces x_c = 0; by
    Sherman-Morrison on the fundamental matrix N = (I - Q)^-1 the start's probability
    becomes x_s - N[s,c]·x_c / N[c,c], so one inverse gives every removal effect:
    RE_c = N[s,c]·x_c / (N[c,c]·x_s). Value uses the same chain with r replaced by the
    conversion value per step into conversion (y = N r_value: the expected value).
    """
    c = len(j.channels)
    if c > MAX_MARKOV_CHANNELS:
        raise JourneyError(f"The Markov model handles at most {MAX_MARKOV_CHANNELS} channels.")
    chain = transition_counts(j)
    p = chain.probabilities()
    transient = c + 1  # the channels, then start
    q = p[:transient, :transient]
    leaving = chain.counts[:transient].sum(axis=1)
    last = j.touches[j.offsets[1:] - 1]
    value_out = np.bincount(last, weights=j.value, minlength=transient)
    with np.errstate(invalid="ignore", divide="ignore"):
        r_value = np.where(leaving > 0, value_out / leaving, 0.0)
    n = np.linalg.inv(np.eye(transient) - q)
    x = n @ p[:transient, c + 1]
    y = n @ r_value
    start = c
    diagonal = np.diagonal(n)[:c]
    reach = n[start, :c] / diagonal  # probability of ever reaching each channel

    def shares(through: np.ndarray, total: float) -> tuple[np.ndarray, np.ndarray]:
        if total <= 0:
            return np.zeros(c), np.zeros(c)
        effect = np.clip(reach * through / total, 0.0, 1.0)
        return effect, effect / effect.sum()

    removal, share = shares(x[:c], float(x[start]))
    _, value_share = shares(y[:c], float(y[start]))
    return ModelResult(
        MARKOV,
        j.channels,
        share * j.total_conversions,
        value_share * j.total_value,
        method="exact absorbing chain",
        removal_effects=removal,
        conversion_probability=float(x[start]),
    )


# --- Shapley -------------------------------------------------------------------------------


def _distinct_pairs(j: Journeys) -> tuple[np.ndarray, np.ndarray]:
    """(path, channel) once per distinct channel of each path, sorted by path."""
    c = len(j.channels)
    keys = np.unique(j.path_of * c + j.touches)
    return keys // c, keys % c


def channel_masks(j: Journeys) -> np.ndarray:
    """Each path's channel set as a bitmask (bit i = channel i)."""
    if len(j.channels) > MAX_MASK_CHANNELS:
        raise JourneyError(f"Bitmask coalitions hold at most {MAX_MASK_CHANNELS} channels.")
    if not j.n_paths:
        return np.zeros(0, dtype=np.int64)
    bits = np.left_shift(np.int64(1), j.touches.astype(np.int64))
    return np.bitwise_or.reduceat(bits, j.offsets[:-1])


def subset_sums(f: np.ndarray, n: int) -> np.ndarray:
    """Zeta transform: g[S] = Σ_{T ⊆ S} f[T] over all 2**n masks, one axis per channel."""
    g = f.astype(np.float64).copy()
    for i in range(n):
        view = g.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]
    return g


def shapley_from_game(v: np.ndarray, n: int) -> np.ndarray:
    """Exact Shapley values of the game v (one entry per coalition mask)."""
    popcount = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        popcount.reshape(-1, 2, 1 << i)[:, 1, :] += 1
    weight = np.array(
        [math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)]
    )
    phi = np.empty(n)
    for i in range(n):
        without = v.reshape(-1, 2, 1 << i)
        size = popcount.reshape(-1, 2, 1 << i)[:, 0, :]
        phi[i] = float((weight[size] * (without[:, 1, :] - without[:, 0, :])).sum())
    return phi


def shapley_by_subsets(j: Journeys) -> tuple[np.ndarray, np.ndarray]:
    """v(S) = conversions (value) of the paths whose channel set is a subset of S; exact."""
    n = len(j.channels)
    masks = channel_masks(j)
    size = 1 << n
    v_conv = subset_sums(np.bincount(masks, j.conversions, minlength=size), n)
    v_val = subset_sums(np.bincount(masks, j.value, minlength=size), n)
    return shapley_from_game(v_conv, n), shapley_from_game(v_val, n)


def shapley_by_dividends(j: Journeys) -> tuple[np.ndarray, np.ndarray]:
    """The same game through its Harsanyi dividends: exact for any number of channels.

    v is a sum of unanimity games, one per path (its conversions on its channel set T),
    so each path's conversions and value are shared equally by the distinct channels of T.
    """
    path, channel = _distinct_pairs(j)
    distinct = np.bincount(path, minlength=j.n_paths)
    c = len(j.channels)
    conv = np.bincount(channel, j.conversions[path] / distinct[path], minlength=c)
    val = np.bincount(channel, j.value[path] / distinct[path], minlength=c)
    return conv, val


def shapley_sampled(
    j: Journeys, permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Permutation sampling: mean marginal contribution over random channel orders.

    In one order a path's conversions are the marginal contribution of the last of its
    channels to arrive, so each sampled order hands out exactly the total (efficiency
    holds for every sample). Returns the estimates and their standard errors (sample
    standard deviation over the orders / √permutations).
    """
    if permutations < 2:
        raise JourneyError("Sampling needs at least two permutations.")
    c = len(j.channels)
    path, channel = _distinct_pairs(j)
    # One row per distinct channel set, with the conversions and value of its paths.
    starts = np.flatnonzero(np.r_[True, path[1:] != path[:-1]])
    counts = np.diff(np.r_[starts, len(path)])
    width = int(counts.max()) if len(counts) else 0
    table = np.full((len(starts), width), -1, dtype=np.int64)
    column = np.arange(len(path)) - np.repeat(starts, counts)
    table[np.repeat(np.arange(len(starts)), counts), column] = channel
    sets, inverse = np.unique(table, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    set_conv = np.bincount(inverse, j.conversions[path[starts]], minlength=len(sets))
    set_val = np.bincount(inverse, j.value[path[starts]], minlength=len(sets))
    set_members = sets >= 0
    rng = np.random.default_rng(seed)
    marginal_conv = np.zeros((permutations, c))
    marginal_val = np.zeros((permutations, c))
    chunk = max(1, min(permutations, 4_000_000 // max(1, sets.size)))
    for begin in range(0, permutations, chunk):
        k = min(chunk, permutations - begin)
        order = np.argsort(rng.random((k, c)), axis=1)  # order[p] lists channels by arrival
        arrival = np.argsort(order, axis=1)  # arrival[p, ch] = when ch arrives
        ranks = np.where(set_members[None], arrival[:, np.where(set_members, sets, 0)], -1)
        last_rank = ranks.max(axis=2)  # (k, sets)
        winner = np.take_along_axis(order, last_rank, axis=1)
        rows = np.repeat(np.arange(k), len(sets)) * c + winner.reshape(-1)
        marginal_conv[begin : begin + k] = np.bincount(
            rows, np.tile(set_conv, k), minlength=k * c
        ).reshape(k, c)
        marginal_val[begin : begin + k] = np.bincount(
            rows, np.tile(set_val, k), minlength=k * c
        ).reshape(k, c)
    root = math.sqrt(permutations)
    return (
        marginal_conv.mean(axis=0),
        marginal_val.mean(axis=0),
        marginal_conv.std(axis=0, ddof=1) / root,
        marginal_val.std(axis=0, ddof=1) / root,
    )


def shapley(
    j: Journeys,
    method: str = "exact",
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
) -> ModelResult:
    """Shapley values of the channel-set game; `method` is exact or sampled."""
    n = len(j.channels)
    if method == "sampled":
        conv, val, conv_se, val_se = shapley_sampled(j, permutations, seed)
        return ModelResult(
            SHAPLEY,
            j.channels,
            conv,
            val,
            method=f"sampled ({permutations} permutations, seed {seed})",
            conversions_se=conv_se,
            value_se=val_se,
        )
    if method != "exact":
        raise JourneyError(f"Unknown Shapley method {method!r}.")
    if n <= SHAPLEY_SUBSET_LIMIT:
        conv, val = shapley_by_subsets(j)
        how = f"exact (all {1 << n} coalitions)"
    else:
        conv, val = shapley_by_dividends(j)
        how = "exact (Harsanyi dividends)"
    return ModelResult(SHAPLEY, j.channels, conv, val, method=how)


# --- everything at once ------------------------------------------------------------------


def attribute(
    j: Journeys,
    models: Iterable[str] = MODELS,
    *,
    half_life: float = DEFAULT_HALF_LIFE,
    shapley_method: str = "exact",
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
) -> dict[str, ModelResult]:
    """Run each requested model on the same journeys."""
    out: dict[str, ModelResult] = {}
    for model in models:
        if model == MARKOV:
            out[model] = markov(j)
        elif model == SHAPLEY:
            out[model] = shapley(j, shapley_method, permutations, seed)
        elif model in RULE_MODELS:
            out[model] = rule_model(j, model, half_life)
        else:
            raise JourneyError(f"Unknown model {model!r}.")
    return out
