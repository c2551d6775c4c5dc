"""Preprocessing transformers, the step language, and saving / replaying a fitted chain."""

import json

import numpy as np
import pandas as pd
import pytest

from deepclust.preprocess import (
    AutoScaler,
    BatchCenterer,
    DropMissing,
    Imputer,
    LogTransform,
    MinMaxScaler,
    ParetoScaler,
    Preprocessor,
    PreprocessStep,
    SelectTopFeatures,
    parse_step,
)


# -- transforms ------------------------------------------------------------------------------
def test_log_transforms_by_hand():
    X = np.array([[1.0, 3.0], [np.e - 1, 7.0]])
    np.testing.assert_allclose(LogTransform(offset=1.0).fit_transform(X), [[np.log(2), np.log(4)], [1.0, np.log(8)]])
    np.testing.assert_allclose(LogTransform(base=2).fit_transform([[4.0, 0.5]]), [[2.0, -1.0]])
    np.testing.assert_allclose(LogTransform(base=10).fit_transform([[100.0]]), [[2.0]])


def test_log_of_non_positive_values_says_the_data_may_be_logged_already():
    with pytest.raises(ValueError, match="already be on a log scale"):
        LogTransform().fit([[1.0, -0.5]])
    fitted = LogTransform().fit([[1.0, 2.0]])
    with pytest.raises(ValueError, match="row 0, feature 1"):
        fitted.transform([[1.0, 0.0]])


def test_scalings_by_hand():
    X = np.array([[0.0, 1.0], [4.0, 1.0], [8.0, 1.0]])  # second feature constant
    sd = np.sqrt(32 / 3)
    auto = AutoScaler().fit_transform(X)
    np.testing.assert_allclose(auto[:, 0], [-4 / sd, 0, 4 / sd])
    np.testing.assert_allclose(auto[:, 1], 0.0)
    pareto = ParetoScaler().fit_transform(X)
    np.testing.assert_allclose(pareto[:, 0], [-4 / np.sqrt(sd), 0, 4 / np.sqrt(sd)])
    mm = MinMaxScaler().fit(X)
    np.testing.assert_allclose(mm.transform([[2.0, 1.0], [10.0, 1.0]]), [[0.25, 0.0], [1.25, 0.0]])


def test_scalers_ignore_missing_values():
    X = np.array([[0.0], [np.nan], [2.0]])
    out = AutoScaler().fit_transform(X)
    np.testing.assert_allclose(out[[0, 2], 0], [-1.0, 1.0])
    assert np.isnan(out[1, 0])


# -- missing values -------------------------------------------------------------------------------
def test_drop_missing_and_median_imputation():
    X = np.array([[1.0, np.nan, 5.0], [np.nan, np.nan, 6.0], [3.0, 2.0, np.nan], [5.0, np.nan, 8.0]])
    drop = DropMissing(0.5).fit(X)  # missing fractions .25, .75, .25
    np.testing.assert_array_equal(drop.support_, [0, 2])
    imp = Imputer().fit(drop.transform(X))
    np.testing.assert_allclose(imp.transform(drop.transform(X)), [[1, 5], [3, 6], [3, 6], [5, 8]])
    with pytest.raises(ValueError, match="every feature"):
        DropMissing(0.1).fit(np.array([[np.nan, 1.0], [2.0, np.nan]]))


def test_knn_imputation_uses_the_nearest_training_samples():
    train = np.array([[0.0, 0.0, 10.0], [0.1, 0.1, 12.0], [5.0, 5.0, 50.0], [5.1, 5.2, 54.0]])
    imp = Imputer(strategy="knn", n_neighbors=2).fit(train)
    out = imp.transform(np.array([[0.05, 0.0, np.nan], [5.0, 5.1, np.nan]]))
    np.testing.assert_allclose(out[:, 2], [11.0, 52.0])  # the mean of the two nearest donors
    meta, arrays = imp.get_state()
    again = PreprocessStep.from_state(json.loads(json.dumps(meta)), arrays)
    np.testing.assert_allclose(again.transform(np.array([[5.0, 5.1, np.nan]])), out[1:])


# -- selection --------------------------------------------------------------------------------
def test_select_by_variance_and_by_mad():
    # feature 0: one outlier (large variance, MAD 0); feature 1: a broad spread; feature 2: small
    X = np.array([[0.0, -2.0, 0.1], [0.0, -1.0, 0.2], [0.0, 1.0, 0.3], [0.0, 2.0, 0.4], [100.0, 0.0, 0.5]])
    np.testing.assert_array_equal(SelectTopFeatures(1, by="variance").fit(X).support_, [0])
    sel = SelectTopFeatures(2, by="mad").fit(X)
    np.testing.assert_array_equal(sel.support_, [1, 2])
    np.testing.assert_allclose(sel.scores_, [0.0, 1.0, 0.1])
    assert sel.transform(X).shape == (5, 2)
    with pytest.warns(RuntimeWarning, match="keeping all"):
        assert SelectTopFeatures(10).fit(X).support_.tolist() == [0, 1, 2]


# -- batches ---------------------------------------------------------------------------------------
def test_batch_centring_and_scaling():
    X = np.array([[0.0], [2.0], [10.0], [14.0]])
    batch = ["a", "a", "b", "b"]
    np.testing.assert_allclose(BatchCenterer().fit_transform(X, batch=batch).ravel(), [5.5, 7.5, 4.5, 8.5])
    scaled = BatchCenterer(scale=True).fit_transform(X, batch=batch).ravel()
    assert scaled[1] - scaled[0] == pytest.approx(scaled[3] - scaled[2])
    model = BatchCenterer().fit(X, batch=batch)
    with pytest.raises(ValueError, match="batch 'c' was not seen"):
        model.transform(X[:1], batch=["c"])


# -- the step language ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, cls, params",
    [
        ("log1p", LogTransform, {"offset": 1.0, "base": None}),
        ("log:base=2", LogTransform, {"base": 2}),
        ("log10", LogTransform, {"base": 10}),
        ("pareto", ParetoScaler, {}),
        ("auto", AutoScaler, {}),
        ("dropmissing:0.3", DropMissing, {"max_fraction": 0.3}),
        ("impute:knn=7", Imputer, {"strategy": "knn", "n_neighbors": 7}),
        ("impute", Imputer, {"strategy": "median"}),
        ("select:var=20", SelectTopFeatures, {"n_features": 20, "by": "variance"}),
        ("select:mad=50", SelectTopFeatures, {"n_features": 50, "by": "mad"}),
        ("batchscale:batch=plate", BatchCenterer, {"scale": True, "batch_key": "plate"}),
        ("combat:batch=plate:preserve=sex+age:mean_only", None, {"batch_key": "plate", "preserve": ["sex", "age"], "mean_only": True}),
    ],
)
def test_step_language(text, cls, params):
    step = parse_step(text)
    if cls is not None:
        assert type(step) is cls
    for k, v in params.items():
        assert getattr(step, k) == v


@pytest.mark.parametrize(
    "text, message",
    [
        ("paretto", "did you mean 'pareto'"),
        ("combat", "needs the metadata column of the batch"),
        ("select:mad=100:extra", "unknown option 'extra'"),
        ("log:bse=2", "did you mean 'base'"),
        ("combat:batch=", "key=value"),
    ],
)
def test_step_language_errors(text, message):
    with pytest.raises(ValueError, match=message):
        Preprocessor(text)


def _table(rng, n=40, d=6):
    X = rng.lognormal(size=(n, d))
    X[rng.random((n, d)) < 0.05] = np.nan
    meta = pd.DataFrame({"plate": np.repeat([1, 2], n // 2), "sex": rng.choice(["f", "m"], n)}, index=[f"s{i}" for i in range(n)])
    return X, meta


def test_chain_fits_saves_and_replays(tmp_path):
    rng = np.random.default_rng(0)
    X, meta = _table(rng)
    pre = Preprocessor("dropmissing:0.5,impute:knn=3,log,combat:batch=plate:preserve=sex,select:mad=4,pareto")
    assert pre.metadata_columns() == ["plate", "sex"]
    Xt = pre.fit_transform(X, meta)
    assert Xt.dtype == np.float32 and Xt.shape == (40, 4) and np.isfinite(Xt).all()
    assert len(pre.support_) == 4
    files = pre.save(tmp_path)
    assert {f.name for f in files} == {"preprocess.json", "preprocess.safetensors"}
    doc = json.loads((tmp_path / "preprocess.json").read_text())
    assert [s["spec"] for s in doc["steps"]][3] == "combat:batch=plate:preserve=sex"
    again = Preprocessor.load(tmp_path)
    rows = [3, 30, 7]
    np.testing.assert_allclose(again.transform(X[rows], meta.iloc[rows]), Xt[rows], rtol=1e-5, atol=1e-6)


def test_chain_without_metadata_or_with_a_wrong_column_says_what_is_missing():
    rng = np.random.default_rng(1)
    X, meta = _table(rng)
    with pytest.raises(ValueError, match="--covariates"):
        Preprocessor("impute,batchcenter:batch=plate").fit_transform(X)
    with pytest.raises(ValueError, match="did you mean 'plate'"):
        Preprocessor("impute,combat:batch=plates").fit_transform(X, meta)


def test_missing_values_left_over_are_reported():
    X = np.array([[1.0, np.nan], [2.0, 3.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="impute"):
        Preprocessor("standard").fit_transform(X)


def test_the_old_scaling_state_and_the_new_chain_agree():
    from deepclust.preprocess import fit_scaling

    X = np.random.default_rng(2).normal(size=(30, 4)).astype(np.float32)
    old, _ = fit_scaling("standard", X)
    np.testing.assert_allclose(Preprocessor("standard").fit_transform(X), old, atol=1e-5)
