#!/bin/sh
# Creates the nightly drift check after ralf-project.json is restored: one active Semaphore
# schedule per "<Group>: Smoke" template of the file, at RALF_SMOKE_HOUR:00 (default 3), the
# groups 5 minutes apart in the file's order. A project backup cannot carry such a schedule:
# restore.go turns a template's `cron` into a schedule bound to the repository, which
# services/schedules/SchedulePool.go runs only when the repository has a new commit
# (docs/guides/semaphore.md). Templates that already have a schedule are left as they are, so
# running this again changes nothing.
#
# Usage: schedules.sh SEMAPHORE_URL PROJECT_ID
#   SEMAPHORE_API_TOKEN  an API token of a user who may manage the project (never printed)
# Semaphore's API (semaphoreui/semaphore api/router.go, api/projects/schedules.go):
#   GET  /api/project/<id>/templates   the restored templates, with their ids
#   GET  /api/project/<id>/schedules   the schedules not bound to a repository
#   POST /api/project/<id>/schedules   {"name", "template_id", "cron_format", "active"}
# Needs curl and python3 (both in Semaphore's image).
set -eu

die() {
    printf 'ralf-schedules: error: %s\n' "$*" >&2
    exit 1
}

[ $# -eq 2 ] || die "usage: schedules.sh SEMAPHORE_URL PROJECT_ID (with SEMAPHORE_API_TOKEN set)"
url=${1%/}
project=$2
case $url in
    https://* | http://*) ;;
    *) die "SEMAPHORE_URL '$url' is not an http(s) URL (e.g. https://semaphore.ralf.home.arpa)" ;;
esac
case $project in
    '' | *[!0-9]*) die "PROJECT_ID '$project' is not a number: it is the number in the project's URL (/project/<id>/...)" ;;
esac
[ -n "${SEMAPHORE_API_TOKEN:-}" ] || die "set SEMAPHORE_API_TOKEN to an API token of a user who may manage project $project"
hour=${RALF_SMOKE_HOUR:-3}
case $hour in
    [0-9] | 1[0-9] | 2[0-3]) ;;
    *) die "RALF_SMOKE_HOUR '$hour' is not an hour from 0 to 23" ;;
esac
command -v curl >/dev/null 2>&1 || die "curl is not installed"
command -v python3 >/dev/null 2>&1 || die "python3 is not installed"
project_file="$(cd "$(dirname "$0")" && pwd)/ralf-project.json"
[ -f "$project_file" ] || die "no $project_file next to this script"

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
# The token goes to curl in a file, never on a command line.
printf 'Authorization: Bearer %s\n' "$SEMAPHORE_API_TOKEN" >"$work/auth"

# api METHOD PATH [BODY]: the response body in $work/response; fails with the HTTP status.
api() {
    set -- "$1" "$2" "${3:-}"
    if [ -n "$3" ]; then
        printf '%s' "$3" >"$work/body"
        set -- "$1" "$2" --data-binary "@$work/body" -H 'Content-Type: application/json'
    else
        set -- "$1" "$2"
    fi
    method=$1
    path=$2
    shift 2
    status=$(curl -sS -o "$work/response" -w '%{http_code}' -X "$method" -H "@$work/auth" "$@" \
        "$url/api/project/$project$path" </dev/null) || die "cannot reach Semaphore at $url"
    case $status in
        2??) ;;
        401) die "$method /api/project/$project$path: 401, Semaphore refused SEMAPHORE_API_TOKEN (create one under the user's settings, API tokens)" ;;
        403 | 404) die "$method /api/project/$project$path: $status, no project $project for this token's user, or the user may not manage it" ;;
        *) die "$method /api/project/$project$path: HTTP $status: $(head -c 300 "$work/response")" ;;
    esac
}

# The Smoke templates of the file, in its order, and their ids in the project, as
# "<id>\t<cron>\t<name>" lines; fails naming the templates the project lacks.
api GET /templates
cp "$work/response" "$work/templates.json"
api GET /schedules
cp "$work/response" "$work/schedules.json"
python3 - "$project_file" "$work/templates.json" "$work/schedules.json" "$hour" >"$work/plan" <<'EOF'
import json, sys
project_file, templates_file, schedules_file, hour = sys.argv[1:]
wanted = [t["name"] for t in json.load(open(project_file))["templates"] if t["name"].endswith(": Smoke")]
ids = {t["name"]: t["id"] for t in json.load(open(templates_file)) or []}
scheduled = {s["template_id"]: s["cron_format"] for s in json.load(open(schedules_file)) or []}
missing = [name for name in wanted if name not in ids]
if missing:
    sys.exit("ralf-schedules: error: the project has no template " + ", ".join(repr(n) for n in missing) + ": restore ralf-project.json into it first")
for i, name in enumerate(wanted):
    tid = ids[name]
    cron = scheduled.get(tid) or f"{5 * i} {hour} * * *"
    print(f"{tid}\t{'keep' if tid in scheduled else 'new'}\t{cron}\t{name}")
EOF

tab=$(printf '\t')
while IFS=$tab read -r id action cron name; do
    if [ "$action" = keep ]; then
        printf 'ralf-schedules: %s already has a schedule (%s); left as it is\n' "$name" "$cron"
        continue
    fi
    api POST /schedules "{\"name\": \"${name%: Smoke} nightly smoke\", \"template_id\": $id, \"cron_format\": \"$cron\", \"active\": true}"
    printf 'ralf-schedules: %s runs nightly at cron "%s"\n' "$name" "$cron"
done <"$work/plan"
