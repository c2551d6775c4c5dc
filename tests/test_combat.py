"""ComBat (Johnson, Li & Rabinovic 2007): a hand-worked case, its effect on batches and
covariates, replay on new samples, bad input, and a cross-check with neuroCombat."""

import numpy as np
import pandas as pd
import pytest

from deepclust.preprocess import ComBat, PreprocessStep

# Two batches of four samples, three features; batch B is shifted and stretched.
X_TOY = np.array(
    [
        [1.0, 10.0, 5.0],
        [2.0, 12.0, 4.0],
        [3.0, 11.0, 6.0],
        [2.0, 13.0, 5.0],
        [6.0, 20.0, 9.0],
        [9.0, 26.0, 7.0],
        [7.0, 21.0, 11.0],
        [8.0, 25.0, 8.0],
    ]
)
BATCH_TOY = np.array(["A"] * 4 + ["B"] * 4)


def _by_hand(X, batch, tol=1e-4):
    """ComBat with no covariates, step by step as in the paper (section 3)."""
    a_rows, b_rows = batch == "A", batch == "B"
    n, d = X.shape
    # step 1: standardise. With batch indicators only, least squares gives the batch means;
    # the grand mean weighs them by batch size (here the overall mean), the pooled variance
    # is the mean squared residual from the own batch mean.
    mean_a, mean_b = X[a_rows].mean(0), X[b_rows].mean(0)
    grand = (4 * mean_a + 4 * mean_b) / 8
    resid = X - np.where(a_rows[:, None], mean_a, mean_b)
    var_pooled = (resid**2).sum(0) / n
    Z = (X - grand) / np.sqrt(var_pooled)
    out = np.empty_like(X)
    for rows in (a_rows, b_rows):
        Zi = Z[rows]
        n_i = rows.sum()
        # step 2: per-batch estimates and the priors across the three features
        g_hat = Zi.mean(0)
        d_hat = Zi.var(0, ddof=1)
        g_bar, tau2 = g_hat.mean(), g_hat.var(ddof=1)
        m, s2 = d_hat.mean(), d_hat.var(ddof=1)
        a_pr = (2 * s2 + m * m) / s2
        b_pr = (m * s2 + m**3) / s2
        # step 3: the posterior by fixed-point iteration
        g, dl = g_hat.copy(), d_hat.copy()
        for _ in range(1000):
            g_new = (n_i * tau2 * g_hat + dl * g_bar) / (n_i * tau2 + dl)
            d_new = (b_pr + 0.5 * ((Zi - g_new) ** 2).sum(0)) / (n_i / 2 + a_pr - 1)
            change = max(np.max(np.abs(g_new - g) / np.abs(g)), np.max(np.abs(d_new - dl) / np.abs(dl)))
            g, dl = g_new, d_new
            if change < tol:
                break
        # step 4: adjust and return to the original scale
        out[rows] = (Zi - g) / np.sqrt(dl) * np.sqrt(var_pooled) + grand
    return out


def test_hand_worked_two_batches():
    expected = _by_hand(X_TOY, BATCH_TOY)
    got = ComBat().fit_transform(X_TOY, batch=BATCH_TOY)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    # and the correction did something: the batch means now nearly agree
    assert np.abs(X_TOY[4:].mean(0) - X_TOY[:4].mean(0)).min() > 2.9
    assert np.abs(got[4:].mean(0) - got[:4].mean(0)).max() < 0.7  # shrunk towards the prior, not to zero


def test_standardisation_values_of_the_toy():
    # the first feature by hand: batch means 2 and 7.5, grand mean 4.75,
    # squared residuals 1,0,1,0 and 2.25,2.25,0.25,0.25 -> pooled variance 7/8
    model = ComBat().fit(X_TOY, batch=BATCH_TOY)
    assert model.grand_mean_[0] == pytest.approx(4.75)
    assert model.var_pooled_[0] == pytest.approx(7 / 8)
    assert model.gamma_hat_[0, 0] == pytest.approx((2 - 4.75) / np.sqrt(7 / 8))
    assert model.batches_ == ["A", "B"]


def _simulated(rng, n=200, d=20):
    batch = np.where(np.arange(n) < n // 2, "p1", "p2")
    # sex is unbalanced over the batches (80% vs 20% girls), so removing the batch means
    # naively would also remove part of the sex effect
    p_girl = np.where(batch == "p1", 0.8, 0.2)
    sex = np.where(rng.random(n) < p_girl, "girl", "boy")
    loadings = rng.normal(size=d)
    X = rng.normal(size=(n, d))
    X[batch == "p2"] *= 1.5  # a multiplicative plate effect (on the noise, as ComBat models it)
    X += np.where(sex == "girl", 2.0, 0.0)[:, None]  # the biology: +2 in every feature
    X += np.where(batch == "p2", 1.0, 0.0)[:, None] * (3.0 + loadings)  # an additive plate effect
    return X, batch, sex


def test_batches_no_longer_separate_and_preserved_covariate_survives():
    rng = np.random.default_rng(0)
    X, batch, sex = _simulated(rng)
    cov = pd.DataFrame({"sex": sex})
    Xc = ComBat(preserve=["sex"]).fit_transform(X, batch=batch, covariates=cov)
    for s in ("girl", "boy"):  # within each sex, the plates now agree
        gap = Xc[(batch == "p2") & (sex == s)].mean(0) - Xc[(batch == "p1") & (sex == s)].mean(0)
        assert np.abs(gap).mean() < 0.3
    raw_gap = X[(batch == "p2") & (sex == "boy")].mean(0) - X[(batch == "p1") & (sex == "boy")].mean(0)
    assert np.abs(raw_gap).mean() > 2.0
    # the spread of the plates agrees too
    ratio = Xc[batch == "p2"].std(0) / Xc[batch == "p1"].std(0)
    assert np.abs(np.log(ratio)).mean() < 0.15
    # the sex effect survives (+2 per feature; the plate rescaling shrinks it a little)
    effect = Xc[sex == "girl"].mean(0) - Xc[sex == "boy"].mean(0)
    assert 1.5 < effect.mean() < 2.5
    # without preserving sex, the unbalanced design costs part of the sex effect
    Xn = ComBat().fit_transform(X, batch=batch)
    effect_n = Xn[sex == "girl"].mean(0) - Xn[sex == "boy"].mean(0)
    assert effect_n.mean() < effect.mean() - 0.2


def test_replay_on_new_samples_and_state_round_trip():
    rng = np.random.default_rng(1)
    X, batch, sex = _simulated(rng, n=120, d=8)
    cov = pd.DataFrame({"sex": sex})
    model = ComBat(preserve=["sex"]).fit(X, batch=batch, covariates=cov)
    full = model.transform(X, batch=batch, covariates=cov)
    np.testing.assert_allclose(model.fit_transform(X, batch=batch, covariates=cov), full)
    # a subset of samples, in another order, gets exactly its rows of the full result
    rows = np.array([5, 90, 3, 61])
    part = model.transform(X[rows], batch=batch[rows], covariates=cov.iloc[rows])
    np.testing.assert_allclose(part, full[rows])
    meta, arrays = model.get_state()
    import json

    rebuilt = PreprocessStep.from_state(json.loads(json.dumps(meta)), arrays)
    np.testing.assert_allclose(rebuilt.transform(X[rows], batch=batch[rows], covariates=cov.iloc[rows]), full[rows])


def test_batch_labels_read_as_numbers_or_text_are_the_same_batch():
    model = ComBat().fit(X_TOY, batch=np.array([3] * 4 + [7] * 4))
    np.testing.assert_allclose(model.transform(X_TOY[:2], batch=["3", 3.0]), model.transform(X_TOY[:2], batch=[3, 3]))


def test_unseen_batch_is_a_clear_error():
    model = ComBat().fit(X_TOY, batch=BATCH_TOY)
    with pytest.raises(ValueError, match="batch 'C' was not seen"):
        model.transform(X_TOY[:2], batch=["A", "C"])
    with pytest.raises(ValueError, match="needs the batch"):
        model.transform(X_TOY[:2])


@pytest.mark.parametrize(
    "X, batch, cov, message",
    [
        (X_TOY, ["A"] * 8, None, "at least two batches"),
        (X_TOY, ["A"] * 7 + ["B"], None, "single sample"),
        (X_TOY[:, :1], BATCH_TOY, None, "at least two features"),
        (np.where(np.eye(8, 3, dtype=bool), np.nan, X_TOY), BATCH_TOY, None, "missing values"),
        (X_TOY, BATCH_TOY[:7], None, "7 entries"),
    ],
)
def test_bad_input(X, batch, cov, message):
    with pytest.raises(ValueError, match=message):
        ComBat().fit(X, batch=batch, covariates=cov)


def test_covariate_confounded_with_batch_is_refused():
    cov = pd.DataFrame({"site_type": ["x"] * 4 + ["y"] * 4})
    with pytest.raises(ValueError, match="confounded with the batch"):
        ComBat(preserve=["site_type"]).fit(X_TOY, batch=BATCH_TOY, covariates=cov)


def test_unseen_covariate_level_is_refused():
    cov = pd.DataFrame({"sex": ["f", "m"] * 4})
    model = ComBat(preserve=["sex"]).fit(X_TOY, batch=BATCH_TOY, covariates=cov)
    with pytest.raises(ValueError, match="level 'x'"):
        model.transform(X_TOY[:1], batch=["A"], covariates=pd.DataFrame({"sex": ["x"]}))


def test_mean_only_leaves_the_batch_variances():
    rng = np.random.default_rng(2)
    X, batch, _ = _simulated(rng, n=100, d=6)
    Xc = ComBat(mean_only=True).fit_transform(X, batch=batch)
    np.testing.assert_allclose(Xc[batch == "p2"].std(0), X[batch == "p2"].std(0), rtol=1e-9)
    gap = np.abs(Xc[batch == "p2"].mean(0) - Xc[batch == "p1"].mean(0)).mean()
    assert gap < 0.5 * np.abs(X[batch == "p2"].mean(0) - X[batch == "p1"].mean(0)).mean()


@pytest.mark.parametrize("mean_only", [False, True])
def test_agrees_with_neurocombat(mean_only):
    """neuroCombat ports the authors' R code (sva::ComBat); it must give the same data."""
    nc = pytest.importorskip("neuroCombat")
    rng = np.random.default_rng(3)
    X, batch, sex = _simulated(rng, n=90, d=7)
    batch = np.where(np.arange(90) % 3 == 0, "p3", batch)  # three batches of unequal size
    age = rng.normal(8, 1, size=90)
    X = X + 0.5 * age[:, None]
    cov = pd.DataFrame({"batch": batch, "sex": sex, "age": age})
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # neuroCombat prints its progress
        ref = nc.neuroCombat(dat=X.T, covars=cov, batch_col="batch", categorical_cols=["sex"], continuous_cols=["age"], mean_only=mean_only)["data"].T
    got = ComBat(preserve=["sex", "age"], mean_only=mean_only).fit_transform(X, batch=batch, covariates=cov)
    np.testing.assert_allclose(got, ref, atol=1e-4 * np.abs(X).max())
