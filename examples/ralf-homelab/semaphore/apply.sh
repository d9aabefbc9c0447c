#!/bin/sh
# Semaphore "<Group>: Apply": applies the plan "<Group>: Plan" saved, and nothing else.
# Refuses when there is no saved plan, when plan_id (the template's survey variable: the ID
# Plan printed, typed in by whoever reviewed it) names another plan, when the saved files
# changed since, or when the repository is at another commit than the one planned; Terraform
# itself refuses a plan whose state changed since (a stale plan).
#
# Arguments (from the template): GROUP --queue-include-dir stacks/<name>-fz ...
# and, from the survey, plan_id=<id>.
set -eu
. "$(dirname "$0")/lib.sh"
ralf_parse_args "$@"
ralf_prepare

plan_dir=$(ralf_plan_dir)
{ [ -f "$plan_dir/PLAN_ID" ] && [ -f "$plan_dir/COMMIT" ]; } || ralf_die "no saved plan for group $RALF_GROUP ($RALF_ENV) in $plan_dir: run the $RALF_GROUP Plan template first, review it, then run Apply with the plan ID it prints"
saved=$(cat "$plan_dir/PLAN_ID")
[ -n "$RALF_APPROVED_PLAN" ] || ralf_die "no plan_id given: run the $RALF_GROUP Apply template with the plan ID the $RALF_GROUP Plan task printed (the saved plan is $saved), after reviewing that plan"
[ "$RALF_APPROVED_PLAN" = "$saved" ] || ralf_die "plan_id $RALF_APPROVED_PLAN is not the saved plan of group $RALF_GROUP, which is $saved: the Plan template ran again after the review. Review the newest Plan task's output, then run Apply with its plan ID"
[ "$(ralf_plan_id "$plan_dir")" = "$saved" ] || ralf_die "the saved plan of group $RALF_GROUP in $plan_dir changed after Plan wrote it (plan ID $saved no longer matches its files): run the $RALF_GROUP Plan template again and review the new plan"
planned=$(cat "$plan_dir/COMMIT")
current=$(ralf_commit)
[ "$planned" = "$current" ] || ralf_die "the saved plan of group $RALF_GROUP was made at commit $planned, the repository is now at $current: run the $RALF_GROUP Plan template again and review the new plan"

ralf_log "applying plan $saved of group $RALF_GROUP ($RALF_ENV) from commit $planned"
set -f
status=0
# shellcheck disable=SC2086 # RALF_SELECTION holds checked words, globbing is off
ralf run --all apply --non-interactive --out-dir "$plan_dir" $RALF_SELECTION || status=$?
set +f
# A saved plan applies once, whether it succeeded or not: after a failure the state moved on
# for the units that ran, and a new plan is the only honest one.
rm -rf "$plan_dir"
[ "$status" -eq 0 ] || ralf_die "the apply of plan $saved of group $RALF_GROUP failed (exit $status); the saved plan is used up. See the output above, then run the $RALF_GROUP Plan template again"
ralf_log "applied plan $saved of group $RALF_GROUP"
