#!/usr/bin/env bash
# Benchmark: ralf's own overhead on `run --all plan` over generated trees of N units (default
# 30, 200 and 400), with a stand-in terraform (a shell script that answers init and plan at
# once), so that what is measured is ralf: discovery, the two-pass parse, the graph, scheduling,
# process handling and output. Each unit depends on one unit of the previous wave (waves of 10)
# through a `dependency` block whose outputs ralf reads from the unit's local state file.
#
# Prints, per N and per parallelism (ralf's default, i.e. the number of cores for plan, and
# unlimited): wall time, CPU (user+sys, ralf and its children), ralf's CPU alone (the total
# minus the same number of stand-in runs done in a loop), and ralf's peak RSS.
#
# Usage: runner/bench/scale_plan.sh [RALF_BINARY] [N...]   (default: target/release/ralf 30 200 400)
set -euo pipefail

RALF=${1:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/ralf}
shift || true
SIZES=("${@:-30 200 400}")
read -r -a SIZES <<< "${SIZES[*]}"
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cat > "$WORK/tf" <<'SH'
#!/bin/sh
case "$1" in
  init) echo "Terraform has been successfully initialized!" ;;
  plan) echo "Plan: 0 to add, 0 to change, 0 to destroy." ;;
esac
exit 0
SH
chmod +x "$WORK/tf"

gen() { # gen N DIR
  local n=$1 dir=$2 i w
  for ((i = 0; i < n; i++)); do
    w=$((i / 10))
    local d="$dir/w$w/u$i"
    mkdir -p "$d"
    if ((w == 0)); then
      echo '# first wave' > "$d/terragrunt.hcl"
    else
      cat > "$d/terragrunt.hcl" <<HCL
dependency "up" {
  config_path = "../../w$((w - 1))/u$((i - 10))"
}

inputs = {
  upstream = dependency.up.outputs.id
  name     = "u$i"
}
HCL
    fi
    echo 'variable "upstream" { default = "" }' > "$d/main.tf"
    printf '{"version":4,"outputs":{"id":{"value":"u%s","type":"string"}}}\n' "$i" > "$d/terraform.tfstate"
  done
}

measure() { # measure LABEL ARGS... ; prints wall cpu rss
  local out="$WORK/time.txt"
  /usr/bin/time -f '%e %U %S %M' -o "$out" "$@" > "$WORK/run.log" 2>&1 || { tail -20 "$WORK/run.log"; exit 1; }
  read -r wall user sys rss < "$out"
  echo "$wall $(echo "$user + $sys" | bc) $rss"
}

stand_in_cpu() { # CPU of 2*N stand-in runs (init + plan per unit) done in a loop
  local n=$1 out="$WORK/time.txt"
  /usr/bin/time -f '%U %S' -o "$out" sh -c "i=0; while [ \$i -lt $((2 * n)) ]; do $WORK/tf plan >/dev/null; i=\$((i+1)); done"
  read -r user sys < "$out"
  echo "$user + $sys" | bc
}

printf '| units | parallelism | wall (s) | CPU total (s) | ralf CPU (s) | ralf CPU per unit (ms) | peak RSS (MiB) | RSS per unit (KiB) |\n'
printf '|---:|---|---:|---:|---:|---:|---:|---:|\n'
for n in "${SIZES[@]}"; do
  tree="$WORK/tree-$n"
  gen "$n" "$tree"
  base=$(stand_in_cpu "$n")
  for par in default unlimited; do
    args=(run --all --tf-path "$WORK/tf" --working-dir "$tree")
    [[ $par == unlimited ]] && args+=(--parallelism 100000)
    "$RALF" "${args[@]}" plan > /dev/null 2>&1 # first run: inits every unit
    best=""
    for ((r = 0; r < ROUNDS; r++)); do
      res=$(measure "$RALF" "${args[@]}" plan)
      if [[ -z $best ]] || (( $(echo "${res%% *} < ${best%% *}" | bc) )); then best=$res; fi
    done
    read -r wall cpu rss <<< "$best"
    own=$(echo "$cpu - $base" | bc)
    printf '| %s | %s | %.2f | %.2f | %.2f | %.2f | %.1f | %.0f |\n' "$n" "$par" "$wall" "$cpu" "$own" \
      "$(echo "$own * 1000 / $n" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$(echo "$rss / $n" | bc -l)"
  done
done
