#!/usr/bin/env bash
# A sweep as a Slurm job array: each array task runs one shard (--shard i/n) of the same sweep
# into the same folder on a shared file system. The run locks (flock on each run folder; NFSv4 and
# Lustre honour them) keep two tasks from training one run, and a task that finds its runs done
# exits, so the array can be resubmitted to resume. Every task must use the same rmoe binary.
#
#   sbatch --array=1-8 --cpus-per-task=2 scripts/slurm-sweep.sh scale --out /shared/results/scale
#
# RMOE_BIN selects the binary (default: rmoe on PATH). Outside Slurm, set SLURM_ARRAY_TASK_ID and
# SLURM_ARRAY_TASK_COUNT by hand (the tests do).
#SBATCH --job-name=rmoe-sweep
#SBATCH --cpus-per-task=2
#SBATCH --output=rmoe-sweep-%A_%a.log
set -euo pipefail
: "${SLURM_ARRAY_TASK_ID:?run this with sbatch --array=1-N (or set SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT)}"
count="${SLURM_ARRAY_TASK_COUNT:-}"
if [ -z "$count" ]; then count=$(( ${SLURM_ARRAY_TASK_MAX:?} - ${SLURM_ARRAY_TASK_MIN:-1} + 1 )); fi
index=$(( SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-1} + 1 ))
if [ "$#" -lt 1 ]; then echo "usage: sbatch --array=1-N $0 PRESET|SWEEP_FILE [rmoe sweep options]" >&2; exit 2; fi
exec "${RMOE_BIN:-rmoe}" sweep "$@" --shard "$index/$count" --set threads="${SLURM_CPUS_PER_TASK:-0}"
