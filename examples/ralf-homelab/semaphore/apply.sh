#!/bin/sh
# Semaphore "<Group>: Apply": applies the plans "<Group>: Plan" saved, and nothing else.
# Refuses when there is no saved plan or when the repository is at another commit than the one
# planned; Terraform itself refuses a plan whose state changed since (a stale plan).
#
# Arguments (from the template): GROUP --queue-include-dir stacks/<name>-fz ...
set -eu
. "$(dirname "$0")/lib.sh"
ralf_parse_args "$@"
ralf_prepare

plan_dir=$(ralf_plan_dir)
[ -f "$plan_dir/COMMIT" ] || ralf_die "no saved plan for group $RALF_GROUP ($RALF_ENV) in $plan_dir: run the $RALF_GROUP Plan template first, review it, then run Apply"
planned=$(cat "$plan_dir/COMMIT")
current=$(ralf_commit)
[ "$planned" = "$current" ] || ralf_die "the saved plan of group $RALF_GROUP was made at commit $planned, the repository is now at $current: run the $RALF_GROUP Plan template again and review the new plan"

ralf_log "applying the saved plan of group $RALF_GROUP ($RALF_ENV) from commit $planned"
set -f
# shellcheck disable=SC2086 # RALF_SELECTION holds checked words, globbing is off
ralf run --all apply --non-interactive --out-dir "$plan_dir" $RALF_SELECTION
set +f
# A saved plan applies once.
rm -rf "$plan_dir"
ralf_log "applied group $RALF_GROUP"
