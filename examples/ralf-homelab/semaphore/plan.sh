#!/bin/sh
# Semaphore "<Group>: Plan": plans the group's stacks and saves the plans for "<Group>: Apply",
# outside this template's clone (Apply runs in another clone). Prints a summary of the changes
# (`ralf report`) and the plan ID: reviewing the plan and typing that ID into Apply's survey is
# the approval; Apply applies exactly this plan, or refuses.
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
status=0
# shellcheck disable=SC2086 # RALF_SELECTION holds checked words, globbing is off
ralf run --all plan --non-interactive --out-dir "$plan_dir" --json-out-dir "$plan_dir" $RALF_SELECTION || status=$?
set +f
if [ "$status" -ne 0 ]; then
    # A failed plan must never be applied.
    rm -rf "$plan_dir"
    ralf_die "the plan of group $RALF_GROUP failed (exit $status); nothing was saved. See the output above"
fi

# The review: what changes, per stack, sensitive values hidden (runner/src/report.rs).
ralf report "$plan_dir" || ralf_log "warning: ralf report could not summarise the plan; review the plan output above"

plan_id=$(ralf_plan_id "$plan_dir")
printf '%s\n' "$plan_id" >"$plan_dir/PLAN_ID"
ralf_log "saved plan $plan_id of group $RALF_GROUP. Review it above; to apply exactly this plan, run the $RALF_GROUP Apply template with plan_id $plan_id"
