//! `--filter` in each of its forms (paths and names with globs, attributes, graph expressions,
//! git changes, `|`, `!`, unions), through `ralf find`, and `run --all --filter` and
//! `run --graph` with a stand-in terraform.

use std::path::{Path, PathBuf};
use std::process::Command;

/// vpc <- db, cache <- service; prod/web and dev/web stand alone; app-modules reads a shared file.
fn tree() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("live");
    let unit = |rel: &str, body: &str| {
        let dir = root.join(rel);
        std::fs::create_dir_all(&dir).expect("unit dir");
        std::fs::write(dir.join("terragrunt.hcl"), body).expect("terragrunt.hcl");
    };
    unit("vpc", "");
    unit("db", "dependencies {\n  paths = [\"../vpc\"]\n}\n");
    unit("cache", "dependencies {\n  paths = [\"../vpc\"]\n}\n");
    unit(
        "service",
        "dependencies {\n  paths = [\"../db\", \"../cache\"]\n}\nterraform {\n  source = \"../modules/service\"\n}\n",
    );
    unit("prod/web", "");
    unit("dev/web", "");
    std::fs::create_dir_all(root.join("modules/service")).expect("module dir");
    std::fs::write(root.join("modules/service/main.tf"), "").expect("module");
    std::fs::write(root.join("shared.hcl"), "locals {\n  x = 1\n}\n").expect("shared");
    unit(
        "reader",
        "include \"shared\" {\n  path = \"../shared.hcl\"\n}\n",
    );
    (tmp, root)
}

fn find(root: &Path, filters: &[&str]) -> Vec<String> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ralf"));
    cmd.arg("find").current_dir(root);
    for f in filters {
        cmd.args(["--filter", f]);
    }
    let out = cmd.output().expect("ralf starts");
    assert!(
        out.status.success(),
        "ralf find {filters:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn without_filters_find_lists_every_unit_by_path() {
    let (_t, root) = tree();
    assert_eq!(
        find(&root, &[]),
        ["cache", "db", "dev/web", "prod/web", "reader", "service", "vpc"]
    );
}

#[test]
fn path_globs_and_braced_paths_select_by_relative_path() {
    let (_t, root) = tree();
    assert_eq!(find(&root, &["./prod/**"]), ["prod/web"]);
    assert_eq!(find(&root, &["*/web"]), ["dev/web", "prod/web"]);
    assert_eq!(find(&root, &["{vpc}"]), ["vpc"]);
}

#[test]
fn names_match_the_directory_basename_with_globs() {
    let (_t, root) = tree();
    assert_eq!(find(&root, &["web"]), ["dev/web", "prod/web"]);
    assert_eq!(find(&root, &["c*"]), ["cache"]);
    assert_eq!(find(&root, &["name=s*"]), ["service"]);
}

#[test]
fn attributes_select_by_source_reading_and_type() {
    let (_t, root) = tree();
    assert_eq!(find(&root, &["source=../modules/*"]), ["service"]);
    assert_eq!(find(&root, &["reading=shared.hcl"]), ["reader"]);
    assert_eq!(find(&root, &["type=unit | db"]), ["db"]);
}

#[test]
fn graph_expressions_follow_dependencies_and_dependents() {
    let (_t, root) = tree();
    assert_eq!(
        find(&root, &["service..."]),
        ["cache", "db", "service", "vpc"]
    );
    assert_eq!(find(&root, &["...vpc"]), ["cache", "db", "service", "vpc"]);
    assert_eq!(find(&root, &["...db"]), ["db", "service"]);
    assert_eq!(find(&root, &["...^vpc"]), ["cache", "db", "service"]);
    assert_eq!(find(&root, &["^service..."]), ["cache", "db", "vpc"]);
    assert_eq!(find(&root, &["...db..."]), ["db", "service", "vpc"]);
}

#[test]
fn pipes_refine_negations_subtract_and_repeats_unite() {
    let (_t, root) = tree();
    assert_eq!(find(&root, &["...vpc | c*"]), ["cache"]);
    assert_eq!(
        find(&root, &["!web"]),
        ["cache", "db", "reader", "service", "vpc"]
    );
    assert_eq!(find(&root, &["...vpc", "!db"]), ["cache", "service", "vpc"]);
    assert_eq!(find(&root, &["vpc", "prod/web"]), ["prod/web", "vpc"]);
}

#[test]
fn a_bad_filter_is_a_usage_error_naming_it() {
    let (_t, root) = tree();
    let out = Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args(["find", "--filter", "colour=blue"])
        .current_dir(&root)
        .output()
        .expect("ralf starts");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("colour=blue") && err.contains("unknown attribute"),
        "{err}"
    );
}

fn git(root: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("these tests need git on PATH");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn git_expressions_select_units_changed_between_refs_or_against_the_work_tree() {
    let (_t, root) = tree();
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "."]);
    git(&root, &["commit", "-qm", "base"]);
    std::fs::write(root.join("db/main.tf"), "# changed\n").expect("edit db");
    std::fs::create_dir_all(root.join("modules/service")).expect("module dir");
    std::fs::write(root.join("modules/service/main.tf"), "").expect("module");
    std::fs::write(root.join("shared.hcl"), "locals {\n  x = 2\n}\n").expect("edit shared");
    assert_eq!(
        find(&root, &["[main]"]),
        ["db", "reader"],
        "work tree against main"
    );
    git(&root, &["add", "."]);
    git(&root, &["commit", "-qm", "change"]);
    assert_eq!(find(&root, &["[main~1...main]"]), ["db", "reader"]);
    assert_eq!(
        find(&root, &["[main~1...main]..."]),
        ["db", "reader", "vpc"]
    );
    assert_eq!(find(&root, &["[main...HEAD]"]), Vec::<String>::new());
}

const STAND_IN_TF: &str = "#!/bin/sh\necho \"stand-in terraform $*\"\n";

fn stand_in(dir: &Path) -> String {
    let path = dir.join("stand-in-tf");
    std::fs::write(&path, STAND_IN_TF).expect("write stand-in");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    path.display().to_string()
}

fn ran_units(stdout: &str) -> Vec<String> {
    let mut units: Vec<String> = stdout
        .lines()
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            let name = cols.next()?;
            (cols.next() == Some("succeeded")).then(|| name.to_string())
        })
        .collect();
    units.sort();
    units
}

#[test]
fn run_all_with_a_filter_runs_only_the_selected_units() {
    let (tmp, root) = tree();
    let tf = stand_in(tmp.path());
    let out = Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args([
            "run",
            "--all",
            "--tf-path",
            &tf,
            "--filter",
            "service...",
            "plan",
        ])
        .current_dir(&root)
        .output()
        .expect("ralf starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(
        ran_units(&stdout),
        ["cache", "db", "service", "vpc"],
        "{stdout}"
    );
    assert!(stdout.contains("not matched by --filter"), "{stdout}");
}

#[test]
fn run_graph_runs_the_unit_and_its_dependents_up_to_the_git_root() {
    let (tmp, root) = tree();
    git(&root, &["init", "-q", "-b", "main"]);
    let tf = stand_in(tmp.path());
    let out = Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args(["run", "--graph", "--tf-path", &tf, "plan"])
        .current_dir(root.join("db"))
        .output()
        .expect("ralf starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ran_units(&stdout), ["db", "service"], "{stdout}");
}

#[test]
fn dag_graph_prints_dot_with_arrows_to_dependencies() {
    let (_t, root) = tree();
    let out = Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args(["dag", "graph"])
        .current_dir(&root)
        .output()
        .expect("ralf starts");
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(dot.starts_with("digraph {"), "{dot}");
    assert!(dot.contains("\"service\" -> \"db\";"), "{dot}");
}
