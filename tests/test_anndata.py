"""AnnData in and out: layers and obsm, scanpy's result conventions, and a dataset scanpy ships."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

anndata = pytest.importorskip("anndata", reason='needs anndata: pip install "deepclust[anndata]"')

from deepclust.cli import main  # noqa: E402
from deepclust.datasets import annotate_anndata, from_anndata, load_dataset, load_h5ad  # noqa: E402
from deepclust.metrics import ari  # noqa: E402


def _adata(n=90, seed=0):
    rng = np.random.default_rng(seed)
    groups = np.repeat(["B", "T", "NK"], n // 3)
    counts = rng.poisson(2.0, (n, 12)).astype(np.float32)
    counts[groups == "T", :4] += 20
    counts[groups == "NK", 4:8] += 20
    ad = anndata.AnnData(np.log1p(counts), obs=pd.DataFrame({"cell_type": groups, "batch": rng.choice(["b1", "b2"], n)}, index=[f"cell{i}" for i in range(n)]),
                         var=pd.DataFrame(index=[f"g{j}" for j in range(12)]))
    ad.layers["counts"] = counts
    ad.obsm["X_pca"] = (ad.X - ad.X.mean(0)) @ np.linalg.svd(ad.X - ad.X.mean(0), full_matrices=False)[2][:3].T
    return ad


def test_from_anndata_reads_x_layer_and_obsm():
    ad = _adata()
    ds = from_anndata(ad, label_column="cell_type")
    assert ds.X.shape == (90, 12) and ds.feature_names[0] == "g0" and ds.sample_ids[0] == "cell0"
    assert ds.info["classes"] == ["B", "NK", "T"] and ds.y[0] == 0
    assert list(ds.metadata.columns) == ["cell_type", "batch"]
    assert np.array_equal(from_anndata(ad, layer="counts").X, ad.layers["counts"])
    pca = from_anndata(ad, obsm="X_pca")
    assert pca.X.shape == (90, 3) and pca.feature_names == ["X_pca_1", "X_pca_2", "X_pca_3"]


def test_sparse_input_and_bad_requests():
    import scipy.sparse

    ad = _adata()
    ad.X = scipy.sparse.csr_matrix(ad.X)
    assert from_anndata(ad).X.shape == (90, 12)
    with pytest.raises(ValueError, match="not both"):
        from_anndata(ad, layer="counts", obsm="X_pca")
    with pytest.raises(ValueError, match="layer 'raw' not found"):
        from_anndata(ad, layer="raw")
    with pytest.raises(ValueError, match="obsm key 'X_umap' not found"):
        from_anndata(ad, obsm="X_umap")
    ad.layers["counts"][3, 2] = np.nan
    with pytest.raises(ValueError, match="cell3"):
        from_anndata(ad, layer="counts")


def test_h5ad_file_through_load_dataset_and_annotate(tmp_path):
    ad = _adata()
    ad.write_h5ad(tmp_path / "cells.h5ad")
    ds = load_dataset(tmp_path / "cells.h5ad", obsm="X_pca", label_column="cell_type")
    assert ds.name == "cells" and ds.X.shape == (90, 3) and ds.y is not None
    with pytest.raises(ValueError, match="h5ad files only"):
        pd.DataFrame({"a": [1.0]}).to_csv(tmp_path / "t.csv", index=False)
        load_dataset(tmp_path / "t.csv", layer="counts")
    annotate_anndata(ad, np.arange(90) % 3, np.zeros((90, 2)), {"method": "kmeans", "seed": None})
    assert list(ad.obs["deepclust"].cat.categories) == ["0", "1", "2"] and ad.obsm["X_deepclust"].shape == (90, 2)
    assert ad.uns["deepclust"] == {"method": "kmeans"}  # None cannot be stored in h5ad


def test_fit_writes_results_back_with_scanpy_conventions(tmp_path, capsys):
    _adata().write_h5ad(tmp_path / "cells.h5ad")
    out = tmp_path / "cells_clustered.h5ad"
    code = main(["fit", "--data", str(tmp_path / "cells.h5ad"), "--layer", "counts", "--label-column", "cell_type", "--method", "kmeans",
                 "--n-clusters", "3", "--out", str(tmp_path / "run"), "--write-h5ad", str(out), "--quiet"])
    assert code == 0 and f"wrote {out}" in capsys.readouterr().out
    res = anndata.read_h5ad(out)
    assert res.obs["deepclust"].dtype.name == "category" and res.obs["deepclust"].astype(int).nunique() == 3
    assert ari(res.obs["deepclust"].astype(str), res.obs["cell_type"]) == 1.0
    assert res.obsm["X_deepclust"].shape == (90, 12)  # k-means clusters the (scaled) layer itself
    assert res.uns["deepclust"]["params"]["method"] == "kmeans" and res.uns["deepclust"]["params"]["source"]["layer"] == "counts"
    assert "acc" in res.uns["deepclust"]["metrics"]
    assert np.array_equal(res.layers["counts"], anndata.read_h5ad(tmp_path / "cells.h5ad").layers["counts"])  # the rest is untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert doc["data"]["options"] == {"label_column": "cell_type", "layer": "counts"}
    # explain reloads the h5ad as the run recorded it; obs columns are covariates
    assert main(["explain", str(tmp_path / "run"), "--quiet"]) == 0
    cov = pd.read_csv(tmp_path / "run" / "explain" / "covariates.csv").set_index("covariate")
    assert cov.loc["cell_type", "effect_size"] == pytest.approx(1.0) and cov.loc["batch", "q_value"] > 0.01
    # an existing output is kept, and a CSV input cannot be written back as h5ad
    assert main(["fit", "--data", "digits", "--method", "kmeans", "--write-h5ad", str(tmp_path / "x.h5ad"), "--out", str(tmp_path / "r2")]) == 2


def _scanpy_dataset(name: str) -> Path | None:
    spec = importlib.util.find_spec("scanpy")  # the file ships in the wheel; importing scanpy itself is slow and not needed
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / name
    return path if path.is_file() else None


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore:.*(encoding metadata|very old version).*")
def test_scanpy_pbmc68k_reduced_cell_types_are_recovered(tmp_path):
    path = _scanpy_dataset("10x_pbmc68k_reduced.h5ad")
    if path is None:
        pytest.skip("scanpy (which ships 10x_pbmc68k_reduced.h5ad) is not installed")
    ds = load_h5ad(path, obsm="X_pca", label_column="bulk_labels")
    assert ds.X.shape == (700, 50) and len(ds.info["classes"]) == 10
    out = tmp_path / "pbmc.h5ad"
    assert main(["fit", "--data", str(path), "--obsm", "X_pca", "--label-column", "bulk_labels", "--method", "gmm-diag", "--scale", "none",
                 "--n-clusters", "10", "--out", str(tmp_path / "run"), "--write-h5ad", str(out), "--quiet"]) == 0
    res = anndata.read_h5ad(out)
    assert "X_pca" in res.obsm and res.obsm["X_deepclust"].shape == (700, 50)
    # the 10 bulk-sorted populations overlap (e.g. CD4+ subsets); clusters still agree well above chance (ARI 0 is chance)
    assert ari(res.obs["deepclust"].astype(str), res.obs["bulk_labels"].astype(str)) > 0.2
