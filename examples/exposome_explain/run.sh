#!/usr/bin/env bash
# Cluster the exposome serum metabolome, then explain the clusters by metabolites, covariates and phenotype.
# Needs the data under $DEEPCLUST_DATA/exposome (or it is downloaded). Run from the repository root:
#   DEEPCLUST_DATA=/path/to/data bash examples/exposome_explain/run.sh
# The run folder (with report.html) goes to runs/exposome_explain; the small tables are copied here.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
RUN="${RUN:-runs/exposome_explain}"
DATA="${DEEPCLUST_DATA:-$HOME/.cache/deepclust}"

# 1. How many clusters? k-means on the standardised metabolome, k = 2..8, bootstrap stability.
deepclust select-k --data exposome --method kmeans --k-range 2-8 --bootstrap 10 --seed 0 --out "$RUN-select-k" --overwrite --quiet

# 2. Cluster with the chosen k over 10 seeds (consensus labels, stability), explain and report.
K="$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['chosen_k'])" "$RUN-select-k/select_k.json")"
deepclust fit --data exposome --method kmeans --n-clusters "$K" --seeds 0-9 --out "$RUN" --overwrite --quiet

# 3. Explain by metabolites and by covariates + phenotype (phenotype.csv joined on the child ID).
#    h_cohort is the recruiting cohort; the ID and pdata_ID-like columns are skipped automatically.
deepclust explain "$RUN" --covariates "$DATA/exposome/phenotype.csv" --categorical plate_batch --quiet
deepclust report "$RUN" --quiet

# 4. Keep the small outputs next to this script.
mkdir -p "$HERE/outputs"
cp "$RUN-select-k/select_k.csv" "$RUN-select-k/select_k.png" "$RUN/stability.json" "$RUN/metrics.json" "$HERE/outputs/"
cp "$RUN"/explain/*.csv "$RUN/explain/heatmap.png" "$HERE/outputs/"
echo "outputs in $HERE/outputs; full report: $RUN/report.html"
