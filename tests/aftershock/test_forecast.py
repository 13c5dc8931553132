"""Forecasts: expected counts against quadrature, the Poisson mixture against scipy and Monte
Carlo, event padding of the likelihood/fit, calibration of predictive intervals on simulated
sequences, input errors and plot smoke tests."""

import importlib
import json
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
from scipy import integrate, stats

from sjax.aftershock import (
    AftershockParams,
    Catalog,
    ConstantMu,
    LogLinearMu,
    fit,
    log_likelihood,
    log_likelihood_piecewise,
    negative_log_likelihood,
    simulate_catalog,
)
from sjax.aftershock.forecast import (
    Forecast,
    completeness_magnitude,
    expected_count,
    forecast,
    observed_counts,
    parameter_draws,
    poisson_mixture_cdf,
    poisson_mixture_quantile,
)

matplotlib.use("Agg")

fit_module = importlib.import_module("sjax.aftershock.fit")  # the package attribute is the function
MREF = 6.5
LN10 = math.log(10.0)


def params_of(k, c, p, b, sigma):
    return AftershockParams(*(jnp.asarray(x, dtype=jnp.float64) for x in (k, c, p, b, sigma)))


class FakeResult(NamedTuple):
    unconstrained: jax.Array
    unconstrained_covariance: jax.Array


# ------------------------------------------------------------------------------------------
# Expected counts


@pytest.mark.parametrize("p", [0.8, 1.0, 1.0 + 1e-9, 1.3])
@pytest.mark.parametrize("window", [(0.0, 0.1), (1.0, 2.0), (0.3, 30.0)])
def test_expected_count_matches_quadrature(p, window):
    k, c, b, threshold = 0.05, 0.02, 0.9, 4.2
    start, end = window
    params = params_of(k, c, p, b, 0.2)
    got = float(expected_count(params, start, end, threshold, reference_magnitude=MREF))
    # Integrate in u = ln(t + c) (smooth integrand) to 1e-13 relative.
    value, _ = integrate.quad(lambda u: k * math.exp((1.0 - p) * u), math.log(start + c),
                              math.log(end + c), epsabs=0.0, epsrel=1e-13)  # fmt: skip
    want = value * math.exp(-b * LN10 * (threshold - MREF))
    assert got == pytest.approx(want, rel=1e-10, abs=0.0)


def test_expected_count_is_vectorised_over_draws():
    draws = params_of([0.05, 0.1, 0.02], [0.01, 0.02, 0.05], [1.0, 1.1, 0.9], [1.0, 0.8, 1.2],
                      [0.2, 0.2, 0.2])  # fmt: skip
    got = expected_count(draws, 1.0, 2.0, 5.0, reference_magnitude=MREF)
    assert got.shape == (3,)
    for s in range(3):
        one = AftershockParams(*(x[s] for x in draws))
        assert float(got[s]) == float(expected_count(one, 1.0, 2.0, 5.0, reference_magnitude=MREF))


# ------------------------------------------------------------------------------------------
# Poisson mixture

RATES = [1e-6, 0.03, 0.7, 1.0, 3.2, 17.5, 250.0, 12345.6]


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.99])
def test_single_draw_quantiles_equal_scipy_poisson_ppf(level):
    # A single draw: choose k so that Λ takes each value in RATES (window [1, 2], M_th = Mref).
    scale = float(expected_count(params_of(1.0, 0.05, 1.1, 1.0, 0.2), 1.0, 2.0, MREF,
                                 reference_magnitude=MREF))  # fmt: skip
    for rate in RATES:
        params = params_of(rate / scale, 0.05, 1.1, 1.0, 0.2)
        fc = forecast(params, [(1.0, 2.0)], [MREF], reference_magnitude=MREF, level=level)
        lam = float(fc.expected[0, 0])
        assert lam == pytest.approx(rate, rel=1e-12)
        ppf = stats.poisson.ppf([0.5, (1 - level) / 2, (1 + level) / 2], lam)
        assert [int(fc.median[0, 0]), int(fc.lower[0, 0]), int(fc.upper[0, 0])] == list(ppf)
        # P(N >= 1) = 1 - e^{-Λ}, to rounding.
        assert float(fc.prob_at_least_one[0, 0]) == pytest.approx(-math.expm1(-lam), rel=1e-15)


def test_mixture_cdf_and_quantiles_match_monte_carlo():
    rng = np.random.default_rng(1)
    rates = np.exp(rng.normal(math.log(12.0), 0.5, size=300))
    cdf = np.asarray(poisson_mixture_cdf(np.arange(-2, 80), jnp.asarray(rates)))
    assert cdf[0] == 0.0 and cdf[1] == 0.0 and np.all(np.diff(cdf) >= 0)
    m = 400_000
    counts = rng.poisson(rates[rng.integers(0, rates.size, m)])
    empirical = np.r_[0.0, 0.0, np.cumsum(np.bincount(counts, minlength=200))[:80] / m]
    se = np.sqrt(np.maximum(cdf * (1 - cdf), 1e-12) / m)
    assert np.all(np.abs(empirical - cdf) < 5 * se + 1e-12), np.max(np.abs(empirical - cdf) / se)
    # Quantile = min{n : F(n) >= q}, checked against the exact CDF.
    for q in (0.025, 0.5, 0.975):
        n = int(poisson_mixture_quantile(q, jnp.asarray(rates)))
        assert cdf[n + 2] >= q and cdf[n + 1] < q
    # The forecast's P(N >= 1) and mean are the mixture's.
    assert float(-np.mean(np.expm1(-rates))) == pytest.approx(1 - cdf[2], rel=1e-12)


def test_forecast_shapes_table_and_json():
    draws = params_of([0.05, 0.06, 0.04], [0.01, 0.02, 0.015], [1.05, 1.1, 1.0], [1.0, 0.9, 1.1],
                      [0.2, 0.2, 0.2])  # fmt: skip
    windows, thresholds = [(0.5, 1.0), (1.0, 2.0)], [4.0, 5.0, 6.0]
    fc = forecast(draws, windows, thresholds, reference_magnitude=MREF)
    assert isinstance(fc, Forecast) and fc.n_draws == 3 and fc.level == 0.95
    for name in ("expected", "median", "lower", "upper", "prob_at_least_one"):
        assert getattr(fc, name).shape == (2, 3), name
    assert np.all(fc.lower <= fc.median) and np.all(fc.median <= fc.upper)
    lam = expected_count(draws, 1.0, 2.0, 5.0, reference_magnitude=MREF)
    assert float(fc.expected[1, 1]) == pytest.approx(float(jnp.mean(lam)), rel=1e-14)
    lines = fc.table().splitlines()
    assert len(lines) == 2 + 6 and "95% interval" in lines[0]
    out = json.loads(json.dumps(fc.to_dict()))
    assert out["windows"] == [[0.5, 1.0], [1.0, 2.0]] and len(out["upper"][0]) == 3


def test_parameter_draws_follow_the_gaussian_on_the_unconstrained_scale():
    mean = np.array([math.log(0.05), math.log(0.02), 1.1, math.log(1.0), math.log(0.2), 2.5])
    a = np.diag([0.2, 0.5, 0.05, 0.03, 0.1, 0.05])
    a[0, 2] = a[2, 0] = 0.02
    cov = a @ a.T
    draws = parameter_draws(jax.random.key(0), FakeResult(jnp.asarray(mean), jnp.asarray(cov)),
                            20_000)  # fmt: skip
    assert isinstance(draws, AftershockParams) and draws.k.shape == (20_000,)
    z = np.stack([np.log(draws.k), np.log(draws.c), draws.p, np.log(draws.b),
                  np.log(draws.sigma)], axis=1)  # fmt: skip
    sd = np.sqrt(np.diag(cov[:5, :5]))
    assert np.all(np.abs(z.mean(0) - mean[:5]) < 5 * sd / math.sqrt(20_000))
    # Sample covariance within ~5 standard errors (entries scaled by sd_i sd_j).
    scaled = (np.cov(z.T) - cov[:5, :5]) / np.outer(sd, sd)
    assert np.max(np.abs(scaled)) < 5 * math.sqrt(2 / 20_000), scaled


# ------------------------------------------------------------------------------------------
# Completeness and observed counts


def test_completeness_magnitude_and_observed_counts():
    mc = completeness_magnitude(jnp.array([2.0, 3.0]), 0.25)
    np.testing.assert_allclose(mc, np.array([2.0, 3.0]) + 0.25 * stats.norm.ppf(0.98), rtol=1e-14)
    assert float(completeness_magnitude(2.0, 0.2, 0.5)) == 2.0
    cat = Catalog([0.1, 0.5, 1.0, 1.5, 2.0], [3.0, 4.5, 3.5, 5.0, 4.0], 0.0, 2.0)
    counts = observed_counts(cat, [(0.0, 1.0), (1.0, 2.0)], [3.0, 4.0, 4.5])
    np.testing.assert_array_equal(counts, [[2, 1, 1], [3, 2, 1]])  # [0,1) and [1,2] (end)
    with pytest.raises(ValueError, match="outside the catalogue window"):
        observed_counts(cat, [(1.0, 3.0)], [3.0])
    with pytest.raises(ValueError, match="probability=1.5"):
        completeness_magnitude(2.0, 0.2, 1.5)


# ------------------------------------------------------------------------------------------
# Padding


def test_zero_weight_padding_leaves_the_likelihood_unchanged():
    rng = np.random.default_rng(3)
    n, n_pad = 57, 71
    times = np.sort(2.0 * rng.uniform(size=n) ** 3)
    mags = 2.0 + rng.exponential(0.45, n)
    cat = Catalog(times, mags, 0.0, 2.0)
    padded = Catalog(jnp.asarray(np.concatenate([times, np.full(n_pad, 2.0)])),
                     jnp.asarray(np.concatenate([mags, 2.0 + 0.01 * np.arange(n_pad)])), 0.0,
                     2.0)  # fmt: skip
    weights = jnp.asarray(np.r_[np.ones(n), np.zeros(n_pad)])
    params = params_of(0.06, 0.015, 1.08, 0.95, 0.22)
    mu_events = jnp.asarray(3.0 - 0.3 * np.log1p(times / 0.02))
    mu_padded = jnp.concatenate([mu_events, jnp.full(n_pad, 9.0)])  # padding μ is ignored

    def mu_fn(t):
        return 3.0 - 0.3 * jnp.log1p(t / 0.02)

    # jit: far cheaper than op-by-op dispatch of the likelihood on the first call.
    static = ("reference_magnitude", "magnitude_cutoff")
    piecewise = jax.jit(log_likelihood_piecewise, static_argnames=static)
    quadrature = jax.jit(log_likelihood, static_argnums=2, static_argnames=static)
    nll = jax.jit(negative_log_likelihood, static_argnums=2, static_argnames=static)
    kw = {"reference_magnitude": MREF}
    pairs = [
        (piecewise(params, cat, 2.6, **kw),
         piecewise(params, padded, 2.6, event_weights=weights, **kw)),
        (piecewise(params, cat, mu_events, magnitude_cutoff=1.9, **kw),
         piecewise(params, padded, mu_padded, magnitude_cutoff=1.9, event_weights=weights, **kw)),
        (quadrature(params, cat, mu_fn, **kw),
         quadrature(params, padded, mu_fn, event_weights=weights, **kw)),
    ]  # fmt: skip
    z = jnp.array([math.log(0.06), math.log(0.015), 1.08, math.log(0.95), math.log(0.22), 2.6])
    pairs.append(
        (nll(z, cat, "constant", **kw), nll(z, padded, "constant", event_weights=weights, **kw))
    )
    for plain, weighted in pairs:
        assert float(weighted) == pytest.approx(float(plain), rel=1e-12, abs=0.0)
    # A zero-weight event in the middle: its interval merges with the next event's.
    inserted = Catalog(np.insert(times, 20, 0.5 * (times[19] + times[20])),
                       np.insert(mags, 20, 7.0), 0.0, 2.0)  # fmt: skip
    w = jnp.asarray(np.insert(np.ones(n), 20, 0.0))
    mu_inserted = jnp.asarray(np.insert(np.asarray(mu_events), 20, -5.0))
    weighted = piecewise(params, inserted, mu_inserted, event_weights=w, **kw)
    plain = piecewise(params, cat, mu_events, **kw)
    assert float(weighted) == pytest.approx(float(plain), rel=1e-12, abs=0.0)


def test_padded_size_buckets():
    assert [fit_module._padded_size(n) for n in (1, 256, 257, 511, 8191, 8192, 10_000)] == [
        256, 256, 512, 512, 8192, 8192, 10_240]  # fmt: skip


# ------------------------------------------------------------------------------------------
# Calibration: the 95 % predictive interval of the true count covers the realised count

CAL_PARAMS = params_of(0.0104, 0.05, 1.0, 1.0, 0.15)
CAL_MU = ConstantMu(jnp.float64(2.5))
CAL_THRESHOLD = 3.1  # μ + 4σ: detection probability ≥ Φ(4), recorded count complete
CAL_SEQUENCES = 80


def test_forecast_intervals_are_calibrated_on_simulated_sequences():
    # ≈ 340 recorded events on the learning window [0, 1] day; Λ ≈ 17.5 true events with
    # M ≥ 3.1 on [1, 2]. Each sequence is simulated on [0, 2], fitted on [0, 1] (constant μ),
    # and forecast from 500 Laplace draws.
    true_rate = float(expected_count(CAL_PARAMS, 1.0, 2.0, CAL_THRESHOLD,
                                     reference_magnitude=MREF))  # fmt: skip
    assert 15 < true_rate < 20
    cache_before = fit_module._optimize._cache_size()
    inside, below, above, sizes = 0, 0, 0, []
    for i in range(CAL_SEQUENCES):
        key_sim, key_draw = jax.random.split(jax.random.fold_in(jax.random.key(2024), i))
        cat = simulate_catalog(key_sim, CAL_PARAMS, CAL_MU, start=0.0, end=2.0,
                               reference_magnitude=MREF)  # fmt: skip
        result = fit(cat, reference_magnitude=MREF, mu_model="constant", window=(0.0, 1.0))
        assert result.converged, i
        sizes.append(result.n_events)
        draws = parameter_draws(key_draw, result, 500)
        fc = forecast(draws, [(1.0, 2.0)], [CAL_THRESHOLD], reference_magnitude=MREF)
        observed = int(observed_counts(cat, [(1.0, 2.0)], [CAL_THRESHOLD])[0, 0])
        lower, upper = int(fc.lower[0, 0]), int(fc.upper[0, 0])
        inside += lower <= observed <= upper
        below += observed < lower
        above += observed > upper
    coverage = inside / CAL_SEQUENCES
    print(f"\ncoverage {coverage:.3f} (below {below}, above {above}) of {CAL_SEQUENCES}; "
          f"learning-window sizes {min(sizes)}-{max(sizes)}")  # fmt: skip
    assert 0.90 <= coverage <= 0.99, (coverage, below, above)
    # Every learning catalogue has 257-512 events: one padded size, one compilation.
    assert all(256 < n <= 512 for n in sizes), (min(sizes), max(sizes))
    assert fit_module._optimize._cache_size() - cache_before <= 1


# ------------------------------------------------------------------------------------------
# Errors


def test_bad_inputs_raise_clear_errors():
    draws = params_of([0.05, 0.06], [0.01, 0.02], [1.05, 1.1], [1.0, 0.9], [0.2, 0.2])
    kw = {"reference_magnitude": MREF}
    with pytest.raises(ValueError, match="windows is empty"):
        forecast(draws, [], [4.0], **kw)
    with pytest.raises(ValueError, match=r"windows\[1\]: end=1.0 days must exceed start=2.0"):
        forecast(draws, [(0.0, 1.0), (2.0, 1.0)], [4.0], **kw)
    with pytest.raises(ValueError, match=r"windows\[0\]: end=1.0 days must exceed start=1.0"):
        forecast(draws, [(1.0, 1.0)], [4.0], **kw)
    with pytest.raises(ValueError, match="before the main shock"):
        forecast(draws, [(-1.0, 1.0)], [4.0], **kw)
    with pytest.raises(ValueError, match="magnitude_thresholds must be a non-empty"):
        forecast(draws, [(0.0, 1.0)], [], **kw)
    with pytest.raises(ValueError, match="level=1.0 must be in"):
        forecast(draws, [(0.0, 1.0)], [4.0], level=1.0, **kw)
    with pytest.raises(TypeError, match="params_draws must be AftershockParams"):
        forecast((0.05, 0.01, 1.1, 1.0, 0.2), [(0.0, 1.0)], [4.0], **kw)
    with pytest.raises(ValueError, match="params_draws.k has non-finite"):
        forecast(draws._replace(k=jnp.array([0.05, jnp.nan])), [(0.0, 1.0)], [4.0], **kw)
    with pytest.raises(ValueError, match="must not precede"):
        expected_count(draws, 2.0, 1.0, 4.0, **kw)
    mean = jnp.zeros(6)
    with pytest.raises(ValueError, match="not finite.*fit did not converge"):
        parameter_draws(jax.random.key(0), FakeResult(mean, jnp.full((6, 6), jnp.nan)), 10)
    with pytest.raises(ValueError, match="not positive semidefinite.*fit did not converge"):
        parameter_draws(jax.random.key(0), FakeResult(mean, -jnp.eye(6)), 10)
    with pytest.raises(ValueError, match="n_draws=0"):
        parameter_draws(jax.random.key(0), FakeResult(mean, jnp.eye(6)), 0)
    with pytest.raises(TypeError, match="no field 'unconstrained'"):
        parameter_draws(jax.random.key(0), draws, 10)


# ------------------------------------------------------------------------------------------
# Plots


def test_plots_return_figures():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from sjax.aftershock.plots import plot_detection_magnitude, plot_forecast, plot_rate

    cat = Catalog([0.01, 0.05, 0.2, 0.7, 1.5], [3.0, 4.5, 3.5, 5.0, 4.0], 0.0, 2.0)
    t = np.geomspace(1e-3, 2.0, 50)
    mu = 4.0 - 0.4 * np.log1p(t / 0.02)
    draws = params_of([0.05, 0.06], [0.01, 0.02], [1.05, 1.1], [1.0, 0.9], [0.2, 0.2])
    fc = forecast(draws, [(0.0, 1.0), (1.0, 2.0)], [3.0, 4.0], reference_magnitude=MREF)
    figures = [
        plot_detection_magnitude(t, mu, mu - 0.2, mu + 0.2, cat,
                                 completeness=completeness_magnitude(mu, 0.2)),
        plot_forecast(fc, observed_counts(cat, [(0.0, 1.0), (1.0, 2.0)], [3.0, 4.0])),
        plot_rate(cat, draws, magnitude_threshold=3.0, reference_magnitude=MREF),
        plot_rate(cat),
    ]  # fmt: skip
    for figure in figures:
        assert isinstance(figure, Figure)
        plt.close(figure)


def test_forecast_plot_labels_keep_every_threshold_digit():
    """Issue 20: thresholds 1.95 and 2.05 (a 0.1 bin) are labelled as such, not 'M≥1.9' and
    'M≥2.0' twice."""
    import matplotlib.pyplot as plt

    from sjax.aftershock.plots import plot_forecast

    draws = params_of([0.05, 0.06], [0.01, 0.02], [1.05, 1.1], [1.0, 0.9], [0.2, 0.2])
    fc = forecast(draws, [(0.0, 1.0)], [1.95, 2.05], reference_magnitude=MREF)
    figure = plot_forecast(fc, observed_counts(Catalog([0.1], [2.0], 0.0, 1.0), [(0.0, 1.0)],
                                               [1.95, 2.05]))  # fmt: skip
    labels = [tick.get_text() for tick in figure.axes[0].get_xticklabels()]
    plt.close(figure)
    assert any("M≥1.95" in label for label in labels), labels
    assert any("M≥2.05" in label for label in labels), labels


def test_rate_plot_compares_expected_recorded_counts_with_the_recorded_curve():
    """Issue 18 item 8: with μ(t) the model line is the expected *recorded* count (it ends
    within 3 Poisson sd of the recorded total and starts near 0), and the true-event count
    (above it while detection is incomplete) is a second, labelled line."""
    import matplotlib.pyplot as plt

    from sjax.aftershock.plots import plot_rate

    truth = AftershockParams(*(jnp.float64(v) for v in (0.01, 0.01, 1.1, 1.0, 0.25)))
    mu = LogLinearMu(jnp.float64(4.0), jnp.float64(0.4), jnp.float64(0.02))
    cat = simulate_catalog(jax.random.key(3), truth, mu, start=0.0, end=2.0,
                           reference_magnitude=MREF)  # fmt: skip
    threshold = 2.0
    n = int(np.sum(np.asarray(cat.magnitudes) >= threshold))
    draws = AftershockParams(*(jnp.stack([v, v]) for v in truth))
    figure = plot_rate(cat, draws, mu=mu, magnitude_threshold=threshold,
                       reference_magnitude=MREF)  # fmt: skip
    lines = {line.get_label(): line.get_ydata() for line in figure.axes[0].get_lines()}
    plt.close(figure)
    recorded = np.asarray(lines["model, recorded events (with detection)"])
    true = np.asarray(lines["model, true events (all detected)"])
    assert abs(recorded[-1] - n) < 3 * np.sqrt(n), (recorded[-1], n)
    assert recorded[0] < 0.05 * n
    assert np.all(true >= recorded - 1e-9) and true[-1] > 1.3 * recorded[-1]


def test_rate_plot_curve_matches_the_expected_recorded_count():
    """The figure's cumulative curve (shared quadrature nodes for all draws, issue 20 item 6:
    it took 8 s of each CLI run) equals `expected_detected_count` from the start to each
    grid time."""
    from sjax.aftershock.likelihood import expected_detected_count
    from sjax.aftershock.plots import _expected_recorded

    truth = (0.01, 0.01, 1.1, 1.0, 0.25)
    draws = AftershockParams(*(jnp.asarray([v, 1.02 * v, 0.97 * v]) for v in truth))
    mu = LogLinearMu(jnp.float64(4.0), jnp.float64(0.4), jnp.float64(0.02))
    grid = np.geomspace(1e-3, 2.0, 50)
    curve = np.asarray(_expected_recorded(draws, mu, 0.0, grid, 2.0, MREF))

    def one(draw, end):
        return expected_detected_count(draw, 0.0, end, mu, reference_magnitude=MREF,
                                       magnitude_cutoff=2.0)  # fmt: skip

    reference = jax.jit(jax.vmap(jax.vmap(one, (0, None)), (None, 0)))(draws, jnp.asarray(grid))
    assert curve.shape == (50, 3)
    np.testing.assert_allclose(curve, reference, rtol=1e-8)


def test_forecast_plot_has_head_room_and_marks_partial_windows():
    import matplotlib.pyplot as plt

    from sjax.aftershock.plots import plot_forecast

    draws = params_of([0.05, 0.06], [0.01, 0.02], [1.05, 1.1], [1.0, 0.9], [0.2, 0.2])
    fc = forecast(draws, [(0.0, 1.0), (1.0, 2.0)], [3.0], reference_magnitude=MREF)
    observed = np.array([[10.0 * float(np.max(fc.upper))], [1.0]])
    figure = plot_forecast(fc, observed, partial=[False, True])
    ax = figure.axes[0]
    labels = [tick.get_text() for tick in ax.get_xticklabels()]
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    top = ax.get_ylim()[1]
    plt.close(figure)
    assert top > 1.5 * observed.max()  # the largest marker is not on the top edge
    assert "partial" in labels[1] and "partial" not in labels[0]
    assert any("catalogue ends inside the window" in text for text in legend)
