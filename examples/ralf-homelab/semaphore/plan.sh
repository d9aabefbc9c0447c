#!/bin/sh
# Semaphore "<Group>: Plan": plans the group's stacks and saves the plans for "<Group>: Apply".
# Review the task's output (or the JSON in the plan directory), then run Apply: it applies
# exactly these plans, or refuses when the repository moved on.
#
# Arguments (from the template): GROUP --queue-include-dir stacks/<name>-fz ...
set -eu
. "$(dirname "$0")/lib.sh"
ralf_parse_args "$@"
ralf_prepare

plan_dir=$(ralf_plan_dir)
rm -rf "$plan_dir"
mkdir -p "$plan_dir"
ralf_commit >"$plan_dir/COMMIT"

ralf_log "planning group $RALF_GROUP ($RALF_ENV) at commit $(cat "$plan_dir/COMMIT") into $plan_dir"
set -f
# shellcheck disable=SC2086 # RALF_SELECTION holds checked words, globbing is off
ralf run --all plan --non-interactive --out-dir "$plan_dir" $RALF_SELECTION
set +f
ralf_log "saved. Review the plan above, then run the $RALF_GROUP Apply template"
