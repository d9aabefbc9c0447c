# Shared by plan.sh, apply.sh and smoke.sh (sourced, never run on its own): reads the
# arguments a Semaphore Bash template passes, finds the tools and the iac/ tree, and checks the
# settings a run needs before any unit starts. POSIX sh, so it also runs under busybox ash.
#
# How Semaphore runs a Bash template (semaphoreui/semaphore, services/tasks/LocalJob.go
# getShellArgs, db_lib/ShellApp.go makeShellCmd):
#   bash <script> [secret variables NAME=VALUE] <template arguments> [extra and survey
#        variables NAME=VALUE] [task arguments, only with allow_override_args_in_task]
# in the template's own clone of the repository (db/Repository.go GetFullPath:
# <tmp_path>/repository_<repository id>_<template id>), with stdin empty, HOME=<tmp_path>, and
# no environment of Semaphore's own beyond forwarded_env_vars/env_vars: only the Environment's
# variables and secrets of type "env", and SSH_AUTH_SOCK when the template's Inventory has an
# SSH key (LocalJob.go Run, db/AccessKey.go Install).
#
# Our template arguments: GROUP, then the selection, e.g.
#   vault --queue-include-dir stacks/vaultwarden-fz
# to which the gatekeeper (stacks/network-health, or RALF_GATEKEEPER) is added, so every
# group's run passes it first.
# Accepted selection flags: --queue-include-dir, --queue-exclude-dir, --filter and
# --parallelism, passed to ralf as they are. Of the NAME=VALUE words only plan_id (the Apply
# templates' survey variable) is read; the others are ignored, naming only the NAME: settings
# come from the Environment.

ralf_die() {
    printf 'ralf-semaphore: error: %s\n' "$*" >&2
    exit 1
}

ralf_log() {
    printf 'ralf-semaphore: %s\n' "$*" >&2
}

# A selection value: a stack path, a glob or a filter expression, without spaces or quotes.
ralf_check_value() {
    case $2 in
        '' | -*) ralf_die "$1 needs a value (for example $1 stacks/vaultwarden-fz)" ;;
        *[!A-Za-z0-9_./*=+:@!{},-]*) ralf_die "$1 '$2' holds a character the RALF scripts do not pass on (allowed: letters, digits and _ . / * = + : @ ! { } , -)" ;;
    esac
}

# Sets RALF_GROUP, RALF_SELECTION (words for ralf, expanded unquoted with globbing off) and
# RALF_APPROVED_PLAN (the plan_id survey value, empty without one).
ralf_parse_args() {
    RALF_GROUP=
    RALF_SELECTION=
    RALF_APPROVED_PLAN=
    while [ $# -gt 0 ]; do
        case $1 in
            --queue-include-dir | --queue-exclude-dir | --filter | --parallelism)
                [ $# -ge 2 ] || ralf_die "$1 needs a value"
                ralf_check_value "$1" "$2"
                RALF_SELECTION="$RALF_SELECTION $1 $2"
                shift 2
                ;;
            --queue-include-dir=* | --queue-exclude-dir=* | --filter=* | --parallelism=*)
                ralf_check_value "${1%%=*}" "${1#*=}"
                RALF_SELECTION="$RALF_SELECTION ${1%%=*} ${1#*=}"
                shift
                ;;
            -*)
                ralf_die "unknown argument '$1' in the template's arguments (accepted: GROUP, --queue-include-dir, --queue-exclude-dir, --filter, --parallelism)"
                ;;
            plan_id=*)
                RALF_APPROVED_PLAN=${1#plan_id=}
                case $RALF_APPROVED_PLAN in
                    *[!0-9a-f]*) ralf_die "plan_id '$RALF_APPROVED_PLAN' is not a plan ID (12 hexadecimal digits, printed at the end of the Plan task)" ;;
                esac
                shift
                ;;
            [A-Za-z_]*=*)
                ralf_log "ignoring Semaphore variable ${1%%=*} (the RALF scripts read their settings from the Environment)"
                shift
                ;;
            *)
                [ -z "$RALF_GROUP" ] || ralf_die "two group names: '$RALF_GROUP' and '$1'"
                case $1 in
                    *[!a-z0-9-]*) ralf_die "group name '$1' must be lower-case letters, digits and -" ;;
                esac
                RALF_GROUP=$1
                shift
                ;;
        esac
    done
    [ -n "$RALF_GROUP" ] || ralf_die "the template's arguments must start with the group name (for example: vault --queue-include-dir stacks/vaultwarden-fz)"
    [ -n "$RALF_SELECTION" ] || ralf_die "group $RALF_GROUP selects no stacks: add --queue-include-dir stacks/<name>-fz (or --filter) to the template's arguments"
    # The gatekeeper runs before every group: a selection leaves out what it does not name, so
    # name it (first). RALF_GATEKEEPER= (empty) in the Environment turns this off.
    gatekeeper=${RALF_GATEKEEPER-stacks/network-health}
    if [ -n "$gatekeeper" ]; then
        ralf_check_value RALF_GATEKEEPER "$gatekeeper"
        case " $RALF_SELECTION " in
            *" --queue-include-dir "*) RALF_SELECTION=" --queue-include-dir $gatekeeper$RALF_SELECTION" ;;
            *" --filter "*) RALF_SELECTION=" --filter ./$gatekeeper$RALF_SELECTION" ;;
        esac
    fi
}

# Finds ralf (installing a release when RALF_RELEASE_URL says where one is), enters iac/ and
# checks the settings every run needs. Never prints a secret, only the names of what is missing.
ralf_prepare() {
    umask 077
    RALF_SCRIPTS_DIR=$(cd "$(dirname "$0")" && pwd)
    RALF_REPO_DIR=$(cd "$RALF_SCRIPTS_DIR/.." && pwd)
    RALF_HOME=${RALF_HOME:-${HOME:-/tmp}/ralf}
    RALF_ENV=${RALF_ENV:-functional}
    export RALF_ENV

    # Settings first: nothing is installed or run for a task that cannot succeed.
    missing=
    [ -n "${PROXMOX_VE_ENDPOINT:-}" ] || missing="$missing PROXMOX_VE_ENDPOINT"
    if [ -z "${PROXMOX_VE_API_TOKEN:-}" ] && { [ -z "${PROXMOX_VE_USERNAME:-}" ] || [ -z "${PROXMOX_VE_PASSWORD:-}" ]; }; then
        missing="$missing PROXMOX_VE_API_TOKEN(or PROXMOX_VE_USERNAME+PROXMOX_VE_PASSWORD)"
    fi
    ralf_check_state_backend
    [ -z "$missing" ] || ralf_die "missing in the template's Environment:$missing (secrets go in as secrets of type environment variable)"

    # Semaphore passes no PATH of its own unless forwarded_env_vars lists it. Its image keeps
    # Ansible in a virtualenv (deployment/docker/server/Dockerfile: ANSIBLE_VENV_PATH
    # /opt/semaphore/apps/ansible/<version>/venv), which the install steps' ansible-playbook needs.
    PATH="$RALF_HOME/bin:${PATH:-/usr/local/bin:/usr/bin:/bin}"
    for venv_bin in /opt/semaphore/apps/ansible/*/venv/bin; do
        [ -d "$venv_bin" ] && PATH="$PATH:$venv_bin"
    done
    export PATH

    if ! command -v ralf >/dev/null 2>&1; then
        if [ -n "${RALF_RELEASE_URL:-}" ]; then
            [ -n "${RALF_VERSION:-}" ] || ralf_die "RALF_RELEASE_URL is set but RALF_VERSION is not: set both in the Environment"
            sh "$RALF_SCRIPTS_DIR/install-ralf.sh" "$RALF_VERSION" "$RALF_HOME"
        else
            ralf_die "ralf is not on PATH: build the runner image with it (docs/guides/semaphore.md), or set RALF_RELEASE_URL and RALF_VERSION in the Environment"
        fi
    fi
    if [ -z "${TF_CLI_CONFIG_FILE:-}" ] && [ -f "$RALF_HOME/terraformrc" ]; then
        TF_CLI_CONFIG_FILE=$RALF_HOME/terraformrc
        export TF_CLI_CONFIG_FILE
    fi

    if [ -n "${PROXMOX_VE_SSH_USERNAME:-}" ] && [ -z "${PROXMOX_VE_SSH_PRIVATE_KEY:-}" ] && [ -z "${SSH_AUTH_SOCK:-}" ]; then
        ralf_log "warning: no SSH key: give the template an Inventory whose SSH key is the node's (Semaphore then sets SSH_AUTH_SOCK); service checks will fail to log in"
    fi

    RALF_IAC_DIR=$RALF_REPO_DIR/${RALF_IAC_SUBDIR:-iac}
    [ -f "$RALF_IAC_DIR/root.hcl" ] || ralf_die "no iac/root.hcl in $RALF_REPO_DIR: the repository's root must hold iac/ and semaphore/ (a copy of examples/ralf-homelab)"
    # The Ansible project of the install steps: this clone's own copy unless the Environment
    # names another (a fixed path cannot name the clone: its directory differs per template).
    RALF_ANSIBLE_DIR=${RALF_ANSIBLE_DIR:-$RALF_IAC_DIR/ansible}
    export RALF_ANSIBLE_DIR
    cd "$RALF_IAC_DIR" || ralf_die "cannot enter $RALF_IAC_DIR"

    case " $RALF_SELECTION " in
        *semaphore-fz* | *gitea-fz* | *postgresql-fz* | *minio-fz*)
            ralf_log "warning: this run includes stacks that host Semaphore, this repository or the state backend (semaphore, gitea, postgresql, minio): replacing, stopping or rolling back one of them from inside Semaphore ends or breaks this task mid-run (docs/guides/semaphore.md)"
            ;;
    esac
}

# Every template runs in its own clone, so state must be shared (iac/root.hcl: RALF_STATE pg
# or s3); adds the backend's missing credentials to $missing, by name.
ralf_check_state_backend() {
    case ${RALF_STATE:-local} in
        pg)
            [ -n "${PG_CONN_STR:-}" ] || missing="$missing PG_CONN_STR"
            ;;
        s3)
            [ -n "${AWS_ACCESS_KEY_ID:-}" ] || missing="$missing AWS_ACCESS_KEY_ID"
            [ -n "${AWS_SECRET_ACCESS_KEY:-}" ] || missing="$missing AWS_SECRET_ACCESS_KEY"
            ;;
        local)
            ralf_die "RALF_STATE is ${RALF_STATE:-not set} (local state): in Semaphore every template runs in its own clone of the repository, so local state written by one template is invisible to the next. Set RALF_STATE=pg (with the secret PG_CONN_STR) or RALF_STATE=s3 (with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) in the Environment (docs/guides/semaphore.md)"
            ;;
        *)
            ralf_die "RALF_STATE '$RALF_STATE' is not a state backend of iac/root.hcl: use pg or s3"
            ;;
    esac
}

# Where the Plan template leaves its saved plans for the Apply template of the same group.
# Templates have separate clones, so this lies outside them (RALF_PLAN_DIR, default
# $HOME/ralf-plans, that is <tmp_path>/ralf-plans: keep it on a volume, and use one runner for
# Plan and Apply).
ralf_plan_dir() {
    printf '%s/%s/%s\n' "${RALF_PLAN_DIR:-${HOME:-/tmp}/ralf-plans}" "$RALF_ENV" "$RALF_GROUP"
}

# The plan ID of a saved plan directory: the first 12 hex digits of a SHA-256 over every file
# in it (its commit, binary and JSON plans), names and contents, except PLAN_ID itself. Plan
# prints it; Apply needs it typed in (the plan_id survey variable) and recomputes it, so it
# applies only the plan that was reviewed.
ralf_plan_id() {
    (
        cd "$1" || exit 1
        find . -type f ! -name PLAN_ID | LC_ALL=C sort | while IFS= read -r file; do
            sha256sum "$file"
        done
    ) | sha256sum | cut -c 1-12
}

# The commit the clone is at.
ralf_commit() {
    git -C "$RALF_REPO_DIR" rev-parse HEAD 2>/dev/null || ralf_die "cannot read the commit of $RALF_REPO_DIR (is git installed?)"
}
