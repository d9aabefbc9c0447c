//! The Semaphore project file `examples/ralf-homelab/semaphore/ralf-project.json`, checked field
//! by field against Semaphore's project backup format, and the Bash scripts its templates call,
//! run the way Semaphore runs them (with a stand-in `ralf` that records what it is asked to do).
//!
//! The format is Semaphore's, read from its source: semaphoreui/semaphore at commit
//! d4a27137486d65f963257d06e6b7867b54513e20 (2024-10-25, `git describe`: v2.10.32-31-gd4a27137,
//! the newest snapshot at hand), files `services/project/types.go` (the Backup* structs),
//! `services/project/backup_marshal.go` (a field's JSON key is its `backup` tag, else its `db`
//! tag; `backup:"-"`, `db:"-"` and untagged fields are not part of the format; nil pointers are
//! left out; unknown keys are silently ignored on restore, which is why this test refuses them),
//! `services/project/restore.go` (what Verify and Restore require: references by name),
//! `api/projects/backupRestore.go` (POST /api/projects/restore: Unmarshal, Verify, Restore) and
//! the embedded `db/*.go` models. This test knows nothing of the provider or the runner.

mod support;

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// ---------------------------------------------------------------------------------------------
// The format, as Semaphore's source defines it.
// ---------------------------------------------------------------------------------------------

/// JSON type of a field, from the Go type behind it (backup_marshal.go setBasicType: string,
/// bool, any number for ints; slices are arrays; structs are objects).
#[derive(Clone, Copy)]
enum Ty {
    String,
    Bool,
    Integer,
    Object(&'static [Field]),
    ListOf(&'static [Field]),
    StringList,
    /// A list this file must leave empty (its element format is not pinned here).
    EmptyList,
}

#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    ty: Ty,
    /// A Go pointer (`*string`): null or absent is allowed.
    nullable: bool,
    /// Needed by Restore/Validate or `binding:"required"`: must be present and not null.
    required: bool,
}

const fn field(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        nullable: false,
        required: false,
    }
}
const fn required(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        nullable: false,
        required: true,
    }
}
const fn pointer(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        nullable: true,
        required: false,
    }
}

/// services/project/types.go BackupFormat.
const BACKUP_FORMAT: &[Field] = &[
    required("meta", Ty::Object(PROJECT)),
    field("templates", Ty::ListOf(TEMPLATE)),
    field("repositories", Ty::ListOf(REPOSITORY)),
    field("keys", Ty::ListOf(ACCESS_KEY)),
    field("views", Ty::ListOf(VIEW)),
    field("inventories", Ty::ListOf(INVENTORY)),
    field("environments", Ty::ListOf(ENVIRONMENT)),
    field("integrations", Ty::EmptyList),
    field("integration_aliases", Ty::StringList),
];

/// db/Project.go Project (id and created are `backup:"-"`).
const PROJECT: &[Field] = &[
    required("name", Ty::String),
    field("alert", Ty::Bool),
    pointer("alert_chat", Ty::String),
    field("max_parallel_tasks", Ty::Integer),
    field("type", Ty::String),
];

/// db/Template.go Template (ids, vaults, last_task, tasks and the survey_vars JSON column are
/// `backup:"-"`) plus types.go BackupTemplate's name references. BackupTemplate.VaultKey has
/// only a `json` tag, so the restore code never reads it: not part of the format.
const TEMPLATE: &[Field] = &[
    required("name", Ty::String),
    // Template.Validate: every app but terraform/tofu needs a playbook (the script to run).
    required("playbook", Ty::String),
    pointer("arguments", Ty::String),
    field("allow_override_args_in_task", Ty::Bool),
    pointer("description", Ty::String),
    field("type", Ty::String),
    pointer("start_version", Ty::String),
    field("autorun", Ty::Bool),
    pointer("git_branch", Ty::String),
    field("survey_vars", Ty::ListOf(SURVEY_VAR)),
    field("suppress_success_alerts", Ty::Bool),
    required("app", Ty::String),
    pointer("inventory", Ty::String),
    required("repository", Ty::String),
    pointer("environment", Ty::String),
    pointer("build_template", Ty::String),
    pointer("view", Ty::String),
    field("vaults", Ty::ListOf(TEMPLATE_VAULT)),
    pointer("cron", Ty::String),
];

/// db/Template.go SurveyVar.
const SURVEY_VAR: &[Field] = &[
    required("name", Ty::String),
    field("title", Ty::String),
    field("required", Ty::Bool),
    field("type", Ty::String),
    field("description", Ty::String),
    field("values", Ty::ListOf(SURVEY_VAR_ENUM_VALUE)),
];

/// db/Template.go SurveyVarEnumValue.
const SURVEY_VAR_ENUM_VALUE: &[Field] = &[field("name", Ty::String), field("value", Ty::String)];

/// db/TemplateVault.go TemplateVault plus types.go BackupTemplateVault.VaultKey.
const TEMPLATE_VAULT: &[Field] = &[
    pointer("name", Ty::String),
    required("vault_key", Ty::String),
];

/// db/Repository.go Repository plus types.go BackupRepository.SSHKey, which restore.go
/// requires ("SSHKey does not exist in keys[].Name" when it is missing).
const REPOSITORY: &[Field] = &[
    required("name", Ty::String),
    required("git_url", Ty::String),
    required("git_branch", Ty::String),
    required("ssh_key", Ty::String),
];

/// db/AccessKey.go AccessKey: only name and type travel; the secret is `backup:"-"` and the
/// decoded forms are `db:"-"`, so a restored key has no secret until someone enters it.
const ACCESS_KEY: &[Field] = &[required("name", Ty::String), required("type", Ty::String)];

/// db/View.go View.
const VIEW: &[Field] = &[
    required("title", Ty::String),
    field("position", Ty::Integer),
];

/// db/Inventory.go Inventory plus types.go BackupInventory's key references.
const INVENTORY: &[Field] = &[
    required("name", Ty::String),
    field("inventory", Ty::String),
    required("type", Ty::String),
    pointer("ssh_key", Ty::String),
    pointer("become_key", Ty::String),
];

/// db/Environment.go Environment (secrets are `backup:"-"`: they never travel).
const ENVIRONMENT: &[Field] = &[
    required("name", Ty::String),
    pointer("password", Ty::String),
    required("json", Ty::String),
    required("env", Ty::String),
];

/// db/Template.go TemplateApp values.
const APPS: &[&str] = &[
    "ansible",
    "terraform",
    "tofu",
    "bash",
    "powershell",
    "python",
    "pulumi",
];
/// db/Template.go TemplateType values ("" is a plain task).
const TEMPLATE_TYPES: &[&str] = &["", "build", "deploy"];
/// db/Template.go SurveyVarType values ("" is a string), plus "secret", which only the web UI
/// defines (web/src/components/SurveyVars.vue varTypes; TaskForm.vue sends its value as the
/// task's secret, which LocalJob.getShellArgs never passes to a Bash script).
const SURVEY_VAR_TYPES: &[&str] = &["", "int", "enum", "secret"];
/// db/AccessKey.go AccessKeyType values.
const KEY_TYPES: &[&str] = &["ssh", "none", "login_password", "string"];
/// db/Inventory.go InventoryType values (InventoryNone is commented out there).
const INVENTORY_TYPES: &[&str] = &[
    "static",
    "static-yaml",
    "file",
    "terraform-workspace",
    "tofu-workspace",
];

// ---------------------------------------------------------------------------------------------
// What the RALF file must hold.
// ---------------------------------------------------------------------------------------------

/// The service groups (docs/guides/semaphore.md, "Groups and their templates"), each with its
/// title and stacks.
const GROUPS: &[(&str, &str, &[&str])] = &[
    (
        "base",
        "Base",
        &["postgresql", "minio", "gitea", "semaphore"],
    ),
    ("vault", "Vault", &["vaultwarden"]),
    ("platform", "Platform", &["netbox", "snipeit"]),
    ("automation", "Automation", &["n8n"]),
    (
        "communication",
        "Communication",
        &["mail", "synapse", "element"],
    ),
    (
        "observability",
        "Observability",
        &["prometheus", "grafana", "loki"],
    ),
    ("ai", "AI", &["exo"]),
];

/// Stacks the templates select that the example tree does not have yet (none: all 15 exist);
/// remove a stack from here once `iac/<stack>` exists (the test says so).
const PENDING_STACKS: &[&str] = &[];

/// Template kind => the script it runs.
const KINDS: &[(&str, &str)] = &[
    ("Plan", "semaphore/plan.sh"),
    ("Apply", "semaphore/apply.sh"),
    ("Smoke", "semaphore/smoke.sh"),
];

/// Environment variables that are secrets: they belong in Semaphore's environment secrets,
/// which a backup never carries, not in the file.
const SECRET_NAMES: &[&str] = &[
    "PROXMOX_VE_API_TOKEN",
    "PROXMOX_VE_PASSWORD",
    "PROXMOX_VE_SSH_PRIVATE_KEY",
    "PG_CONN_STR",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
];

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/ralf-homelab")
        .canonicalize()
        .expect("examples/ralf-homelab exists")
}

fn project_file() -> Value {
    let path = example_dir().join("semaphore/ralf-project.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn list<'a>(project: &'a Value, name: &str) -> &'a [Value] {
    project[name]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("`{name}` is not a list"))
}

fn text<'a>(object: &'a Value, name: &str) -> &'a str {
    object[name]
        .as_str()
        .unwrap_or_else(|| panic!("`{name}` is not a string in {object}"))
}

/// An Environment's `env`: LocalJob.getEnvironmentENV unmarshals it into map[string]string.
fn env_vars(env: &Value) -> Map<String, Value> {
    serde_json::from_str(text(env, "env")).unwrap_or_else(|e| {
        panic!(
            "environment {}: `env` is not a JSON object: {e}",
            env["name"]
        )
    })
}

fn templates(project: &Value) -> Vec<&Value> {
    list(project, "templates").iter().collect()
}

fn template<'a>(project: &'a Value, name: &str) -> &'a Value {
    templates(project)
        .into_iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no template named {name:?}"))
}

/// A template's `arguments`: JSON text of a list of strings (LocalJob.getShellArgs unmarshals
/// it into []string; Template.Validate requires valid JSON).
fn arguments(template: &Value) -> Vec<String> {
    let raw = text(template, "arguments");
    serde_json::from_str(raw).unwrap_or_else(|e| {
        panic!(
            "template {}: arguments {raw:?} are not a JSON list of strings: {e}",
            template["name"]
        )
    })
}

/// Every `--queue-include-dir` value of a template.
fn include_dirs(args: &[String]) -> Vec<String> {
    args.windows(2)
        .filter(|w| w[0] == "--queue-include-dir")
        .map(|w| w[1].clone())
        .collect()
}

fn check_object(path: &str, value: &Value, fields: &[Field], errors: &mut Vec<String>) {
    let Some(object) = value.as_object() else {
        errors.push(format!("{path}: expected an object, found {value}"));
        return;
    };
    for key in object.keys() {
        if !fields.iter().any(|f| f.name == key) {
            errors.push(format!(
                "{path}.{key}: not a field of Semaphore's backup format (known: {})",
                fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for f in fields {
        let at = format!("{path}.{}", f.name);
        match object.get(f.name) {
            None | Some(Value::Null) if f.required => {
                errors.push(format!("{at}: required, missing"))
            }
            None => {}
            Some(Value::Null) if f.nullable => {}
            Some(v) => check_value(&at, v, f.ty, errors),
        }
    }
}

fn check_value(at: &str, v: &Value, ty: Ty, errors: &mut Vec<String>) {
    let ok = match ty {
        Ty::String => v.is_string(),
        Ty::Bool => v.is_boolean(),
        Ty::Integer => v.is_i64() || v.is_u64(),
        Ty::Object(fields) => {
            check_object(at, v, fields, errors);
            true
        }
        Ty::ListOf(fields) => match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_object(&format!("{at}[{i}]"), item, fields, errors);
                }
                true
            }
            None => false,
        },
        Ty::StringList => v
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string)),
        Ty::EmptyList => v.as_array().is_some_and(Vec::is_empty),
    };
    if !ok {
        let expected = match ty {
            Ty::String => "a string",
            Ty::Bool => "a boolean",
            Ty::Integer => "an integer",
            Ty::Object(_) => "an object",
            Ty::ListOf(_) => "a list of objects",
            Ty::StringList => "a list of strings",
            Ty::EmptyList => "an empty list (this file ships no integrations)",
        };
        errors.push(format!("{at}: expected {expected}, found {v}"));
    }
}

fn assert_no_errors(what: &str, errors: Vec<String>) {
    assert!(errors.is_empty(), "{what}:\n  {}", errors.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// The file against the format.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_key_belongs_to_the_backup_format_with_its_json_type_and_required_fields_present() {
    let project = project_file();
    let mut errors = Vec::new();
    check_object("$", &project, BACKUP_FORMAT, &mut errors);
    assert_no_errors(
        "ralf-project.json against Semaphore's backup format",
        errors,
    );
}

#[test]
fn enumerated_fields_hold_values_semaphore_defines() {
    let project = project_file();
    let mut errors = Vec::new();
    let mut one_of = |at: String, value: &Value, allowed: &[&str]| {
        let value = value.as_str().unwrap_or_default();
        if !allowed.contains(&value) {
            errors.push(format!("{at}: {value:?} is not one of {allowed:?}"));
        }
    };
    for (i, t) in list(&project, "templates").iter().enumerate() {
        one_of(format!("templates[{i}].app"), &t["app"], APPS);
        if let Some(kind) = t.get("type") {
            one_of(format!("templates[{i}].type"), kind, TEMPLATE_TYPES);
        }
        for (j, var) in t["survey_vars"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            one_of(
                format!("templates[{i}].survey_vars[{j}].type"),
                &var["type"],
                SURVEY_VAR_TYPES,
            );
        }
    }
    for (i, k) in list(&project, "keys").iter().enumerate() {
        one_of(format!("keys[{i}].type"), &k["type"], KEY_TYPES);
    }
    for (i, inv) in list(&project, "inventories").iter().enumerate() {
        one_of(
            format!("inventories[{i}].type"),
            &inv["type"],
            INVENTORY_TYPES,
        );
    }
    assert_no_errors("enumerated fields", errors);
}

#[test]
fn json_text_fields_parse_as_semaphore_reads_them() {
    let project = project_file();
    for t in templates(&project) {
        // A Bash task gets these words after the script (LocalJob.getShellArgs).
        assert!(
            !arguments(t).is_empty(),
            "template {}: no arguments",
            t["name"]
        );
    }
    for env in list(&project, "environments") {
        let name = text(env, "name");
        let extra: Value = serde_json::from_str(text(env, "json"))
            .unwrap_or_else(|e| panic!("environment {name}: `json` is not JSON: {e}"));
        assert!(
            extra.is_object(),
            "environment {name}: `json` must be a JSON object"
        );
        for (key, value) in &env_vars(env) {
            assert!(
                value.is_string(),
                "environment {name}: {key} must be a string, found {value}"
            );
        }
    }
}

#[test]
fn names_are_unique_within_each_list() {
    let project = project_file();
    for (list_name, key) in [
        ("templates", "name"),
        ("repositories", "name"),
        ("keys", "name"),
        ("inventories", "name"),
        ("environments", "name"),
        ("views", "title"),
    ] {
        let mut seen = BTreeSet::new();
        for item in list(&project, list_name) {
            let name = text(item, key);
            assert!(seen.insert(name), "{list_name}: {name:?} appears twice");
        }
    }
}

#[test]
fn every_reference_names_an_existing_entry_as_the_restore_code_requires() {
    let project = project_file();
    let names = |list_name: &str, key: &str| -> BTreeSet<String> {
        list(&project, list_name)
            .iter()
            .map(|item| text(item, key).to_string())
            .collect()
    };
    let keys = names("keys", "name");
    let repositories = names("repositories", "name");
    let inventories = names("inventories", "name");
    let environments = names("environments", "name");
    let views = names("views", "title");
    let mut errors = Vec::new();
    let mut refers = |at: String, value: Option<&str>, to: &BTreeSet<String>, list_name: &str| {
        if let Some(name) = value {
            if !to.contains(name) {
                errors.push(format!("{at}: {name:?} does not exist in {list_name}"));
            }
        }
    };
    for t in templates(&project) {
        let at = |field: &str| format!("template {}: {field}", t["name"]);
        refers(
            at("repository"),
            t["repository"].as_str(),
            &repositories,
            "repositories[].name",
        );
        refers(
            at("inventory"),
            t["inventory"].as_str(),
            &inventories,
            "inventories[].name",
        );
        refers(
            at("environment"),
            t["environment"].as_str(),
            &environments,
            "environments[].name",
        );
        refers(at("view"), t["view"].as_str(), &views, "views[].title");
        for vault in t["vaults"].as_array().into_iter().flatten() {
            refers(
                at("vaults[].vault_key"),
                vault["vault_key"].as_str(),
                &keys,
                "keys[].name",
            );
        }
    }
    for inv in list(&project, "inventories") {
        let at = |field: &str| format!("inventory {}: {field}", inv["name"]);
        refers(at("ssh_key"), inv["ssh_key"].as_str(), &keys, "keys[].name");
        refers(
            at("become_key"),
            inv["become_key"].as_str(),
            &keys,
            "keys[].name",
        );
    }
    for repo in list(&project, "repositories") {
        refers(
            format!("repository {}: ssh_key", repo["name"]),
            repo["ssh_key"].as_str(),
            &keys,
            "keys[].name",
        );
    }
    assert_no_errors("references by name", errors);
}

#[test]
fn every_template_gets_the_node_ssh_key_through_its_inventory() {
    // LocalJob.installInventory loads the Inventory's SSH key into an agent and Run sets
    // SSH_AUTH_SOCK for the task, only for keys of type "ssh".
    let project = project_file();
    for t in templates(&project) {
        let name = t["inventory"]
            .as_str()
            .unwrap_or_else(|| panic!("template {}: no inventory, so no SSH key", t["name"]));
        let inventory = list(&project, "inventories")
            .iter()
            .find(|i| i["name"] == name)
            .expect("checked by the reference test");
        let key_name = inventory["ssh_key"]
            .as_str()
            .unwrap_or_else(|| panic!("inventory {name}: no ssh_key"));
        let key = list(&project, "keys")
            .iter()
            .find(|k| k["name"] == key_name)
            .expect("checked by the reference test");
        assert_eq!(
            key["type"], "ssh",
            "key {key_name} must be of type ssh to reach the agent"
        );
    }
}

#[test]
fn no_template_carries_a_cron_because_restore_makes_it_a_run_on_new_commits_schedule() {
    // restore.go creates the schedule of `cron` with RepositoryID set; SchedulePool.Run then
    // starts the task only when the repository has a new commit. A nightly drift check must run
    // every night, so its schedule is created in the UI or API (docs/guides/semaphore.md).
    let project = project_file();
    for t in templates(&project) {
        assert!(
            t.get("cron").is_none_or(Value::is_null),
            "template {}: `cron` would restore as a run-on-new-commits schedule, not a nightly one",
            t["name"]
        );
    }
}

#[test]
fn environments_hold_no_secret_because_a_backup_never_carries_secrets() {
    let project = project_file();
    for env in list(&project, "environments") {
        let vars = env_vars(env);
        for secret in SECRET_NAMES {
            assert!(
                !vars.contains_key(*secret),
                "environment {}: {secret} is a secret: add it after the import as a secret environment variable",
                env["name"]
            );
        }
        assert!(
            env.get("password").is_none_or(Value::is_null),
            "environment passwords stay out of the file"
        );
    }
}

#[test]
fn every_repository_key_fits_how_semaphore_clones_its_url() {
    // db/Repository.go GetType and GetGitURL: an http(s) URL carries a login_password key as
    // `login:password@` (a key of another type is not used); any other URL is cloned over SSH
    // with an ssh key in an agent (db/AccessKey.go Install, AccessKeyRoleGit); a path starting
    // with `/` is a local repository, used in place by every template.
    let project = project_file();
    let keys = list(&project, "keys");
    for repo in list(&project, "repositories") {
        let url = text(repo, "git_url");
        let key_name = text(repo, "ssh_key");
        let key = keys
            .iter()
            .find(|k| k["name"] == key_name)
            .expect("checked by the reference test");
        let key_type = text(key, "type");
        let fits: &[&str] = if url.starts_with("https://") || url.starts_with("http://") {
            &["login_password", "none"]
        } else if url.starts_with('/') {
            panic!("repository {}: a local path is used in place by every template, not cloned; the file expects a Git URL", repo["name"]);
        } else {
            &["ssh", "none"]
        };
        assert!(
            fits.contains(&key_type),
            "repository {}: {url} is cloned with a key of type {fits:?}, but key {key_name} is {key_type:?}",
            repo["name"]
        );
    }
}

#[test]
fn the_project_runs_one_task_at_a_time() {
    // services/tasks/TaskPool.go blocks: with max_parallel_tasks N > 0 a project's task waits
    // while N of its tasks run (and a template never runs twice at once, whatever N is). One at
    // a time, the groups' tasks queue instead of waiting on each other's state locks.
    let project = project_file();
    assert_eq!(project["meta"]["max_parallel_tasks"], 1);
}

#[test]
fn every_template_runs_a_script_inside_its_clone() {
    // db_lib/ShellApp.go runs `bash <playbook> ...` with the clone as working directory.
    let project = project_file();
    for t in templates(&project) {
        let script = text(t, "playbook");
        assert!(
            !script.starts_with('/') && !script.split('/').any(|part| part == ".."),
            "template {}: {script:?} must be a path inside the repository",
            t["name"]
        );
        assert!(
            t.get("git_branch").is_none_or(Value::is_null),
            "template {}: leave git_branch to the repository, so Plan and Apply clone the same branch",
            t["name"]
        );
    }
}

#[test]
fn deploy_templates_name_an_existing_build_template() {
    // restore.go BackupTemplate.Verify: a template of type "deploy" needs build_template, the
    // name of a template in the file.
    let project = project_file();
    for t in templates(&project) {
        if t["type"] == "deploy" {
            let build = t["build_template"]
                .as_str()
                .unwrap_or_else(|| panic!("template {}: deploy without build_template", t["name"]));
            template(&project, build);
        }
    }
}

#[test]
fn survey_values_reach_the_scripts_because_every_environment_has_extra_variables_json() {
    // services/tasks/TaskRunner.go populateDetails merges the task's survey values into the
    // Environment's extra variables only when that JSON is not empty; LocalJob.getShellArgs
    // then passes them as NAME=VALUE words.
    let project = project_file();
    for env in list(&project, "environments") {
        assert!(
            !text(env, "json").trim().is_empty(),
            "environment {}: `json` must not be empty (use {{}}), or survey values are dropped",
            env["name"]
        );
    }
}

#[test]
fn every_apply_template_asks_for_the_reviewed_plan_id_as_a_required_string() {
    // A string survey variable ("" type) reaches the script as `plan_id=VALUE`; a "secret" one
    // would not reach a Bash script at all (see SURVEY_VAR_TYPES).
    let project = project_file();
    for (_, title, _) in GROUPS {
        for kind in ["Plan", "Apply", "Smoke"] {
            let name = format!("{title}: {kind}");
            let vars = template(&project, &name)["survey_vars"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let names: Vec<&str> = vars.iter().filter_map(|v| v["name"].as_str()).collect();
            if kind == "Apply" {
                assert_eq!(names, ["plan_id"], "{name}: survey variables");
                assert_eq!(vars[0]["required"], true, "{name}: plan_id is required");
                assert_eq!(vars[0]["type"], "", "{name}: plan_id is a string");
            } else {
                assert!(
                    names.is_empty(),
                    "{name}: no survey variables, found {names:?}"
                );
            }
        }
    }
}

#[test]
fn every_environment_chooses_a_shared_state_backend() {
    // Every template has its own clone (db/Repository.go GetFullPath), so local state written by
    // one is invisible to the next: iac/root.hcl's RALF_STATE must be pg or s3.
    let project = project_file();
    for env in list(&project, "environments") {
        let vars = env_vars(env);
        let backend = vars.get("RALF_STATE").and_then(Value::as_str);
        assert!(
            matches!(backend, Some("pg" | "s3")),
            "environment {}: RALF_STATE is {backend:?}, must be pg or s3",
            env["name"]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Groups, stacks and scripts.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_group_has_plan_apply_and_smoke_running_its_stacks_with_bash() {
    let project = project_file();
    let mut expected_names = BTreeSet::new();
    for (group, title, stacks) in GROUPS {
        let mut expected_args = vec![group.to_string()];
        for stack in *stacks {
            expected_args.push("--queue-include-dir".to_string());
            expected_args.push(format!("stacks/{stack}-fz"));
        }
        for (kind, script) in KINDS {
            let name = format!("{title}: {kind}");
            let t = template(&project, &name);
            assert_eq!(t["app"], "bash", "{name}: app");
            assert_eq!(t["playbook"], *script, "{name}: script");
            assert_eq!(
                arguments(t),
                expected_args,
                "{name}: arguments (group, then its stacks)"
            );
            assert_eq!(t["view"], *title, "{name}: view");
            expected_names.insert(name);
        }
    }
    let actual: BTreeSet<String> = templates(&project)
        .iter()
        .map(|t| text(t, "name").to_string())
        .collect();
    assert_eq!(
        actual, expected_names,
        "the file holds exactly Plan, Apply and Smoke per group"
    );
}

#[test]
fn every_included_stack_exists_in_the_example_tree_or_is_known_pending() {
    let stacks_dir = example_dir().join("iac");
    let project = project_file();
    let mut errors = Vec::new();
    for t in templates(&project) {
        for dir in include_dirs(&arguments(t)) {
            let exists = stacks_dir.join(&dir).join("terragrunt.hcl").is_file();
            let pending = PENDING_STACKS.contains(&dir.as_str());
            match (exists, pending) {
                (true, false) | (false, true) => {}
                (false, false) => errors.push(format!(
                    "{}: --queue-include-dir {dir}: no iac/{dir}/terragrunt.hcl",
                    t["name"]
                )),
                (true, true) => errors.push(format!(
                    "iac/{dir} exists now: remove it from PENDING_STACKS in this test"
                )),
            }
        }
    }
    assert_no_errors("stacks selected by the templates", errors);
}

#[test]
fn every_referenced_script_exists_and_passes_sh_n_and_bash_n() {
    let project = project_file();
    let root = example_dir();
    let mut scripts: BTreeSet<PathBuf> = templates(&project)
        .iter()
        .map(|t| root.join(text(t, "playbook")))
        .collect();
    for script in &scripts {
        assert!(script.is_file(), "{} does not exist", script.display());
    }
    // And the helpers they source or call.
    for entry in std::fs::read_dir(root.join("semaphore")).expect("semaphore/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "sh") {
            scripts.insert(path);
        }
    }
    // Semaphore runs Bash templates with `bash` (db_lib/ShellApp.go); the scripts are POSIX
    // sh so they also run under Alpine's busybox.
    for shell in ["sh", "bash"] {
        for script in &scripts {
            let out = Command::new(shell)
                .arg("-n")
                .arg(script)
                .output()
                .unwrap_or_else(|e| panic!("cannot run `{shell}` (install it): {e}"));
            assert!(
                out.status.success(),
                "`{shell} -n {}` failed:\n{}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scripts, run the way Semaphore runs a Bash template.
// ---------------------------------------------------------------------------------------------

/// A repository like the user's (semaphore/ and iac/root.hcl at its root, one commit), a
/// stand-in `ralf` that logs its arguments (and, for `plan --out-dir D`, saves a plan file in
/// D), and Semaphore's calling convention.
struct Task {
    repo: tempfile::TempDir,
    home: tempfile::TempDir,
    fake_bin: PathBuf,
    log: PathBuf,
}

const TOKEN: &str = "root@pam!ralf=11111111-2222-3333-4444-555555555555";
const PG_CONN_STR: &str = "postgres://ralf:pg-secret-password@127.0.0.1:5432/ralf_state";

/// The stand-in `ralf`: `ralf provider ...` is the real one (RALF_REAL, for install-ralf.sh);
/// anything else logs one line; `plan` exits RALF_FAKE_PLAN_EXIT, everything else
/// RALF_FAKE_APPLY_EXIT; `plan --out-dir D` writes D/stacks_vaultwarden-fz/tfplan.tfplan.
const FAKE_RALF: &str = r#"#!/bin/sh
[ "${1:-}" = provider ] && exec "$RALF_REAL" "$@"
printf 'pwd=%s smoke_run=%s tfrc=%s ansible=%s args=%s\n' "$(pwd)" "${TF_VAR_smoke_run:-}" "${TF_CLI_CONFIG_FILE:-}" "${RALF_ANSIBLE_DIR:-}" "$*" >>"$RALF_FAKE_LOG"
case " $* " in
    *' plan '*)
        out=
        prev=
        for arg in "$@"; do
            [ "$prev" = --out-dir ] && out=$arg
            prev=$arg
        done
        if [ -n "$out" ]; then
            mkdir -p "$out/stacks_vaultwarden-fz"
            printf '%s\n' "${RALF_FAKE_PLAN_CONTENT:-plan}" >"$out/stacks_vaultwarden-fz/tfplan.tfplan"
        fi
        exit "${RALF_FAKE_PLAN_EXIT:-0}"
        ;;
esac
exit "${RALF_FAKE_APPLY_EXIT:-0}"
"#;

impl Task {
    fn new() -> Task {
        let repo = tempfile::tempdir().expect("tempdir");
        let home = tempfile::tempdir().expect("tempdir");
        let scripts = repo.path().join("semaphore");
        std::fs::create_dir_all(&scripts).expect("mkdir");
        for entry in std::fs::read_dir(example_dir().join("semaphore")).expect("read semaphore/") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, scripts.join(path.file_name().expect("name"))).expect("copy");
        }
        std::fs::create_dir_all(repo.path().join("iac")).expect("mkdir");
        std::fs::write(repo.path().join("iac/root.hcl"), "# test tree\n").expect("write");
        let fake_bin = home.path().join("fake-bin");
        std::fs::create_dir_all(&fake_bin).expect("mkdir");
        let log = home.path().join("ralf.log");
        let fake_path = fake_bin.join("ralf");
        std::fs::write(&fake_path, FAKE_RALF).expect("write fake ralf");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake_path, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        let task = Task {
            repo,
            home,
            fake_bin,
            log,
        };
        task.git(&["init", "-q"]);
        task.commit("first");
        task
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=ralf-test",
                "-c",
                "user.email=ralf-test@localhost",
            ])
            .args(args)
            .current_dir(self.repo.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run git (install it): {e}"));
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    fn plan_dir(&self) -> PathBuf {
        self.home.path().join("plans/functional/vault")
    }

    fn iac(&self) -> PathBuf {
        self.repo.path().canonicalize().expect("canon").join("iac")
    }

    /// `bash <script> <template arguments> [extra vars]` in the clone, with the Environment's
    /// variables only (Semaphore passes no other environment unless configured to): the
    /// file's `functional` Environment with its secrets filled in.
    fn run(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(script)
            .args(args)
            .current_dir(self.repo.path())
            .env_clear()
            .env("HOME", self.home.path())
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", self.fake_bin.display()),
            )
            .env("RALF_FAKE_LOG", &self.log)
            .env("RALF_REAL", support::workspace_binary("ralf"))
            .env("RALF_PLAN_DIR", self.home.path().join("plans"))
            .env("RALF_ENV", "functional")
            .env("RALF_STATE", "pg")
            .env("PG_CONN_STR", PG_CONN_STR)
            .env("PROXMOX_VE_ENDPOINT", "https://127.0.0.1:8006/")
            .env("PROXMOX_VE_API_TOKEN", TOKEN);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run bash")
    }

    /// Runs the Plan script for the Vault group and returns the plan ID it printed.
    fn plan(&self) -> String {
        let out = self.run("semaphore/plan.sh", VAULT, &[]);
        assert!(out.status.success(), "plan failed: {}", stderr(&out));
        plan_id_in(&stderr(&out))
    }

    /// The Apply script for the Vault group, with `plan_id=<id>` as Semaphore appends a survey
    /// value.
    fn apply(&self, plan_id: &str) -> Output {
        self.apply_with(plan_id, &[])
    }

    fn apply_with(&self, plan_id: &str, env: &[(&str, &str)]) -> Output {
        let survey = format!("plan_id={plan_id}");
        let mut args = VAULT.to_vec();
        args.push(&survey);
        self.run("semaphore/apply.sh", &args, env)
    }

    fn ralf_calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

const VAULT: &[&str] = &["vault", "--queue-include-dir", "stacks/vaultwarden-fz"];

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The plan ID in Plan's last message ("saved plan <id> of group ...").
fn plan_id_in(log: &str) -> String {
    let id = log
        .split("saved plan ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("Plan printed no plan ID:\n{log}"));
    assert!(
        id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "plan ID {id:?}: 12 hexadecimal digits"
    );
    id.to_string()
}

#[test]
fn plan_then_apply_with_its_plan_id_applies_exactly_the_saved_plan_once() {
    let task = Task::new();
    let mut args = VAULT.to_vec();
    args.push("some_extra_var=1"); // Semaphore appends extra variables as NAME=VALUE
    let plan = task.run("semaphore/plan.sh", &args, &[]);
    assert!(plan.status.success(), "plan failed: {}", stderr(&plan));
    assert!(stderr(&plan).contains("ignoring Semaphore variable some_extra_var"));
    assert!(
        task.plan_dir().join("COMMIT").is_file(),
        "the plan records its commit"
    );
    let plan_id = plan_id_in(&stderr(&plan));
    assert!(
        stderr(&plan).contains(&format!(
            "run the vault Apply template with plan_id {plan_id}"
        )),
        "Plan says how to approve: {}",
        stderr(&plan)
    );

    let apply = task.apply(&plan_id);
    assert!(apply.status.success(), "apply failed: {}", stderr(&apply));
    let dir = task.plan_dir().display().to_string();
    let iac = task.iac().display().to_string();
    let prefix = format!("pwd={iac} smoke_run= tfrc= ansible={iac}/ansible args=");
    assert_eq!(
        task.ralf_calls(),
        vec![
            format!("{prefix}run --all plan --non-interactive --out-dir {dir} --json-out-dir {dir} --queue-include-dir stacks/network-health --queue-include-dir stacks/vaultwarden-fz"),
            format!("{prefix}report {dir}"),
            format!("{prefix}run --all apply --non-interactive --out-dir {dir} --queue-include-dir stacks/network-health --queue-include-dir stacks/vaultwarden-fz"),
        ]
    );
    assert!(!task.plan_dir().exists(), "a saved plan applies once");
    for out in [&plan, &apply] {
        let all = format!("{}{}", stderr(out), String::from_utf8_lossy(&out.stdout));
        assert!(
            !all.contains(TOKEN) && !all.contains("pg-secret-password"),
            "a secret leaked: {all}"
        );
    }
}

#[test]
fn apply_without_a_saved_plan_refuses_and_names_the_plan_template() {
    let task = Task::new();
    let apply = task.apply("0123456789ab");
    assert!(!apply.status.success());
    assert!(
        stderr(&apply).contains("no saved plan for group vault")
            && stderr(&apply).contains("run the vault Plan template first"),
        "{}",
        stderr(&apply)
    );
    assert!(task.ralf_calls().is_empty(), "ralf must not run");
}

#[test]
fn apply_without_a_plan_id_refuses_and_names_the_saved_plan() {
    let task = Task::new();
    let plan_id = task.plan();
    let apply = task.run("semaphore/apply.sh", VAULT, &[]);
    assert!(!apply.status.success());
    assert!(
        stderr(&apply).contains("no plan_id given")
            && stderr(&apply).contains(&format!("the saved plan is {plan_id}")),
        "{}",
        stderr(&apply)
    );
    assert_eq!(
        task.ralf_calls().len(),
        2,
        "only the plan and its report ran"
    );
    assert!(
        task.plan_dir().exists(),
        "the saved plan stays for a proper Apply"
    );
}

#[test]
fn apply_refuses_the_plan_id_of_a_plan_that_was_planned_again_after_the_review() {
    let task = Task::new();
    let reviewed = task.plan();
    let out = task.run(
        "semaphore/plan.sh",
        VAULT,
        &[("RALF_FAKE_PLAN_CONTENT", "another plan")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let newest = plan_id_in(&stderr(&out));
    assert_ne!(reviewed, newest, "a different plan has a different ID");
    let apply = task.apply(&reviewed);
    assert!(!apply.status.success());
    assert!(
        stderr(&apply).contains(&format!(
            "plan_id {reviewed} is not the saved plan of group vault, which is {newest}"
        )),
        "{}",
        stderr(&apply)
    );
    assert!(
        !task.ralf_calls().iter().any(|c| c.contains("apply")),
        "nothing applied"
    );
}

#[test]
fn apply_refuses_a_saved_plan_whose_files_changed_after_plan() {
    let task = Task::new();
    let plan_id = task.plan();
    std::fs::write(
        task.plan_dir().join("stacks_vaultwarden-fz/tfplan.tfplan"),
        "swapped\n",
    )
    .expect("tamper");
    let apply = task.apply(&plan_id);
    assert!(!apply.status.success());
    assert!(
        stderr(&apply).contains("changed after Plan wrote it"),
        "{}",
        stderr(&apply)
    );
    assert!(!task.ralf_calls().iter().any(|c| c.contains("apply")));
}

#[test]
fn apply_refuses_a_plan_made_at_another_commit() {
    let task = Task::new();
    let plan_id = task.plan();
    std::fs::write(task.repo.path().join("iac/new.hcl"), "# moved on\n").expect("write");
    task.commit("second");
    let apply = task.apply(&plan_id);
    assert!(!apply.status.success());
    assert!(
        stderr(&apply).contains("run the vault Plan template again"),
        "{}",
        stderr(&apply)
    );
    assert_eq!(
        task.ralf_calls().len(),
        2,
        "only the plan and its report ran"
    );
}

#[test]
fn a_failed_plan_saves_nothing_to_apply() {
    let task = Task::new();
    let out = task.run("semaphore/plan.sh", VAULT, &[("RALF_FAKE_PLAN_EXIT", "1")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the plan of group vault failed (exit 1); nothing was saved"),
        "{}",
        stderr(&out)
    );
    assert!(!task.plan_dir().exists(), "no plan left for Apply");
}

#[test]
fn a_failed_apply_uses_up_the_saved_plan_and_says_to_plan_again() {
    let task = Task::new();
    let plan_id = task.plan();
    let apply = task.apply_with(&plan_id, &[("RALF_FAKE_APPLY_EXIT", "1")]);
    assert!(!apply.status.success());
    assert!(
        stderr(&apply).contains("failed (exit 1); the saved plan is used up")
            && stderr(&apply).contains("run the vault Plan template again"),
        "{}",
        stderr(&apply)
    );
    assert!(!task.plan_dir().exists());
}

#[test]
fn a_run_without_credentials_stops_before_ralf_naming_what_to_set() {
    let task = Task::new();
    let out = task.run(
        "semaphore/plan.sh",
        VAULT,
        &[("PROXMOX_VE_API_TOKEN", ""), ("PG_CONN_STR", "")],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("PROXMOX_VE_API_TOKEN") && stderr(&out).contains("PG_CONN_STR"),
        "{}",
        stderr(&out)
    );
    assert!(task.ralf_calls().is_empty());
}

#[test]
fn local_state_is_refused_because_every_template_has_its_own_clone() {
    let task = Task::new();
    for state in ["", "local"] {
        let out = task.run("semaphore/plan.sh", VAULT, &[("RALF_STATE", state)]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("every template runs in its own clone")
                && stderr(&out).contains("Set RALF_STATE=pg"),
            "{}",
            stderr(&out)
        );
    }
    let out = task.run("semaphore/plan.sh", VAULT, &[("RALF_STATE", "consul")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("RALF_STATE 'consul' is not a state backend"),
        "{}",
        stderr(&out)
    );
    assert!(task.ralf_calls().is_empty());
}

#[test]
fn s3_state_needs_both_access_keys_named_without_their_values() {
    let task = Task::new();
    let out = task.run(
        "semaphore/plan.sh",
        VAULT,
        &[("RALF_STATE", "s3"), ("AWS_ACCESS_KEY_ID", "AKIDTESTVALUE")],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("AWS_SECRET_ACCESS_KEY") && !stderr(&out).contains("AKIDTESTVALUE"),
        "{}",
        stderr(&out)
    );
    assert!(task.ralf_calls().is_empty());
}

#[test]
fn an_environments_ansible_dir_wins_over_the_clones_own_copy() {
    let task = Task::new();
    let out = task.run(
        "semaphore/smoke.sh",
        VAULT,
        &[("RALF_ANSIBLE_DIR", "/srv/ralf-ansible")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        task.ralf_calls()
            .iter()
            .all(|c| c.contains(" ansible=/srv/ralf-ansible ")),
        "{:?}",
        task.ralf_calls()
    );
}

#[test]
fn unknown_template_arguments_are_refused() {
    let task = Task::new();
    let out = task.run("semaphore/plan.sh", &["vault", "--destroy"], &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown argument '--destroy'"),
        "{}",
        stderr(&out)
    );
    let out = task.run("semaphore/plan.sh", &["vault"], &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("selects no stacks"),
        "{}",
        stderr(&out)
    );
    let mut args = VAULT.to_vec();
    args.push("plan_id=$(reboot)");
    let out = task.run("semaphore/apply.sh", &args, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a plan ID"),
        "{}",
        stderr(&out)
    );
    assert!(task.ralf_calls().is_empty());
}

#[test]
fn smoke_with_drift_fails_without_running_the_checks() {
    let task = Task::new();
    let out = task.run("semaphore/smoke.sh", VAULT, &[("RALF_FAKE_PLAN_EXIT", "2")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("drift in group vault"),
        "{}",
        stderr(&out)
    );
    let calls = task.ralf_calls();
    assert_eq!(calls.len(), 1, "only the drift plan ran: {calls:?}");
    assert!(calls[0].ends_with("args=run --all plan --non-interactive --queue-include-dir stacks/network-health --queue-include-dir stacks/vaultwarden-fz -- -detailed-exitcode"), "{calls:?}");
}

#[test]
fn smoke_without_drift_reruns_only_the_smoke_checks_with_a_new_smoke_run() {
    let task = Task::new();
    let out = task.run("semaphore/smoke.sh", VAULT, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = task.ralf_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls[1].contains("smoke_run=smoke-"),
        "a new smoke_run value: {calls:?}"
    );
    assert!(calls[1].ends_with("args=run --all apply --non-interactive --queue-include-dir stacks/network-health --queue-include-dir stacks/vaultwarden-fz -- -target=ralf_smoke_check.this"), "{calls:?}");
}

#[test]
fn a_failing_smoke_check_fails_the_task() {
    let task = Task::new();
    let out = task.run(
        "semaphore/smoke.sh",
        VAULT,
        &[("RALF_FAKE_APPLY_EXIT", "1")],
    );
    assert!(
        !out.status.success(),
        "the task must fail when a check fails"
    );
    assert!(!stderr(&out).contains("smoke checks passed"));
}

// ---------------------------------------------------------------------------------------------
// install-ralf.sh: a release's archives into the runner, without any registry.
// ---------------------------------------------------------------------------------------------

const RELEASE: &str = "0.9.0";

fn run_tool(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} (install it): {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A release directory with the file names of docs/guides/installing.md (one SHA256SUMS for
/// every file, the manifest and pve-sim's archive included), holding a stand-in `ralf` (the
/// logging script the task tests use) and a provider binary.
fn fake_release(task: &Task) -> PathBuf {
    let release = task.home.path().join("release");
    let staging = task.home.path().join("staging");
    std::fs::create_dir_all(&release).expect("mkdir");
    std::fs::create_dir_all(&staging).expect("mkdir");
    std::fs::copy(task.fake_bin.join("ralf"), staging.join("ralf")).expect("copy");
    let provider = format!("terraform-provider-ralf_v{RELEASE}");
    std::fs::write(staging.join(&provider), "#!/bin/sh\n").expect("write");
    let ralf_zip = format!("ralf_{RELEASE}_linux_amd64.zip");
    let provider_zip = format!("terraform-provider-ralf_{RELEASE}_linux_amd64.zip");
    for (zip, member) in [(&ralf_zip, "ralf"), (&provider_zip, provider.as_str())] {
        run_tool(
            Command::new("zip")
                .args(["-q", "-X"])
                .arg(release.join(zip))
                .arg(member)
                .current_dir(&staging),
            "zip",
        );
    }
    let manifest = format!("terraform-provider-ralf_{RELEASE}_manifest.json");
    std::fs::write(
        release.join(&manifest),
        r#"{"version": 1, "metadata": {"protocol_versions": ["6.0"]}}"#,
    )
    .expect("write manifest");
    let sim_zip = format!("pve-sim_{RELEASE}_linux_amd64.zip");
    std::fs::write(release.join(&sim_zip), "not needed by the runner").expect("write");
    let sums = run_tool(
        Command::new("sha256sum")
            .args([&provider_zip, &manifest, &ralf_zip, &sim_zip])
            .current_dir(&release),
        "sha256sum",
    );
    std::fs::write(
        release.join(format!("terraform-provider-ralf_{RELEASE}_SHA256SUMS")),
        sums.stdout,
    )
    .expect("write sums");
    release
}

fn install(task: &Task, release: &Path, dest: &Path) -> Output {
    Command::new("sh")
        .arg(task.repo.path().join("semaphore/install-ralf.sh"))
        .arg(RELEASE)
        .arg(dest)
        .env("RALF_RELEASE_URL", release)
        .env("RALF_REAL", support::workspace_binary("ralf"))
        .output()
        .expect("run sh")
}

#[test]
fn install_ralf_checks_the_sums_and_lays_out_a_packed_mirror_for_both_hostnames() {
    let task = Task::new();
    let release = fake_release(&task);
    let dest = task.home.path().join("opt-ralf");
    let out = install(&task, &release, &dest);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dest.join("bin/ralf").is_file(), "ralf installed");
    for host in ["registry.terraform.io", "registry.opentofu.org"] {
        let zip = dest.join(format!(
            "mirror/{host}/ralf-homelab/ralf/terraform-provider-ralf_{RELEASE}_linux_amd64.zip"
        ));
        assert!(zip.is_file(), "{} missing", zip.display());
    }
    let rc = std::fs::read_to_string(dest.join("terraformrc")).expect("terraformrc");
    assert!(
        rc.contains(&format!("path    = \"{}/mirror\"", dest.display())),
        "{rc}"
    );
    assert!(
        rc.contains("\"registry.opentofu.org/ralf-homelab/ralf\""),
        "{rc}"
    );
}

/// Runs install-ralf.sh on a release whose `archive` has one byte more than SHA256SUMS says;
/// asserts that it fails, installing nothing, and returns its error output.
fn install_with_a_damaged(archive: &str) -> String {
    let task = Task::new();
    let release = fake_release(&task);
    let zip = release.join(archive);
    let mut bytes = std::fs::read(&zip).expect("read zip");
    bytes.push(0);
    std::fs::write(&zip, bytes).expect("damage zip");
    let dest = task.home.path().join("opt-ralf");
    let out = install(&task, &release, &dest);
    assert!(!out.status.success(), "a damaged {archive} was installed");
    assert!(
        !dest.join("mirror").exists() && !dest.join("bin/ralf").exists(),
        "nothing installed"
    );
    stderr(&out)
}

#[test]
fn install_ralf_refuses_an_archive_that_does_not_match_its_sum() {
    let err = install_with_a_damaged(&format!(
        "terraform-provider-ralf_{RELEASE}_linux_amd64.zip"
    ));
    assert!(err.contains("does not match its SHA256SUMS"), "{err}");
}

#[test]
fn install_ralf_refuses_a_runner_archive_that_does_not_match_its_sum_before_running_it() {
    let archive = format!("ralf_{RELEASE}_linux_amd64.zip");
    let err = install_with_a_damaged(&archive);
    assert!(
        err.contains(&format!("{archive} does not match its SHA256SUMS line")),
        "{err}"
    );
}

#[test]
fn a_task_without_ralf_installs_the_release_first_and_uses_its_mirror() {
    let task = Task::new();
    let release = fake_release(&task);
    std::fs::remove_file(task.fake_bin.join("ralf")).expect("no ralf on PATH");
    let home_ralf = task.home.path().join("ralf");
    let out = task.run(
        "semaphore/plan.sh",
        VAULT,
        &[
            ("RALF_RELEASE_URL", release.to_str().expect("utf-8")),
            ("RALF_VERSION", RELEASE),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        home_ralf.join("bin/ralf").is_file(),
        "installed into $HOME/ralf"
    );
    let calls = task.ralf_calls();
    assert_eq!(
        calls.len(),
        2,
        "the installed ralf ran the plan and its report: {calls:?}"
    );
    assert!(calls[0].contains("args=run --all plan"), "{calls:?}");
    let tfrc = format!("tfrc={} ", home_ralf.join("terraformrc").display());
    assert!(
        calls[0].contains(&tfrc),
        "TF_CLI_CONFIG_FILE points at the installed mirror: {calls:?}"
    );
}

#[test]
fn the_semaphore_guide_lists_every_groups_arguments_as_the_file_has_them() {
    let guide_path = example_dir().join("../../docs/guides/semaphore.md");
    let guide = std::fs::read_to_string(&guide_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", guide_path.display()));
    let project = project_file();
    for (_, title, _) in GROUPS {
        let args = arguments(template(&project, &format!("{title}: Apply"))).join(" ");
        assert!(
            guide.contains(&format!("`{args}`")),
            "docs/guides/semaphore.md does not show the {title} templates' arguments `{args}`"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// schedules.sh: the nightly Smoke schedules, through Semaphore's API.
// ---------------------------------------------------------------------------------------------

/// db/Schedule.go Schedule: its JSON fields (`json` tags), what POST /schedules binds.
const SCHEDULE_JSON_FIELDS: &[&str] = &[
    "id",
    "project_id",
    "template_id",
    "cron_format",
    "name",
    "active",
    "repository_id",
];

const PROJECT_ID: u32 = 7;
const API_TOKEN: &str = "sematoken0123456789abcdef";

#[derive(Default)]
struct FakeSemaphoreState {
    templates: Vec<Value>,
    schedules: Vec<Value>,
    /// Status to answer every request with instead of serving it (e.g. 401).
    refuse_with: Option<u16>,
}

/// A stand-in for the part of Semaphore's API schedules.sh uses (api/router.go): project
/// PROJECT_ID's templates and schedules, POST /schedules, bearer tokens (api/auth.go), on
/// loopback.
struct FakeSemaphore {
    addr: std::net::SocketAddr,
    state: std::sync::Arc<std::sync::Mutex<FakeSemaphoreState>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FakeSemaphore {
    /// Serves the file's templates as Restore creates them: ids 1, 2, ... in the file's order.
    fn with_the_restored_project() -> FakeSemaphore {
        let templates = templates(&project_file())
            .iter()
            .enumerate()
            .map(|(i, t)| serde_json::json!({"id": i + 1, "project_id": PROJECT_ID, "name": t["name"], "app": t["app"]}))
            .collect();
        FakeSemaphore::start(FakeSemaphoreState {
            templates,
            ..FakeSemaphoreState::default()
        })
    }

    fn start(state: FakeSemaphoreState) -> FakeSemaphore {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let state = std::sync::Arc::new(std::sync::Mutex::new(state));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (served, stopped) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        FakeSemaphore::serve(stream, &served);
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        FakeSemaphore { addr, state, stop }
    }

    fn serve(stream: std::net::TcpStream, state: &std::sync::Mutex<FakeSemaphoreState>) {
        use std::io::{BufRead, Read, Write};
        let mut reader = std::io::BufReader::new(&stream);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut length = 0;
        let mut authorization = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = value.trim().to_ascii_lowercase(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (status, answer) = {
            let mut state = state.lock().expect("state");
            let prefix = format!("/api/project/{PROJECT_ID}");
            if let Some(code) = state.refuse_with {
                (code, String::new())
            } else if authorization != format!("bearer {API_TOKEN}") {
                (401, String::new())
            } else {
                match (method, path.strip_prefix(&prefix)) {
                    ("GET", Some("/templates")) => {
                        (200, Value::from(state.templates.clone()).to_string())
                    }
                    ("GET", Some("/schedules")) => {
                        (200, Value::from(state.schedules.clone()).to_string())
                    }
                    ("POST", Some("/schedules")) => {
                        let mut schedule: Value =
                            serde_json::from_slice(&body).expect("POST /schedules: a JSON body");
                        let id = state.schedules.len() + 1;
                        schedule["id"] = id.into();
                        schedule["project_id"] = PROJECT_ID.into();
                        state.schedules.push(schedule.clone());
                        (201, schedule.to_string())
                    }
                    _ => (404, String::new()),
                }
            }
        };
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        );
        let _ = (&stream).write_all(response.as_bytes());
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn schedules(&self) -> Vec<Value> {
        self.state.lock().expect("state").schedules.clone()
    }
}

impl Drop for FakeSemaphore {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn schedules_sh(semaphore_url: &str, token: &str) -> Output {
    Command::new("sh")
        .arg(example_dir().join("semaphore/schedules.sh"))
        .arg(semaphore_url)
        .arg(PROJECT_ID.to_string())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("SEMAPHORE_API_TOKEN", token)
        .output()
        .expect("run sh")
}

#[test]
fn schedules_sh_gives_every_smoke_template_an_active_nightly_schedule_of_its_own() {
    let semaphore = FakeSemaphore::with_the_restored_project();
    let out = schedules_sh(&semaphore.url(), API_TOKEN);
    assert!(out.status.success(), "{}", stderr(&out));
    let restored: Vec<Value> = semaphore.state.lock().expect("state").templates.clone();
    let schedules = semaphore.schedules();
    assert_eq!(
        schedules.len(),
        GROUPS.len(),
        "one per group: {schedules:?}"
    );
    let mut minutes = BTreeSet::new();
    for ((_, title, _), schedule) in GROUPS.iter().zip(&schedules) {
        for key in schedule.as_object().expect("object").keys() {
            assert!(
                SCHEDULE_JSON_FIELDS.contains(&key.as_str()),
                "{key}: not a field of db.Schedule"
            );
        }
        let template = restored
            .iter()
            .find(|t| t["id"] == schedule["template_id"])
            .expect("template_id names a template");
        assert_eq!(template["name"], format!("{title}: Smoke"));
        assert_eq!(
            schedule["active"], true,
            "SchedulePool.Refresh skips inactive ones"
        );
        assert!(
            schedule.get("repository_id").is_none_or(Value::is_null),
            "a repository_id would make it a run-on-new-commits schedule"
        );
        // Five fields (robfig/cron ParseStandard): minute, hour 3, every day.
        let cron = text(schedule, "cron_format");
        let fields: Vec<&str> = cron.split(' ').collect();
        assert_eq!(fields[1..], ["3", "*", "*", "*"], "{cron}");
        assert!(fields[0].parse::<u8>().is_ok_and(|m| m < 60), "{cron}");
        assert!(
            minutes.insert(fields[0].to_string()),
            "groups are staggered: {cron}"
        );
    }
    let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains(API_TOKEN), "the token leaked: {all}");
}

#[test]
fn schedules_sh_run_again_leaves_existing_schedules_alone() {
    let semaphore = FakeSemaphore::with_the_restored_project();
    assert!(schedules_sh(&semaphore.url(), API_TOKEN).status.success());
    let first = semaphore.schedules();
    let out = schedules_sh(&semaphore.url(), API_TOKEN);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(semaphore.schedules(), first, "no second schedule");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Vault: Smoke already has a schedule"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn schedules_sh_refuses_a_project_without_the_smoke_templates_and_schedules_nothing() {
    let semaphore = FakeSemaphore::with_the_restored_project();
    semaphore
        .state
        .lock()
        .expect("state")
        .templates
        .retain(|t| t["name"] != "AI: Smoke");
    let out = schedules_sh(&semaphore.url(), API_TOKEN);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the project has no template 'AI: Smoke'")
            && stderr(&out).contains("restore ralf-project.json"),
        "{}",
        stderr(&out)
    );
    assert!(semaphore.schedules().is_empty(), "nothing half-done");
}

#[test]
fn schedules_sh_says_which_setting_is_wrong_when_semaphore_refuses() {
    let semaphore = FakeSemaphore::with_the_restored_project();
    let out = schedules_sh(&semaphore.url(), "wrong-token-value");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("401, Semaphore refused SEMAPHORE_API_TOKEN")
            && !stderr(&out).contains("wrong-token-value"),
        "{}",
        stderr(&out)
    );
    semaphore.state.lock().expect("state").refuse_with = Some(404);
    let out = schedules_sh(&semaphore.url(), API_TOKEN);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "404, no project {PROJECT_ID} for this token's user"
        )),
        "{}",
        stderr(&out)
    );
    let closed = format!("http://127.0.0.1:{}", support::closed_port());
    let out = schedules_sh(&closed, API_TOKEN);
    assert!(
        !out.status.success()
            && stderr(&out).contains(&format!("cannot reach Semaphore at {closed}")),
        "{}",
        stderr(&out)
    );
    assert!(semaphore.schedules().is_empty());
}
