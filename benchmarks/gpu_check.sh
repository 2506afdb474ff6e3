#!/usr/bin/env bash
# The device checks of a GPU machine, in one run of about five minutes: the CUDA tests of
# the torch layer and of the Triton backend, then the GPU benchmarks (training step
# beside cuDNN and the "torch" backend at the target sizes and the estimators' sizes,
# inference, peak memory). Run from the repository root on the GPU machine:
#
#     bash benchmarks/gpu_check.sh OUTDIR
#
# It needs python3 with torch (CUDA) and triton, and skorch, which the package imports:
# the GPU machine has no network, so fetch the wheel beforehand on a machine that has,
# `pip download skorch --no-deps -d .wheels`, and carry .wheels/ (ignored by git) along;
# wheels there are installed first. The source is imported from this checkout (PYTHONPATH).
set -uo pipefail
out="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if compgen -G ".wheels/*.whl" > /dev/null; then
    python3 -m pip install -q --no-deps --no-index .wheels/*.whl
fi
{ nvidia-smi; python3 -c "import torch, triton; print(torch.__version__, triton.__version__)"; } \
    > "$out/machine.txt" 2>&1
python3 -m pytest -q -p no:cacheprovider -o addopts="" \
    tests/test_nn_triton.py tests/test_nn_layer.py tests/test_nn_backends.py -k "cuda or CUDA" \
    2>&1 | tee "$out/tests.txt"
python3 benchmarks/bench_speed.py --device cuda --backends torch --repeats 5 \
    --out "$out/speed_targets.md"
python3 benchmarks/bench_speed.py --device cuda --sizes estimators --backends torch \
    --no-reference --repeats 5 --out "$out/speed_estimators.md"
python3 benchmarks/bench_speed.py --device cuda --inference --no-reference --repeats 5 \
    --out "$out/inference.md"
