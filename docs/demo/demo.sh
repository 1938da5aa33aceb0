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

step "what changed between the first and the last epoch, and is anything off?"
run git ckpt diff clf~2 clf --only params,metrics,tensors
run git ckpt rank --name clf --by accuracy:max --top 2
run git ckpt check clf

step "governance: stage rules, signing keys and who may sign or approve"
for who in alice bob; do ssh-keygen -q -t ed25519 -N '' -C "$who" -f "$WORK/$who"; done
git config gpg.format ssh
git config user.signingkey "$WORK/alice"
git config user.name "Alice Lead"
git config user.email alice@example.com
for who in alice bob; do
  printf '%s@example.com namespaces="git,ckpt-approval" %s\n' "$who" "$(cat "$WORK/$who.pub")"
done > .ckpt/allowed_signers
cat > .ckpt/config.yaml <<'YAML'
version: 1
push: auto
metrics:
  goals: {val_loss: min, accuracy: max}
stages:
  - dev
  - staging: {requires_previous: true, signers: [alice@example.com]}
  - canary: {requires_previous: true, signers: [alice@example.com]}
  - production:
      approvals: 1
      approvers: [bob@example.com]
      responders: [alice@example.com]
      ratify_within: 24h
      requires_previous: true
      protected: true
      signers: [alice@example.com]
      gates:
        - metric: metrics.accuracy >= 0.8
YAML
git add .ckpt && git commit -q -m "stage rules and signers"

step "a shared remote that only accepts signed, reasoned, approved promotions"
git init -q --bare -b main "$WORK/origin.git"
run git ckpt hooks install --server "$WORK/origin.git"
git remote add origin "$WORK/origin.git"
run git push -q origin main

# production takes only signed approvals: propose a request on a branch (a pull request on a
# host), the approver signs it with their own key, it is merged, then the tag is made from it.
to_production() {
  local ref=$1 request branch
  run git push -q origin main --tags  # the request is judged by, and merged into, origin's main
  request=$(git ckpt propose "$ref" --stage production --rationale "canary clean 24h" --push --json)
  branch=$(printf '%s' "$request" | python -c "import json,sys; print(json.load(sys.stdin)['branch'])")
  printf '$ git ckpt propose %s --stage production --rationale "canary clean 24h" --push\n' "$ref"
  echo "request on branch $branch"
  run git checkout -q "$branch"
  run git ckpt review --format text | head -20
  run git ckpt approve --comment "metrics and canary look right" --key "$WORK/bob"
  run git push -q origin "$branch"
  run git checkout -q main
  run git merge -q --no-ff -m "Merge $branch" "$branch"
  run git push -q origin main
  run git ckpt promote --request "$(printf '%s' "$request" | python -c "import json,sys; print(json.load(sys.stdin)['request'])")"
}

step "promote epoch 2 then epoch 3 through every stage (signed tags; production by review)"
for ref in clf~1 clf; do
  run git ckpt promote "$ref" --stage dev --rationale "nightly candidate"
  run git ckpt promote "$ref" --stage staging --rationale "offline eval passed"
  run git ckpt promote "$ref" --stage canary --rationale "staging soak clean"
  to_production "$ref"
done
run git ckpt stages clf

step "epoch 3 misbehaves in production: a staged rollback to epoch 2, break glass, then ratified"
run git ckpt revert clf --stage canary --to clf~1 --rationale "INC-7: p99 latency regression"
run git ckpt revert clf --stage production --to clf#canary --emergency \
    --rationale "INC-7: p99 latency regression"
run git ckpt ratify "$(git ckpt stages clf --json | python -c "import json,sys; print(next(r['tag'] for r in json.load(sys.stdin)['holders'] if r['stage'] == 'production'))")" \
    --comment "rollback was right" --key "$WORK/bob"
run git push -q origin main --tags

step "a teammate's fresh clone: history, GTO's view, and the bytes through the DVC remote"
cd "$WORK" && git clone -q origin.git teammate && cd teammate
run git ckpt history clf --stage production
if command -v gto >/dev/null; then run gto show; else echo "(GTO reads these tags too: 'pip install gto' and run 'gto show')"; fi
run git ckpt restore clf#production
expected=$(git ckpt show clf#production --json | python -c "import json,sys; print(json.load(sys.stdin)['artifact']['sha256'])")
actual=$(sha256sum models/clf.safetensors | cut -d' ' -f1)
[ "$expected" = "$actual" ] || { echo "demo: restored bytes do not match the seal" >&2; exit 1; }
echo "restored bytes match the sealed sha256 ${actual:0:16}…"

step "an auditor verifies every seal and signature and reads the chain of custody"
run git ckpt verify --all
run git ckpt audit clf | tail -12

step "the dashboard and executive summary (offline), and a Hugging Face model card"
run git ckpt report -o "$WORK/report"
run git ckpt card clf#production -o "$WORK/README.md"
head -12 "$WORK/README.md"

step "demo finished"
