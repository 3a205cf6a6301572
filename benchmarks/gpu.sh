#!/usr/bin/env bash
# What a machine with a CUDA GPU measures, in one run: the CUDA tests, the time of a training step on the
# GPU, and a fit of the EMNIST pool on the GPU with its accuracy (label_efficiency, one training seed).
# Every figure lands in OUT as the suite's CSVs, with the machine and the GPU in their columns.
#
#   bash benchmarks/gpu.sh [DATA_DIR] [OUT]      (from the repository root, the package installed)
set -euo pipefail
data_dir=${1:-../shared/data}
out=${2:-benchmarks/results/gpu}
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device here'; print(torch.cuda.get_device_name())"
python -m pytest -q -p no:cacheprovider tests/test_transformer.py -k cuda
python -m benchmarks step_time --device cuda --rounds 3 --out "$out/step-time"
# A model cache of its own, so that the fit runs (and is timed) on the GPU.
SKGMVAE_BENCHMARK_CACHE=$(mktemp -d) python -m benchmarks label_efficiency --dataset emnist --data-dir "$data_dir" \
    --train-seeds 0 --device cuda --out "$out/emnist-partial"
