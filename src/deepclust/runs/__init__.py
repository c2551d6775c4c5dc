"""A run folder: fit a method on a dataset and write labels, metrics, a plot and the model.

A run is a :class:`RunConfig` and a pipeline of small steps, each in its own module:
:mod:`~deepclust.runs.data` (preprocessing and scaling, the number of clusters, confounder
columns), :mod:`~deepclust.runs.fitting` (k choice, seeds, snapshots, checkpoints),
:mod:`~deepclust.runs.writing` (metrics, files), :mod:`~deepclust.runs.pipeline` (the order of
the steps: :func:`fit_run`, :func:`select_k_run`) and :mod:`~deepclust.runs.predict`.

Layout of ``DIR`` (written atomically: the folder appears complete or not at all)::

    labels.csv        sample_id, cluster
    metrics.json      run description and metrics (internal always, external with labels);
                      "scaling" says which scaling ran and why; "timings" the wall seconds
                      of each phase (load, preprocess, fit, transform, evaluate, writing)
    embedding.png     2-D view of the clustered representation, coloured by cluster
    history.json      per-epoch training losses (deep methods)
    preprocess.json   the preprocessing chain applied before the model (arrays in
                      preprocess.safetensors), replayed by predict
    model/            the saved estimator (JSON + safetensors)

and, when asked for or when they apply:

    select_k.csv, select_k.png   the k sweep (n_clusters="auto")
    stability.json, stability_ari.csv   agreement between seeds (several seeds)
    explain/          feature and covariate tables, heatmap (explain=True)
    snapshots.npz     2-D embedding of <= 2000 samples after every epoch (deep methods)
    embedding_2d.npz  2-D view of every sample with labels (for the report)
    images.npz        reconstructions, samples nearest each centre, generated samples (images)
"""

from deepclust.runs.config import RunConfig, RunResult, checkpoint_folder, default_out_dir
from deepclust.runs.pipeline import SelectKRun, fit_run, run_pipeline, select_k_run
from deepclust.runs.predict import predict_run, saved_preprocess_steps

__all__ = ["RunConfig", "RunResult", "SelectKRun", "checkpoint_folder", "default_out_dir", "fit_run", "predict_run",
           "run_pipeline", "saved_preprocess_steps", "select_k_run"]
