#!/usr/bin/env bash
# Benchmark: `ralf run --all plan` over 30 applied units (6 waves of 5, each unit reading the
# outputs of one unit of the previous wave and ordered after a second one) against plain
# `terraform plan` per unit: their sum (one unit after another, by hand or in a CI loop) and the
# critical path (the longest dependency chain: the floor for any scheduler).
#
# Usage: runner/bench/run_all_plan.sh [RALF_BINARY]   (default: target/release/ralf)
# Needs terraform on PATH; works offline (terraform_data only).
set -euo pipefail

RALF=${1:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/ralf}
WAVES=6
PER_WAVE=5
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
unset TF_PLUGIN_CACHE_DIR
: > "$TF_CLI_CONFIG_FILE"

now() { date +%s.%N; }

for ((w = 0; w < WAVES; w++)); do
  for ((i = 0; i < PER_WAVE; i++)); do
    d="$WORK/tree/w$w/u$i"
    mkdir -p "$d"
    if ((w == 0)); then
      echo '# first wave' > "$d/terragrunt.hcl"
      up='"root"'
    else
      j=$(( (i + 1) % PER_WAVE ))
      cat > "$d/terragrunt.hcl" <<HCL
dependency "up" {
  config_path = "../../w$((w - 1))/u$i"
}

dependencies {
  paths = ["../../w$((w - 1))/u$j"]
}

inputs = {
  upstream = dependency.up.outputs.id
}
HCL
      up='var.upstream'
    fi
    cat > "$d/main.tf" <<TF
variable "upstream" {
  type    = string
  default = "root"
}

resource "terraform_data" "a" {
  input = "w$w-u$i-\${$up}"
}

resource "terraform_data" "b" {
  input = terraform_data.a.output
}

resource "terraform_data" "c" {
  input = { name = "w$w-u$i", upstream = $up }
}

output "id" {
  value = "w$w-u$i"
}
TF
  done
done

cd "$WORK/tree"
"$RALF" run --all --tf-path terraform apply > "$WORK/apply.log" 2>&1 || { cat "$WORK/apply.log"; exit 1; }

plain_round() {
  # Plain terraform, one unit after another, feeding dependency outputs by hand the way a CI
  # loop would (output -raw of the dependency, then plan). Prints "sum critical_path".
  local -A t
  local sum=0 w i s e up
  for ((w = 0; w < WAVES; w++)); do
    for ((i = 0; i < PER_WAVE; i++)); do
      s=$(now)
      if ((w == 0)); then
        terraform -chdir="w$w/u$i" plan -input=false -no-color > /dev/null
      else
        up=$(terraform -chdir="w$((w - 1))/u$i" output -raw id)
        TF_VAR_upstream="$up" terraform -chdir="w$w/u$i" plan -input=false -no-color > /dev/null
      fi
      e=$(now)
      t[$w,$i]=$(echo "$e - $s" | bc -l)
      sum=$(echo "$sum + ${t[$w,$i]}" | bc -l)
    done
  done
  # Critical path: longest chain through the two edges of each unit.
  local -A cp
  local best=0 a b
  for ((w = 0; w < WAVES; w++)); do
    for ((i = 0; i < PER_WAVE; i++)); do
      if ((w == 0)); then
        cp[$w,$i]=${t[$w,$i]}
      else
        a=${cp[$((w - 1)),$i]}
        b=${cp[$((w - 1)),$(( (i + 1) % PER_WAVE ))]}
        if (( $(echo "$a < $b" | bc -l) )); then a=$b; fi
        cp[$w,$i]=$(echo "$a + ${t[$w,$i]}" | bc -l)
      fi
      if (( $(echo "${cp[$w,$i]} > $best" | bc -l) )); then best=${cp[$w,$i]}; fi
    done
  done
  printf '%.2f %.2f\n' "$sum" "$best"
}

echo "units: $((WAVES * PER_WAVE)) ($WAVES waves x $PER_WAVE), rounds: $ROUNDS, cores: $(nproc)"
echo "terraform: $(terraform version | head -1), ralf: $RALF"
for ((r = 1; r <= ROUNDS; r++)); do
  for p in "" 4; do
    s=$(now)
    if [[ -z "$p" ]]; then
      "$RALF" run --all --tf-path terraform plan > "$WORK/plan.log" 2>&1 || { cat "$WORK/plan.log"; exit 1; }
      label="ralf run --all plan (parallelism unlimited)"
    else
      "$RALF" run --all --tf-path terraform --parallelism "$p" plan > "$WORK/plan.log" 2>&1 || { cat "$WORK/plan.log"; exit 1; }
      label="ralf run --all plan --parallelism $p"
    fi
    e=$(now)
    grep -q "30 succeeded" "$WORK/plan.log" || { echo "unexpected summary"; tail -40 "$WORK/plan.log"; exit 1; }
    printf 'round %d: %-45s %.2fs\n' "$r" "$label" "$(echo "$e - $s" | bc -l)"
  done
  read -r sum cp < <(plain_round)
  printf 'round %d: %-45s %.2fs\n' "$r" "plain terraform plan, sum over units" "$sum"
  printf 'round %d: %-45s %.2fs\n' "$r" "plain terraform plan, critical path" "$cp"
done
