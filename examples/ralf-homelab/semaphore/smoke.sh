#!/bin/sh
# Semaphore "<Group>: Smoke" (and its nightly schedule): first looks for drift, then re-runs the
# group's smoke checks.
#   1. `plan -detailed-exitcode`: any change means the cluster drifted from the repository (or
#      a commit is not applied yet); the task fails listing it and changes nothing.
#   2. Only when there is none: apply with a new `smoke_run` value, targeted at the smoke-check
#      resource, so the checks run again and nothing else changes. A failing check acts as on
#      deploy (the example's stacks roll the container back to pre-install).
#
# Arguments (from the template): GROUP --queue-include-dir stacks/<name>-fz ...
set -eu
. "$(dirname "$0")/lib.sh"
ralf_parse_args "$@"
ralf_prepare

ralf_log "group $RALF_GROUP ($RALF_ENV): looking for drift"
set -f
status=0
# shellcheck disable=SC2086 # RALF_SELECTION holds checked words, globbing is off
ralf run --all plan --non-interactive $RALF_SELECTION -- -detailed-exitcode || status=$?
case $status in
    0) ;;
    2) ralf_die "drift in group $RALF_GROUP: the plan above shows changes. Nothing was changed; run the $RALF_GROUP Plan template, review, and Apply (or fix the cause)" ;;
    *) ralf_die "the drift plan of group $RALF_GROUP failed (exit $status); see the output above" ;;
esac

TF_VAR_smoke_run="smoke-$(date -u +%Y%m%dT%H%M%SZ)"
export TF_VAR_smoke_run
ralf_log "group $RALF_GROUP: no drift; running the smoke checks ($TF_VAR_smoke_run)"
# shellcheck disable=SC2086
ralf run --all apply --non-interactive $RALF_SELECTION -- -target=ralf_smoke_check.this
set +f
ralf_log "group $RALF_GROUP: smoke checks passed"
