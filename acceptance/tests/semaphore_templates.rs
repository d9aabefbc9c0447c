//! The Semaphore project file `examples/ralf-homelab/semaphore/ralf-project.json`, checked field
//! by field against Semaphore's project backup format, and the Bash scripts its templates call,
//! run the way Semaphore runs them (with a stand-in `ralf` that records what it is asked to do).
//!
//! The format is Semaphore's, read from its source (semaphoreui/semaphore at commit
//! d4a27137486d65f963257d06e6b7867b54513e20, v2.10.32+): `services/project/types.go` (the
//! Backup* structs), `services/project/backup_marshal.go` (a field's JSON key is its `backup`
//! tag, else its `db` tag; `backup:"-"`, `db:"-"` and untagged fields are not part of the
//! format; nil pointers are left out), `services/project/restore.go` (what Verify and Restore
//! require: references by name), and the embedded `db/*.go` models. This test knows nothing of
//! the provider or the runner.

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
/// db/Template.go SurveyVarType values.
const SURVEY_VAR_TYPES: &[&str] = &["", "int", "enum"];
/// db/AccessKey.go AccessKeyType values.
const KEY_TYPES: &[&str] = &["ssh", "none", "login_password", "string"];
/// db/Inventory.go InventoryType values.
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
        // LocalJob.getEnvironmentENV unmarshals `env` into map[string]string.
        let vars: Map<String, Value> = serde_json::from_str(text(env, "env"))
            .unwrap_or_else(|e| panic!("environment {name}: `env` is not a JSON object: {e}"));
        for (key, value) in &vars {
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
        let vars: Map<String, Value> = serde_json::from_str(text(env, "env")).expect("checked");
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
/// stand-in `ralf` that logs its arguments, and Semaphore's calling convention.
struct Task {
    repo: tempfile::TempDir,
    home: tempfile::TempDir,
    fake_bin: PathBuf,
    log: PathBuf,
}

const TOKEN: &str = "root@pam!ralf=11111111-2222-3333-4444-555555555555";

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
        let fake = "#!/bin/sh\n\
                    printf 'pwd=%s smoke_run=%s tfrc=%s args=%s\\n' \"$(pwd)\" \"${TF_VAR_smoke_run:-}\" \"${TF_CLI_CONFIG_FILE:-}\" \"$*\" >>\"$RALF_FAKE_LOG\"\n\
                    case \" $* \" in *' plan '*) exit \"${RALF_FAKE_PLAN_EXIT:-0}\" ;; esac\n\
                    exit \"${RALF_FAKE_APPLY_EXIT:-0}\"\n";
        let fake_path = fake_bin.join("ralf");
        std::fs::write(&fake_path, fake).expect("write fake ralf");
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

    /// `bash <script> <template arguments> [extra vars]` in the clone, with the Environment's
    /// variables only (Semaphore passes no other environment unless configured to).
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
            .env("RALF_PLAN_DIR", self.home.path().join("plans"))
            .env("RALF_ENV", "functional")
            .env("PROXMOX_VE_ENDPOINT", "https://127.0.0.1:8006/")
            .env("PROXMOX_VE_API_TOKEN", TOKEN);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run bash")
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

#[test]
fn plan_then_apply_applies_exactly_the_saved_plan_of_the_group_once() {
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

    let apply = task.run("semaphore/apply.sh", VAULT, &[]);
    assert!(apply.status.success(), "apply failed: {}", stderr(&apply));
    let dir = task.plan_dir().display().to_string();
    let iac = task.repo.path().canonicalize().expect("canon").join("iac");
    assert_eq!(
        task.ralf_calls(),
        vec![
            format!("pwd={} smoke_run= tfrc= args=run --all plan --non-interactive --out-dir {dir} --queue-include-dir stacks/network-health --queue-include-dir stacks/vaultwarden-fz", iac.display()),
            format!("pwd={} smoke_run= tfrc= args=run --all apply --non-interactive --out-dir {dir} --queue-include-dir stacks/network-health --queue-include-dir stacks/vaultwarden-fz", iac.display()),
        ]
    );
    assert!(!task.plan_dir().exists(), "a saved plan applies once");
    for out in [&plan, &apply] {
        assert!(
            !stderr(out).contains(TOKEN) && !String::from_utf8_lossy(&out.stdout).contains(TOKEN),
            "the token leaked"
        );
    }
}

#[test]
fn apply_without_a_saved_plan_refuses_and_names_the_plan_template() {
    let task = Task::new();
    let apply = task.run("semaphore/apply.sh", VAULT, &[]);
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
fn apply_refuses_a_plan_made_at_another_commit() {
    let task = Task::new();
    assert!(task.run("semaphore/plan.sh", VAULT, &[]).status.success());
    std::fs::write(task.repo.path().join("iac/new.hcl"), "# moved on\n").expect("write");
    task.commit("second");
    let apply = task.run("semaphore/apply.sh", VAULT, &[]);
    assert!(!apply.status.success());
    assert!(
        stderr(&apply).contains("run the vault Plan template again"),
        "{}",
        stderr(&apply)
    );
    assert_eq!(task.ralf_calls().len(), 1, "only the plan ran");
}

#[test]
fn a_run_without_credentials_stops_before_ralf_naming_what_to_set() {
    let task = Task::new();
    let out = task.run("semaphore/plan.sh", VAULT, &[("PROXMOX_VE_API_TOKEN", "")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("PROXMOX_VE_API_TOKEN"),
        "{}",
        stderr(&out)
    );
    assert!(task.ralf_calls().is_empty());
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

/// A release directory with the archive names of docs/guides/semaphore.md, holding a stand-in
/// `ralf` (the logging script the task tests use) and a provider binary, with their SHA256SUMS.
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
    let sums = run_tool(
        Command::new("sha256sum")
            .args([&ralf_zip, &provider_zip])
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

#[test]
fn install_ralf_refuses_an_archive_that_does_not_match_its_sum() {
    let task = Task::new();
    let release = fake_release(&task);
    let zip = release.join(format!("terraform-provider-ralf_{RELEASE}_linux_amd64.zip"));
    let mut bytes = std::fs::read(&zip).expect("read zip");
    bytes.push(0);
    std::fs::write(&zip, bytes).expect("damage zip");
    let dest = task.home.path().join("opt-ralf");
    let out = install(&task, &release, &dest);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not match its SHA256SUMS line"),
        "{}",
        stderr(&out)
    );
    assert!(!dest.join("mirror").exists(), "nothing installed");
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
    assert_eq!(calls.len(), 1, "the installed ralf ran the plan: {calls:?}");
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
