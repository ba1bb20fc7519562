#!/usr/bin/env bash
# A naskit study on a Slurm cluster: every task of the job array is one
# worker of the same study in a directory on the shared filesystem. Each
# worker claims the next unfinished (strategy, seed) run, so any number of
# tasks fill one study, and a task that dies (node lost, time limit) has its
# run resumed from its last checkpoint by another worker.
#
#   sbatch --array=0-7 --export=ALL,STUDY_CONFIG=my-study.json,STUDY_DIR=/shared/studies/s1 \
#          scripts/slurm_study.sh
#   sbatch --dependency=afterany:<jobid> --wrap "./build/tools/nas study report /shared/studies/s1"
#
# Variables: STUDY_CONFIG (a study config; default configs/study-quick.json),
# STUDY_DIR (required: on the shared filesystem), NAS (the nas binary, on the
# shared filesystem too; default ./build/tools/nas), CLAIM_TIMEOUT (seconds
# without a heartbeat before a worker counts as dead; default 120). Without
# Slurm the same script runs as a plain background process per worker.
#SBATCH --job-name=nas-study
#SBATCH --cpus-per-task=4
#SBATCH --time=04:00:00
#SBATCH --output=nas-study-%A_%a.out
set -euo pipefail
config=${STUDY_CONFIG:-configs/study-quick.json}
dir=${STUDY_DIR:?set STUDY_DIR to the study directory (on the shared filesystem)}
nas=${NAS:-./build/tools/nas}
threads=${SLURM_CPUS_PER_TASK:-$(nproc)}
echo "nas study worker ${SLURM_ARRAY_TASK_ID:-0} on $(hostname): $dir, $threads threads" >&2
exec "$nas" study run --config "$config" --out "$dir" --worker --threads "$threads" \
  --claim-timeout "${CLAIM_TIMEOUT:-120}" "$@"
