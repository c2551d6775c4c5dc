#!/bin/bash
# The GPU checks of issue 16 (items 2 and 5) as one device call, sized for a session's 15 minutes
# of device time: the CUDA tests, the autoencoder step variants (benchmarks/ae_step_cuda.py),
# then N2D on MNIST-70k beside ClustPy (benchmarks/n2d_speed.py, resumable rows, with the
# captured-step variant). Results land in $OUT (the device tool's folder) or ./gpu_out.
#
#   bash benchmarks/gpu_check.sh prepare     # here, once: wheels, ClustPy's source, the MNIST files
#   bash benchmarks/gpu_check.sh             # there: the device tool's `run`, carry [".whl", ".gpudata"]
#
# The lent machines have PyTorch, numba and scikit-learn but not umap-learn, pynndescent or
# ClustPy, and cannot reach a package index: `prepare` downloads the two wheels, ClustPy's
# source (an sdist whose only compiled part, the dip test, is optional and unused by N2D) and
# copies the MNIST files from $DEEPCLUST_DATA into ignored folders that the call carries.
# SEEDS (default 0) and TOTAL_LIMIT (seconds for the whole script, default 570, inside the
# device tool's 600-s limit per command; n2d_speed gets what the steps before it left) are read
# from the environment. At stop 33's H100 timings: tests ~20 s, step variants ~60 s, numba ~80 s,
# then seed 0's three N2D runs ~360 s (ClustPy 218 s, deepclust 83 s, the captured variant).
set -o pipefail
cd "$(dirname "$0")/.." || exit 1

if [ "${1:-}" = "prepare" ]; then
    for d in /.whl/ /.gpudata/; do grep -qxF "$d" .git/info/exclude 2>/dev/null || echo "$d" >> .git/info/exclude; done
    mkdir -p .whl .gpudata/data .gpudata/py
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform any -d .whl umap-learn==0.5.12 pynndescent==0.7.0 || exit 1
    sdist=https://files.pythonhosted.org/packages/98/99/79abb61de254218fdeff2a3a56bb05c456ff9d2e9bdc78ee3d7b87d269bd/clustpy-0.0.3.tar.gz
    tmp=$(mktemp -d) && curl -sSL "$sdist" -o "$tmp/clustpy.tar.gz" || exit 1
    echo "083296d85a3677ca97e9c3c658c74fb74975a768c7a8c05a749c0767ef653f9f  $tmp/clustpy.tar.gz" | sha256sum -c --quiet || exit 1
    tar xzf "$tmp/clustpy.tar.gz" -C "$tmp" && rm -rf .gpudata/py/clustpy && cp -r "$tmp/clustpy-0.0.3/clustpy" .gpudata/py/ || exit 1
    cp -r "${DEEPCLUST_DATA:-../shared/data}/mnist" .gpudata/data/ && chmod -R u+w .gpudata || exit 1
    du -sh .whl .gpudata
    exit 0
fi

OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD/src:/tmp/site:$PWD/.gpudata/py DEEPCLUST_DATA=$PWD/.gpudata/data PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import torch, numba, sklearn; print('torch', torch.__version__, 'numba', numba.__version__, 'sklearn', sklearn.__version__)"
T0=$SECONDS
timeout 120 python3 -m pytest -q -p no:cacheprovider -m gpu tests/test_train.py 2>&1 | tee "$OUT/pytest_gpu.log"
echo "gpu tests: $((SECONDS - T0)) s"
T0=$SECONDS
timeout 150 python3 benchmarks/ae_step_cuda.py --out "$OUT/ae_step_cuda.json" 2>&1 | tee "$OUT/ae_step.log"
echo "ae_step_cuda: $((SECONDS - T0)) s"
# numba code of both libraries' manifold steps, compiled once, as on a machine's first use
T0=$SECONDS
python3 -c "
import numpy as np, umap
from deepclust.methods.manifold import build_manifold
from deepclust.methods.n2d import _fit_manifold
Z = np.random.default_rng(0).random((21000, 10), dtype=np.float32)
_fit_manifold(build_manifold(None, 10, 0, 21000, 10), Z)
umap.UMAP(n_neighbors=20, min_dist=0.0, n_components=10, random_state=0).fit(Z[:6000])
" 2>&1 | grep -v 'n_jobs value\|warn(' | tail -2
echo "numba warm-up: $((SECONDS - T0)) s"
left=$(( ${TOTAL_LIMIT:-570} - SECONDS ))
echo "n2d_speed gets $left s"
timeout "$left" python3 benchmarks/n2d_speed.py --seeds "${SEEDS:-0}" --cuda-graph --venv /opt/torch/.venv \
    --out "$OUT/n2d_speed.csv" 2>&1 | tee "$OUT/n2d.log"
