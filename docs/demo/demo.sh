#!/usr/bin/env bash
# The main job end to end, in a temporary repository: init, three saves, list, show, and a
# restore from a fresh clone through the DVC remote. `make demo` runs it; KEEP=1 keeps the
# repository for a look around afterwards.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ckpt-demo.XXXXXX")"
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept: $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

export DVC_NO_ANALYTICS=1 DVC_SITE_CACHE_DIR="$WORK/dvc-site" GIT_CONFIG_NOSYSTEM=1
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "a project with training code"
mkdir -p "$WORK/project" && cd "$WORK/project"
git init -q -b main
git config user.name "Ada Trainer"
git config user.email "ada@example.com"
printf 'print("training")\n' > train.py
git add train.py && git commit -q -m "training script"

step "set up checkpoint tracking"
run git ckpt init

step "three training epochs, each saved as one atomic commit"
mkdir -p models
for epoch in 1 2 3; do
  python "$HERE/make_model.py" models/clf.safetensors "$epoch"
  loss=$(python -c "print(round(0.9 / $epoch, 4))")
  acc=$(python -c "print(round(0.70 + 0.07 * $epoch, 4))")
  run git ckpt save models/clf.safetensors --name clf --step "$epoch" \
      --param lr=3e-4 --param batch_size=$((32 * epoch)) --seed numpy=1234 \
      --metric val_loss="$loss" --metric accuracy="$acc" --note "epoch $epoch" --push
done

step "what was saved"
run git ckpt list
run git log --oneline -4

step "everything recorded about the previous checkpoint"
run git ckpt show clf~1 | head -40

step "a teammate's fresh clone rehydrates any checkpoint through the DVC remote"
cd "$WORK" && git clone -q project teammate && cd teammate
run git ckpt restore clf~1
expected=$(git ckpt show clf~1 --json | python -c "import json,sys; print(json.load(sys.stdin)['artifact']['sha256'])")
actual=$(sha256sum models/clf.safetensors | cut -d' ' -f1)
[ "$expected" = "$actual" ] || { echo "demo: restored bytes do not match the seal" >&2; exit 1; }
echo "restored bytes match the sealed sha256 ${actual:0:16}…"

step "demo finished"
