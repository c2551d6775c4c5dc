#!/usr/bin/env bash
# The runs recorded in benchmarks/NOTES_vade_dec.md, as five chains (run each in its own shell,
# after `pretrain.py mse 20` and `pretrain.py bce 20` have cached the autoencoders in /tmp/vdiag).
# Usage: bash benchmarks/diagnostics/run_all.sh {vadeA|vadeB|dec|dcn|misc}
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH=$PWD/src OMP_NUM_THREADS=1
PY=${PY:-/work/main/.venv/bin/python}
D=benchmarks/diagnostics
L=${LOGDIR:-/tmp/vdiag}
case "$1" in
vadeA)
  $PY $D/vade_diag.py --ae bce --recon bce --epochs 5 > $L/v_bce_today.log 2>&1
  $PY $D/vade_diag.py --ae bce --recon bce --epochs 5 --logvar-init -4 > $L/v_bce_lv-4.log 2>&1
  $PY $D/vade_diag.py --ae bce --recon bce --epochs 5 --lr 2e-4 > $L/v_bce_lr2e-4.log 2>&1
  ;;
vadeB)
  $PY $D/vade_diag.py --ae mse --recon bce --epochs 5 > $L/v_mse_bce_today.log 2>&1
  $PY $D/vade_diag.py --ae bce --recon bce --epochs 5 --logvar-init -4 --lr 2e-4 > $L/v_bce_lv-4_lr2e-4.log 2>&1
  $PY $D/vade_diag.py --ae bce --recon bce --epochs 5 --batch 100 > $L/v_bce_b100.log 2>&1
  ;;
dec)
  $PY $D/idec_grad_balance.py 0.1 > $L/idec_grad.log 2>&1
  $PY $D/dec_family_diag.py dec --max-iter 280 > $L/dec_280.log 2>&1
  $PY $D/dec_family_diag.py idec --max-iter 280 > $L/idec_280.log 2>&1
  ;;
dcn)
  $PY $D/dec_family_diag.py dcn --epochs 4 > $L/dcn_today.log 2>&1
  $PY $D/dec_family_diag.py dcn --epochs 4 --counts 100 > $L/dcn_c100.log 2>&1
  $PY $D/dec_family_diag.py dcn --epochs 4 --counts 100 --refit 1 > $L/dcn_c100_refit1.log 2>&1
  $PY $D/dec_family_diag.py dcn --epochs 4 --refit 1 > $L/dcn_refit1.log 2>&1
  ;;
misc)
  $PY $D/vade_loss_check.py > $L/loss_check.log 2>&1
  $PY $D/gmm_init.py > $L/gmm_init.log 2>&1
  ;;
esac
