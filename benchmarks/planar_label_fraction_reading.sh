#!/usr/bin/env bash
# The 10 %-label reading of issue #5, rebuilt from nothing: data, VQ-VAE, runs, verdict.
#
# What it is for. Issue #5's open target: at 10 % labels the VQ-VAE GG-CNN beats GG-CNN by
# >= 5 points blind top-1 on held-out synthetic test objects. The firmest reading before it was
# +2.0 +- 6.3 points (10 seeds, 12 held-out draws, 1,532 images, 120-trial labeller;
# benchmarks/results/planar_label_fraction_v4_10seeds_neg120.json), and
# docs/models/vqvae_ggcnn.md ("What it would take to settle +5") puts the seeds needed to
# tell a true +2 from a true +5 at about 29 of each model. runs/ is not kept, so this
# script regenerates what that reading used and then trains and reads SEEDS seeds.
# Its result (2026-12-08, the default 29 seeds; benchmarks/results/
# planar_label_fraction_reading.json, docs/BENCHMARKS.md "The 29-seed reading"): +3.4 +- 4.3
# points, 95 % interval +1.7 ... +5.0, so the target is not met by this recipe.
#
# The rule it judges (benchmarks/results/planar_label_fraction_neg120.plan.md): per seed,
# blind top-1 of VQ-VAE GG-CNN minus GG-CNN on the 12 draws pooled image by image; the
# target is met if the mean over the seeds is >= 5.0 points (reported with the paired 95 %
# t-interval). In the result JSON that is
# paired_vs_ggcnn_by_metric.extra_top1_image.vqvae_ggcnn."0.10" (the 12 --extra-test-data
# folders). Not pooled_top1_image: that one also counts synth_test_v4's 52 images under the
# 30-trial labels (the same images as synth_test_v4_neg120, so they would count twice).
# The last step prints the verdict from that key.
#
# Steps (each is skipped when its output is complete, so a re-run resumes):
#   1. runs/planar/synth_train_v4: 300 train-split objects x 2 views + 300 unlabelled,
#      seed 0, depth noise, labelled with the 30-trial labeller the 10-seed runs trained on
#      (--trial-negatives 30 --max-negatives 30; the default is 120 since 2026-12-06).
#   2. runs/planar/synth_val_v4: 40 val-split objects x 2 views, seed 2, 30 trials (the
#      validation set that picked each run's kept checkpoint).
#   3. runs/planar/synth_test_v4: 40 test-split objects x 2 views, seed 1, 30 trials.
#      Not a held-out set of the rule, but planar_label_fraction.py requires --test-data and
#      the 10-seed runs (and the VQ-VAE's command) name this folder.
#   4. the 12 held-out draws under the 120-trial labeller, runs/planar/synth_test_<d>_neg120:
#      v4 (seed 1, 40 objects), v4b 3, v4d 5, v4e 6, v4f 7, v4g 8, v4h 9, v4i 10, v5a 11,
#      v5b 12, v5c 13, v5d 14 (80 objects each), 2 views, no unlabelled, depth noise.
#   5. the VQ-VAE runs/planar/v4/vqvae_img300.pt (300 px crops, 20 epochs, all 900
#      training images, labels unused).
#   6. the reading: benchmarks/planar_label_fraction.py with the 10-seed arguments, the 12
#      draws as --extra-test-data, SEEDS, WORK and OUT.
#   7. the verdict, printed from OUT.
#
# What marks a step complete (read from grasp_models/, not assumed):
#   - data set: `grasp datagen-planar` skips every image whose pcdNNNNcpos.txt exists and
#     writes manifest.json when it ends; a run with --shards 1 writes the manifest of the
#     whole set. Complete = manifest.json from a --shards 1 run whose config matches the
#     command below, and as many cpos files as its "images". Otherwise the commands run
#     again and render only what is missing. A manifest with other settings stops the script.
#   - VQ-VAE: `grasp train` checkpoints every epoch into <out>.run/checkpoint.pt and resumes
#     from it when the options match; the weights and the card <out>.json are written at the
#     end. Complete = the card, with the command's settings in its train_config.
#   - reading: planar_label_fraction.py reuses a run's card once it holds "metrics" (each
#     unfinished run resumes from its own checkpoint) and caches each run's evaluation per
#     --extra-test-data folder beside the run (<run>.eval_<folder>.json). It does not check
#     that a card in --work was made with the same recipe, so this script writes the recipe
#     to $WORK/reading.args and refuses a WORK made with another. Complete = OUT holds both
#     models' extra_top1_image for every seed of SEEDS, with these 12 folders.
#
# Knobs (environment variables):
#   SEEDS   seeds to train and read, both models on each (default: $(seq 0 28), 29 seeds)
#   JOBS    1: one process trains both models seed by seed (default); 2: one process per
#           model side by side (`--models ggcnn`, `--models vqvae_ggcnn`, 1 thread each),
#           then one call with both models that only reads their cached cards and
#           evaluations, as the docs ran them. No other value: the benchmark has no seed
#           sharding of its own, and the docs ran no more than one process per model.
#   SPLIT   with JOBS=2, what each process takes: `model` (default: one model each, as
#           above) or `seeds` (both models each, on every other seed of SEEDS: the first
#           process seeds 1st, 3rd, ...; the second 2nd, 4th, ...). A VQ-VAE GG-CNN run
#           takes about 16 min here against GG-CNN's 12, so by model one core idles for
#           the last quarter; by seeds both stay busy. Each run depends only on its model
#           and seed (1 thread, seeded), so the split changes no number.
#   WORK    the benchmark's --work folder (default runs/planar/label_fraction_reading)
#   OUT     the result JSON (default benchmarks/results/planar_label_fraction_reading.json;
#           the plot is written beside it as .png)
#   SHARDS  processes rendering each data set side by side (`--shard i --shards SHARDS`),
#           then one `--shards 1` call that writes the manifest (default 1; the docs used 2
#           on the 2-core machine). Images depend only on the seed, object and view, so
#           SHARDS does not change the data.
#   PY, GRASP  the interpreter and CLI (default .venv/bin/python, .venv/bin/grasp)
# `--dry-run` as the first argument prints every command with its skip decision and runs
# nothing (it reads manifests and cards to decide, nothing else).
#
# How long the steps took when the docs report it (docs/BENCHMARKS.md unless named; a
# shared 2-core machine, so only a guide; the physics trials became ~20 % slower with the
# no-slip pass of 2026-12-06, after all of these):
#   - v4 data (train, val, test, 30 trials): "the v3 generator commands re-run at 8d22edc
#     (`grasp datagen-planar ... --shards 2`, 3.5 min on the idle 2-core machine)" (l. 264-265).
#   - held-out draws: synth_test_v4b "2 shards, then shards=1, ~5 min" (l. 387-388); v4d, v4e
#     "~4 min each" (l. 443); v4f, v4g "~4 min each" (l. 982); v4h, v4i "~1 min per set with
#     2 shards" (l. 1062); v4, v4b, v4d, v4e under 120 trials "generated 01:58-02:14 UTC"
#     (l. 1133); no time is given for v5a-v5d.
#   - VQ-VAE: "47 s an epoch on one core" (l. 341); regenerated later, "The VQ-VAE took
#     8.5 min, 20 epochs" (l. 615).
#   - runs: seeds 0-4 of both models "one process per model side by side, 12:37-14:43 UTC"
#     (l. 353-354); seeds 5-9 "one process per model side by side, 15:01-16:58 UTC, 1 thread
#     each" (l. 392); the 20 kept checkpoints read on the 12 draws, "02:14-03:01 UTC", three
#     processes side by side (l. 464-472).
#
# Not bit for bit (say so beside any number this gives):
#   - MuJoCo's no-slip pass (5 iterations, grasp_sim/physics.py NOSLIP_ITERATIONS, since
#     2026-12-06, 1658789) came after every data set of the 10-seed reading was generated,
#     and no CLI option turns it off; the regenerated labels differ slightly
#     (docs/models/ggcnn.md, "Training data"). Repeating the data at two commits before it
#     already differed by one trial (2,846 vs 2,847 failed positives).
#   - seeds 0-9 are trained again here, so they are new runs, not the runs behind +2.0.
#
# Usage:  bash benchmarks/planar_label_fraction_reading.sh [--dry-run]
#         SEEDS="0 1 2" JOBS=2 SHARDS=2 bash benchmarks/planar_label_fraction_reading.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."  # the repository root: every path below is relative

DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then
  DRY=1
  shift
fi
if [[ $# -gt 0 ]]; then
  echo "usage: [SEEDS=... JOBS=1|2 WORK=... OUT=... SHARDS=N] $0 [--dry-run]" >&2
  exit 2
fi

SEEDS=${SEEDS:-$(seq 0 28)}
JOBS=${JOBS:-1}
SPLIT=${SPLIT:-model}
WORK=${WORK:-runs/planar/label_fraction_reading}
OUT=${OUT:-benchmarks/results/planar_label_fraction_reading.json}
SHARDS=${SHARDS:-1}
PY=${PY:-.venv/bin/python}
GRASP=${GRASP:-.venv/bin/grasp}

read -r -a seeds <<<"${SEEDS//$'\n'/ }"
if [[ ${#seeds[@]} -eq 0 ]]; then
  echo "SEEDS is empty" >&2
  exit 2
fi
for s in "${seeds[@]}"; do
  [[ "$s" =~ ^[0-9]+$ ]] || { echo "SEEDS: '$s' is not a seed (a non-negative integer)" >&2; exit 2; }
done
[[ "$JOBS" == 1 || "$JOBS" == 2 ]] || { echo "JOBS must be 1 or 2, not '$JOBS'" >&2; exit 2; }
[[ "$SPLIT" == model || "$SPLIT" == seeds ]] || { echo "SPLIT must be model or seeds, not '$SPLIT'" >&2; exit 2; }
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || { echo "SHARDS must be a positive integer, not '$SHARDS'" >&2; exit 2; }

P=runs/planar
TRAIN=$P/synth_train_v4
VAL=$P/synth_val_v4
TEST=$P/synth_test_v4
VQVAE=$P/v4/vqvae_img300.pt
# the 12 held-out draws (docs/BENCHMARKS.md l. 464-472): name, seed, labelled objects, and
# the docs/BENCHMARKS.md lines that give that draw's command
DRAWS=(
  "v4 1 40 l. 143-144, regenerated with 120 trials l. 1131-1134"
  "v4b 3 80 l. 386-388, regenerated with 120 trials l. 1131-1134"
  "v4d 5 80 l. 442-443, regenerated with 120 trials l. 1131-1134"
  "v4e 6 80 l. 442-443, regenerated with 120 trials l. 1131-1134"
  "v4f 7 80 l. 981-982, relabelled with 120 trials l. 1043-1044"
  "v4g 8 80 l. 981-982, relabelled with 120 trials l. 1043-1044"
  "v4h 9 80 l. 1060-1062"
  "v4i 10 80 l. 1060-1062"
  "v5a 11 80 l. 1109-1111"
  "v5b 12 80 l. 1109-1111"
  "v5c 13 80 l. 1109-1111"
  "v5d 14 80 l. 1109-1111"
)
EXTRA=()
for d in "${DRAWS[@]}"; do
  read -r name _ <<<"$d"
  EXTRA+=("$P/synth_test_${name}_neg120")
done
# glibc malloc settings of the 10-seed plan: "only to save time; they change no arithmetic"
# (benchmarks/results/planar_label_fraction_v4_10seeds.plan.md). `grasp train` sets the
# same itself (grasp_models/malloc.py); planar_label_fraction.py does not.
MALLOC=(env MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296
  MALLOC_TOP_PAD_=268435456)

PIDS=()
stop_children() {  # on any exit: end the background processes this script started
  local p
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
}
trap stop_children EXIT

say() { printf '%s\n' "$*"; }
show() {  # a command as one shell-quoted line
  local q
  q=$(printf '%q ' "$@")
  say "  + ${q% }"
}
run() {  # run a command in the foreground (or only show it)
  show "$@"
  [[ $DRY == 1 ]] || "$@"
}
start() {  # run a command in the background (or only show it); wait_all collects it
  local q
  q=$(printf '%q ' "$@")
  say "  + ${q% } &"
  if [[ $DRY == 0 ]]; then
    "$@" &
    PIDS+=("$!")
  fi
}
wait_all() {
  local p failed=0
  for p in "${PIDS[@]}"; do
    wait "$p" || failed=1
  done
  PIDS=()
  if [[ $failed == 1 ]]; then
    say "a background process failed; stopping (a re-run resumes)" >&2
    exit 1
  fi
}
STEP=0
step() {  # header: step number, what, decision
  STEP=$((STEP + 1))
  say ""
  say "== step $STEP: $1"
  say "   $2"
}
timed() {  # after a step that ran: how long it took
  [[ $DRY == 1 ]] || say "   took $(( (SECONDS - $1) / 60 )) min $(( (SECONDS - $1) % 60 )) s"
}

dataset_state() {  # FOLDER CONFIG_JSON -> complete | absent | partial | differs: ...
  "$PY" - "$1" "$2" <<'PYEOF'
import json
import sys
from pathlib import Path

root, want = Path(sys.argv[1]), json.loads(sys.argv[2])
manifest = root / "manifest.json"
if not root.is_dir() or not any(root.iterdir()):
    print("absent")
elif not manifest.is_file():
    print("partial")
else:
    m = json.loads(manifest.read_text())
    cfg = m.get("config", {})
    diff = [f"{k} {cfg.get(k)!r} (wanted {v!r})" for k, v in want.items() if cfg.get(k) != v]
    rendered = len(list(root.glob("pcd*cpos.txt")))
    if diff:
        print("differs: " + ", ".join(diff))
    elif cfg.get("shards", 1) != 1 or rendered < m.get("images", 0):
        print("partial")
    else:
        print("complete")
PYEOF
}

# datagen NAME SPLIT OBJECTS UNLABELLED SEED TRIALS SOURCE: one data set, 2 views each, depth
# noise; TRIALS = --trial-negatives = --max-negatives. SOURCE: where the docs give it.
datagen() {
  local out=$P/$1 split=$2 objects=$3 unlabelled=$4 seed=$5 trials=$6 source=$7 state t0 i
  local args=(datagen-planar --out "$out" --split "$split" --objects "$objects" --views 2
    --unlabelled "$unlabelled" --seed "$seed" --depth-noise
    --trial-negatives "$trials" --max-negatives "$trials" --quiet)
  local want
  want=$(printf '{"split": "%s", "objects": %d, "views": 2, "unlabelled": %d, "unlabelled_views": 1, "unlabelled_first_view": 0, "seed": %d, "labeller": "physics", "trial_negatives": %d, "max_negatives": %d, "depth_noise": true}' \
    "$split" "$objects" "$unlabelled" "$seed" "$trials" "$trials")
  state=$(dataset_state "$out" "$want")
  case $state in
    complete) step "$out ($trials trials)" "skip: complete (manifest.json of a --shards 1 run, settings match; $source)" ;;
    absent) step "$out ($trials trials)" "run: absent ($source)" ;;
    partial) step "$out ($trials trials)" "run: partial, renders only the missing images ($source)" ;;
    *)
      step "$out ($trials trials)" "STOP: $out exists with other settings: $state"
      [[ $DRY == 1 ]] && return 0
      say "move it away or delete it; this script does not overwrite data sets" >&2
      exit 1
      ;;
  esac
  if [[ $state == complete ]]; then
    show "$GRASP" "${args[@]}"
    return 0
  fi
  t0=$SECONDS
  if [[ $SHARDS -gt 1 ]]; then
    for ((i = 0; i < SHARDS; i++)); do
      start "$GRASP" "${args[@]}" --shard "$i" --shards "$SHARDS"
    done
    [[ $DRY == 1 ]] || wait_all
  fi
  # nothing left to render after the shards: this call writes the whole set's manifest
  run "$GRASP" "${args[@]}" --shards 1
  timed "$t0"
}

vqvae_state() {  # WEIGHTS CONFIG_JSON -> complete | absent | partial | differs: ...
  "$PY" - "$1" "$2" <<'PYEOF'
import json
import sys
from pathlib import Path

weights, want = Path(sys.argv[1]), json.loads(sys.argv[2])
card = weights.with_suffix(".json")
if card.is_file() and weights.is_file():
    cfg = json.loads(card.read_text()).get("train_config", {})
    diff = [f"{k} {cfg.get(k)!r} (wanted {v!r})" for k, v in want.items() if cfg.get(k) != v]
    print("differs: " + ", ".join(diff) if diff else "complete")
elif (weights.with_suffix(".run") / "checkpoint.pt").is_file():
    print("partial")
else:
    print("absent")
PYEOF
}

reading_state() {  # OUT SEEDS EXTRA... -> complete | absent | partial
  "$PY" - "$@" <<'PYEOF'
import json
import sys
from pathlib import Path

out, seeds, extra = Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3:]
if not out.is_file():
    print("absent")
    sys.exit()
r = json.loads(out.read_text())
runs = r.get("runs", {})
ok = (
    r.get("extra_test_data") == extra
    and sorted(map(str, r.get("seeds", []))) == sorted(seeds)
    and all(
        "extra_top1_image" in runs.get(m, {}).get("0.10", {}).get(s, {})
        for m in ("ggcnn", "vqvae_ggcnn")
        for s in seeds
    )
)
print("complete" if ok else "partial")
PYEOF
}

say "planar 10 %-label reading: seeds ${seeds[*]} (${#seeds[@]}), JOBS=$JOBS$([[ $JOBS == 2 ]] && echo " SPLIT=$SPLIT"), SHARDS=$SHARDS"
say "WORK=$WORK OUT=$OUT$([[ $DRY == 1 ]] && echo '  [dry run: nothing is run]')"

# 1-3. the data of the 10-seed runs, 30-trial labeller. Commands:
# benchmarks/results/planar_label_fraction_curve_v4.plan.md l. 21-28 ("regenerated from the
# v4 commands"), docs/BENCHMARKS.md l. 139-144 and 154-159 (add --trial-negatives 30
# --max-negatives 30 to reproduce sets named without _neg120), docs/models/ggcnn.md l. 26-27.
datagen synth_train_v4 train 300 300 0 30 "curve_v4.plan.md l. 21-23; BENCHMARKS.md l. 139-142"
datagen synth_val_v4 val 40 0 2 30 "curve_v4.plan.md l. 24-25; BENCHMARKS.md l. 142-143"
datagen synth_test_v4 test 40 0 1 30 "curve_v4.plan.md l. 26-28; BENCHMARKS.md l. 143-144"

# 4. the 12 held-out draws, 120 trials. Seeds and sizes: docs/BENCHMARKS.md l. 386-388 (v4b),
# 442-443 (v4d, v4e), 981-982 (v4f, v4g; relabelled with 120 trials, same seeds, l. 1043-1044),
# 1060-1062 (v4h, v4i), 1109-1111 (v5a-v5d), 1131-1134 (v4, v4b, v4d, v4e regenerated under
# 120 trials with their seeds);
# benchmarks/results/planar_label_fraction_neg120.plan.md l. 18-24.
for d in "${DRAWS[@]}"; do
  read -r name seed objects src <<<"$d"
  datagen "synth_test_${name}_neg120" test "$objects" 0 "$seed" 120 "BENCHMARKS.md $src"
done

# 5. the VQ-VAE: benchmarks/results/planar_label_fraction_v4_vq300.plan.md l. 19-22 (and
# curve_v4.plan.md l. 33-35, "as the 10-seed runs"). A VQ-VAE always trains on image-centred
# crops (grasp_models/planar/train.py, training_data), so --train-crop is not needed.
VQ_ARGS=(train --model vqvae --data "$TRAIN" --test-data "$TEST" --train-size 300
  --epochs 20 --batch-size 8 --lr 1e-3 --seed 0 --threads 1 --out "$VQVAE")
state=$(vqvae_state "$VQVAE" "$(printf '{"model": "vqvae", "data": "%s", "test_data": "%s", "train_size": 300, "epochs": 20, "batch_size": 8, "lr": 0.001, "seed": 0}' "$TRAIN" "$TEST")")
case $state in
  complete) step "$VQVAE" "skip: complete (card with these settings; vq300.plan.md l. 19-22)" ;;
  absent) step "$VQVAE" "run: absent (vq300.plan.md l. 19-22)" ;;
  partial) step "$VQVAE" "run: partial, resumes from ${VQVAE%.pt}.run/checkpoint.pt" ;;
  *)
    step "$VQVAE" "STOP: a card with other settings: $state"
    [[ $DRY == 1 ]] || { say "move it away; this script does not overwrite it" >&2; exit 1; }
    ;;
esac
if [[ $state == complete ]]; then
  show "$GRASP" "${VQ_ARGS[@]}"
else
  t0=$SECONDS
  run "$GRASP" "${VQ_ARGS[@]}"
  timed "$t0"
fi

# 6. the reading. The 10-seed command (docs/BENCHMARKS.md l. 393-398, recorded in
# benchmarks/results/planar_label_fraction_v4_10seeds_neg120.json) with the 12 draws
# (l. 469-471), SEEDS, WORK and OUT.
RECIPE=(--data "$TRAIN" --test-data "$TEST" --val-data "$VAL" --vqvae "$VQVAE"
  --fractions 0.1 --steps 1000 --train-crop image --train-size 300 --train-shift 20
  --val-checks 8 --threads 1 --work "$WORK" --quiet --extra-test-data "${EXTRA[@]}")
BENCH=("${MALLOC[@]}" "$PY" benchmarks/planar_label_fraction.py "${RECIPE[@]}" --seeds "${seeds[@]}")
stamp=$(printf '%q ' "${RECIPE[@]}")
work_note="$WORK: new"
if [[ -d "$WORK" ]] && [[ -n "$(ls -A "$WORK")" ]]; then
  if [[ -f "$WORK/reading.args" ]] && [[ "$(cat "$WORK/reading.args")" == "$stamp" ]]; then
    work_note="$WORK: made by this script with the same recipe; its finished runs and cached evaluations are reused"
  else
    work_note="STOP: $WORK holds files this script did not make with this recipe ($WORK/reading.args missing or different), whose cards planar_label_fraction.py would reuse unchecked; give another WORK="
    if [[ $DRY == 0 ]]; then
      say "$work_note" >&2
      exit 1
    fi
  fi
fi
state=$(reading_state "$OUT" "${seeds[*]}" "${EXTRA[@]}")
case $state in
  complete) step "the reading -> $OUT" "skip: complete (both models, every seed, these 12 draws; $work_note)" ;;
  absent) step "the reading -> $OUT" "run: absent ($work_note)" ;;
  *) step "the reading -> $OUT" "run: $OUT lacks seeds or draws; the benchmark reuses every finished run and cached evaluation ($work_note)" ;;
esac
if [[ $state == complete ]]; then
  show "${BENCH[@]}" --out "$OUT"
else
  t0=$SECONDS
  if [[ $DRY == 0 ]]; then
    mkdir -p "$WORK" "$(dirname "$OUT")"
    printf '%s' "$stamp" >"$WORK/reading.args"
  fi
  if [[ $JOBS == 2 && $SPLIT == model ]]; then
    # one process per model side by side (docs/BENCHMARKS.md l. 353-354, 392, 624-626), each
    # with its own --out under WORK: both writing OUT would race on its plot's temporary file
    start "${BENCH[@]}" --models ggcnn --out "$WORK/reading_ggcnn.json"
    start "${BENCH[@]}" --models vqvae_ggcnn --out "$WORK/reading_vqvae_ggcnn.json"
    [[ $DRY == 1 ]] || wait_all
  elif [[ $JOBS == 2 ]]; then
    # both models in each process, on every other seed (SPLIT=seeds); --seeds given last wins
    halves=("" "")
    for i in "${!seeds[@]}"; do
      halves[i % 2]+="${seeds[i]} "
    done
    for h in 0 1; do
      read -r -a half <<<"${halves[h]}"
      [[ ${#half[@]} -gt 0 ]] || continue
      start "${BENCH[@]}" --seeds "${half[@]}" --out "$WORK/reading_seeds$h.json"
    done
    [[ $DRY == 1 ]] || wait_all
    say "  (the call below finds every run finished and every evaluation cached: it only writes OUT)"
  fi
  run "${BENCH[@]}" --out "$OUT"
  timed "$t0"
fi

# 7. the verdict, by the rule above
step "verdict from $OUT" "paired_vs_ggcnn_by_metric.extra_top1_image.vqvae_ggcnn.\"0.10\": mean >= 5.0 points?"
VERDICT=("$PY" - "$OUT")
say "  + $PY - $OUT <<'PYEOF'  (a few lines of Python: mean, std, 95 % interval, met or not; beside it t-tests and spread)"
[[ $DRY == 1 ]] && exit 0
"${VERDICT[@]}" <<'PYEOF'
import json
import sys

r = json.load(open(sys.argv[1]))
e = r["paired_vs_ggcnn_by_metric"]["extra_top1_image"]["vqvae_ggcnn"]["0.10"]
images = sorted({x["extra_test_images"] for x in r["runs"]["ggcnn"]["0.10"].values()})
lo, hi = e.get("ci95_points", [float("nan")] * 2)
n = len(e["per_seed_points"])
print(
    f"VQ-VAE GG-CNN - GG-CNN, blind top-1 on the 12 draws pooled ({'/'.join(map(str, images))} "
    f"images), {n} seeds: {e['mean_points']:+.1f} +- {e['std_points']:.1f} points, 95 % "
    f"interval {lo:+.1f} ... {hi:+.1f}. Target >= +5.0: "
    + ("met" if e["mean_points"] >= 5.0 else "not met")
)
# beside the verdict, not part of it: what the docs' table rows also give
ahead = sum(v > 0 for v in e["per_seed_points"].values())
gt = r["paired_vs_ggcnn_by_metric"].get("extra_top1_gt", {}).get("vqvae_ggcnn", {}).get("0.10")
means = {
    m: 100 * sum(x["extra_top1_image"] for x in r["runs"][m]["0.10"].values()) / n
    for m in ("ggcnn", "vqvae_ggcnn")
}
print(
    f"  ahead in {ahead} of {n} seeds; mean blind top-1 GG-CNN {means['ggcnn']:.1f} %, "
    f"VQ-VAE GG-CNN {means['vqvae_ggcnn']:.1f} %"
    + (f"; GT-centred lead {gt['mean_points']:+.1f} +- {gt['std_points']:.1f}" if gt else "")
)
# how far the per-seed leads rule +5 in or out (one-sided t-tests), and their spread
import statistics  # noqa: E402

from scipy import stats  # noqa: E402

leads = list(e["per_seed_points"].values())
if n > 2:
    below = stats.ttest_1samp(leads, 5.0, alternative="less")
    above = stats.ttest_1samp(leads, 0.0, alternative="greater")
    upper = e["mean_points"] + stats.t.ppf(0.95, n - 1) * e["std_points"] / n**0.5
    print(
        f"  below +5: t = {below.statistic:.2f}, one-sided p = {below.pvalue:.3f}; above 0: "
        f"t = {above.statistic:.2f}, one-sided p = {above.pvalue:.4f}; one-sided 95 % upper "
        f"bound {upper:+.1f}; median {statistics.median(leads):+.1f}"
    )
for key, name in (("extra_top1_image", "blind"), ("extra_top1_gt", "GT-centred")):
    parts = []
    for m in ("ggcnn", "vqvae_ggcnn"):
        acc = [100 * x[key] for x in r["runs"][m]["0.10"].values() if key in x]
        if len(acc) > 1:
            parts.append(
                f"{m} {statistics.fmean(acc):.1f} +- {statistics.stdev(acc):.1f} % "
                f"({min(acc):.1f} ... {max(acc):.1f})"
            )
    print(f"  {name} top-1 per model: " + ", ".join(parts))
# the seeds of the 10-seed row (0-9), the reading this one repeats with regenerated sets
first = [v for k, v in e["per_seed_points"].items() if int(k) < 10]
if len(first) == 10:
    print(
        f"  seeds 0-9 alone: {statistics.fmean(first):+.1f} +- {statistics.stdev(first):.1f}"
        " points (the 10-seed row read +2.0 +- 6.3 on the sets made before)"
    )
PYEOF
