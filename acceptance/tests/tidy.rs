//! Tidy: repository-wide rules the compiler does not check, after rust-analyzer's
//! `xtask/src/tidy.rs`. Each test names one rule and, when it fails, lists every offending file
//! and says what to do.
//!
//! - every Rust source file opens with a `//!` comment saying what it is for;
//! - each crate depends only on the workspace crates its layer may know (read from
//!   `cargo metadata` and `cargo tree`, so Cargo's own resolution is what is checked), and `ralf`
//!   built without default features links no simulator;
//! - `docs/ARCHITECTURE.md` names every workspace crate and top-level module, and everything it
//!   names exists;
//! - comments cite only documents inside the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("acceptance/ has a parent")
        .to_path_buf()
}

/// The `cargo` running these tests (Cargo sets `CARGO`), else the one on PATH.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn run_cargo(args: &[&str]) -> String {
    let output = cargo()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo {}: {e}", args.join(" ")));
    assert!(
        output.status.success(),
        "cargo {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo prints UTF-8")
}

/// One workspace member, as `cargo metadata --no-deps` describes it.
#[derive(Debug)]
struct Crate {
    name: String,
    /// The directory holding its Cargo.toml, relative to the workspace root (`proto`, `provider/pve`).
    dir: String,
    /// The Rust names of its library and binaries (`pve`, `terraform-provider-ralf`).
    targets: Vec<(String, String)>,
    /// Workspace crates it declares as normal or build dependencies: (name, optional).
    workspace_deps: Vec<(String, bool)>,
    features: BTreeMap<String, Vec<String>>,
}

impl Crate {
    fn lib_name(&self) -> Option<&str> {
        self.targets
            .iter()
            .find(|(kind, _)| kind == "lib")
            .map(|(_, name)| name.as_str())
    }
}

fn workspace_crates() -> Vec<Crate> {
    let json = run_cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]);
    let meta: serde_json::Value = serde_json::from_str(&json).expect("cargo metadata prints JSON");
    let root = workspace_root();
    let packages = meta["packages"].as_array().expect("packages");
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    packages
        .iter()
        .map(|p| {
            let manifest = PathBuf::from(p["manifest_path"].as_str().expect("manifest_path"));
            let dir = manifest
                .parent()
                .expect("manifest dir")
                .strip_prefix(&root)
                .expect("member inside the workspace")
                .to_string_lossy()
                .into_owned();
            let targets = p["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .flat_map(|t| {
                    let name = t["name"].as_str().unwrap_or_default().to_string();
                    t["kind"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|k| k.as_str())
                        .map(move |k| (k.to_string(), name.clone()))
                })
                .collect();
            let workspace_deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].as_str() != Some("dev"))
                .filter_map(|d| {
                    let name = d["name"].as_str()?;
                    names
                        .contains(name)
                        .then(|| (name.to_string(), d["optional"].as_bool().unwrap_or(false)))
                })
                .collect();
            let features = p["features"]
                .as_object()
                .map(|f| {
                    f.iter()
                        .map(|(k, v)| {
                            let enables = v
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect();
                            (k.clone(), enables)
                        })
                        .collect()
                })
                .unwrap_or_default();
            Crate {
                name: p["name"].as_str().expect("name").to_string(),
                dir,
                targets,
                workspace_deps,
                features,
            }
        })
        .collect()
}

/// Files under `dir` (recursively) for which `keep` holds, skipping build output, VCS data and
/// tool caches.
fn files_under(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if name == "target" || name.starts_with('.') {
                continue;
            }
            files_under(&path, keep, out);
        } else if kind.is_file() && keep(&path) {
            out.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------------------------
// Module headers

#[test]
fn every_rust_source_file_opens_with_a_module_doc_comment() {
    let root = workspace_root();
    let mut files = Vec::new();
    for krate in workspace_crates() {
        let dir = root.join(&krate.dir);
        // A crate's own files only: nested crates are visited as members themselves.
        for sub in ["src", "tests", "benches", "examples"] {
            files_under(
                &dir.join(sub),
                &|p| p.extension().is_some_and(|e| e == "rs"),
                &mut files,
            );
        }
        if dir.join("build.rs").is_file() {
            files.push(dir.join("build.rs"));
        }
    }
    assert!(
        files.len() > 50,
        "found only {} Rust files: is the workspace layout what this test expects?",
        files.len()
    );
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("#!["));
            !first.is_some_and(|l| l.starts_with("//!"))
        })
        .map(|p| relative(p))
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` comment saying what they are for and what they must \
         not know; add one:\n  {}",
        missing.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Layering

/// The workspace crates each crate may depend on (normal and build dependencies, directly or
/// through others), and why the rest are forbidden. A crate missing here fails the test, so a new
/// crate's place in the layering is decided when it is added.
const LAYERS: &[(&str, &[&str], &str)] = &[
    (
        "tfplugin",
        &[],
        "the plugin runtime names nothing of its users: a provider passes its name and log targets in",
    ),
    (
        "ralf-resolve",
        &[],
        "name resolution knows nothing of its users: not Proxmox, not Terraform, not checks",
    ),
    (
        "ralf-pve",
        &["ralf-resolve"],
        "the Proxmox API client knows nothing of Terraform (no tfplugin) or of checks; it resolves \
         the endpoint's name through ralf-resolve",
    ),
    (
        "ralf-checks",
        &["ralf-resolve"],
        "the check engine knows nothing of Terraform (no tfplugin) or of the Proxmox API client; \
         it resolves names through ralf-resolve",
    ),
    (
        "terraform-provider-ralf",
        &["tfplugin", "ralf-pve", "ralf-checks", "ralf-resolve"],
        "the provider translates between the runtime, the API client and the check engine; the \
         simulator is only a dev-dependency",
    ),
    (
        "pve-sim",
        &["ralf-resolve"],
        "the simulator knows nothing of the provider, the runner, the runtime, the API client or \
         the checks: it follows Proxmox, not our client (its `pct` resolves names through \
         ralf-resolve)",
    ),
    (
        "ralf-runner",
        &["pve-sim", "ralf-resolve"],
        "the runner drives terraform binaries; it links only the simulator (and what the simulator \
         links), for `ralf demo`",
    ),
    (
        "ralf-acceptance",
        &[],
        "the acceptance suite is test-only: everything it uses is a dev-dependency",
    ),
    (
        "ralf-release",
        &[],
        "the release command builds the binaries with cargo and packs them; it links none of them",
    ),
];

/// `cargo tree -p package` over normal and build edges (what is linked into the crate), with
/// `args` after it (`--no-default-features`, `-i dependency`, output format).
fn cargo_tree_output(package: &str, args: &[&str]) -> String {
    let mut all = vec!["tree", "--offline", "-p", package, "-e", "normal,build"];
    all.extend_from_slice(args);
    run_cargo(&all)
}

/// Packages `package` depends on, directly or not, with `features` flags.
fn cargo_tree(package: &str, features: &[&str]) -> BTreeSet<String> {
    let mut args = vec!["--prefix", "none", "--format", "{p}"];
    args.extend_from_slice(features);
    cargo_tree_output(package, &args)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != package)
        .map(str::to_string)
        .collect()
}

/// The chains through which `package` reaches `dependency` (`cargo tree -i`), for messages.
fn why_depends(package: &str, dependency: &str, features: &[&str]) -> String {
    let mut args = vec!["-i", dependency];
    args.extend_from_slice(features);
    cargo_tree_output(package, &args)
}

#[test]
fn each_crate_depends_only_on_the_workspace_crates_its_layer_may_know() {
    let crates = workspace_crates();
    let ours: BTreeSet<&str> = crates.iter().map(|c| c.name.as_str()).collect();
    let mut problems = Vec::new();
    for krate in &crates {
        let Some((_, allowed, why)) = LAYERS.iter().find(|(name, ..)| *name == krate.name) else {
            problems.push(format!(
                "crate `{}` ({}) has no entry in LAYERS in acceptance/tests/tidy.rs: decide which \
                 workspace crates it may depend on and add it (and a section in docs/ARCHITECTURE.md)",
                krate.name, krate.dir
            ));
            continue;
        };
        let reached = cargo_tree(&krate.name, &[]);
        for dep in reached.iter().filter(|d| ours.contains(d.as_str())) {
            if !allowed.contains(&dep.as_str()) {
                problems.push(format!(
                    "`{}` depends on `{dep}`, which its layer may not: {why}.\n{}",
                    krate.name,
                    why_depends(&krate.name, dep, &[])
                ));
            }
        }
    }
    for (name, ..) in LAYERS {
        if !ours.contains(name) {
            problems.push(format!(
                "LAYERS in acceptance/tests/tidy.rs names `{name}`, which is not a workspace crate: \
                 remove or rename the entry"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn ralf_without_default_features_links_no_simulator() {
    let crates = workspace_crates();
    let runner = crates
        .iter()
        .find(|c| c.name == "ralf-runner")
        .expect("ralf-runner is a workspace crate");
    assert!(
        runner
            .workspace_deps
            .contains(&("pve-sim".to_string(), true)),
        "ralf-runner must declare pve-sim as an optional dependency (found {:?}), so that \
         `--no-default-features` builds ralf without the simulator's server stack",
        runner.workspace_deps
    );
    assert_eq!(
        runner.features.get("embedded-sim"),
        Some(&vec!["dep:pve-sim".to_string()]),
        "the `embedded-sim` feature of ralf-runner is what enables pve-sim"
    );
    assert!(
        runner
            .features
            .get("default")
            .is_some_and(|d| d.iter().any(|f| f == "embedded-sim")),
        "`embedded-sim` is a default feature of ralf-runner, so README's `ralf demo` works as written"
    );

    let lean = cargo_tree("ralf-runner", &["--no-default-features"]);
    assert!(
        !lean.contains("pve-sim"),
        "ralf-runner with --no-default-features still depends on pve-sim:\n{}",
        why_depends("ralf-runner", "pve-sim", &["--no-default-features"])
    );
    let full = cargo_tree("ralf-runner", &[]);
    assert!(
        full.contains("pve-sim"),
        "ralf-runner with default features must embed pve-sim for `ralf demo`"
    );
}

// ---------------------------------------------------------------------------------------------
// docs/ARCHITECTURE.md

/// Inline code spans (`like this`) of a Markdown line.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// A section of the code map: `### \`dir/\` — crate \`name\`` and the lines until the next heading
/// of that level or higher.
struct CrateSection {
    dir: String,
    crate_name: Option<String>,
    lines: Vec<(usize, String)>,
}

fn architecture_sections(doc: &str) -> (Vec<CrateSection>, Vec<(usize, String)>) {
    let mut sections: Vec<CrateSection> = Vec::new();
    let mut rest = Vec::new();
    let mut current: Option<CrateSection> = None;
    for (i, line) in doc.lines().enumerate() {
        let number = i + 1;
        if line.starts_with("### ") || line.starts_with("## ") || line.starts_with("# ") {
            if let Some(section) = current.take() {
                sections.push(section);
            }
            let spans = code_spans(line);
            if line.starts_with("### ") && spans.first().is_some_and(|s| s.ends_with('/')) {
                let crate_name = line
                    .find("crate `")
                    .and_then(|at| code_spans(&line[at..]).first().map(|s| s.to_string()));
                current = Some(CrateSection {
                    dir: spans[0].trim_end_matches('/').to_string(),
                    crate_name,
                    lines: vec![(number, line.to_string())],
                });
                continue;
            }
        }
        match &mut current {
            Some(section) => section.lines.push((number, line.to_string())),
            None => rest.push((number, line.to_string())),
        }
    }
    if let Some(section) = current.take() {
        sections.push(section);
    }
    (sections, rest)
}

/// Whether a code span names a file or directory of the repository: a Rust file or a directory
/// (`lxc.rs`, `api/`), or any other file given with its directory (`docs/index.md`). A bare
/// `terragrunt.hcl` names a kind of file, and `/sim/` an HTTP path, not a place in the tree.
fn names_a_path(span: &str) -> bool {
    const FILE_KINDS: &[&str] = &[
        ".md", ".toml", ".proto", ".hcl", ".tf", ".sh", ".json", ".lock",
    ];
    !span.is_empty()
        && !span.starts_with('/')
        && !span.contains("://")
        && !span.contains(|c: char| c.is_whitespace() || "<>*{}$=,|()".contains(c))
        && (span.ends_with('/')
            || span.ends_with(".rs")
            || (span.contains('/') && FILE_KINDS.iter().any(|k| span.ends_with(k))))
}

/// Top-level modules of a crate as the code map names them: `foo.rs`, `foo/`, `bin/foo.rs`, and
/// `main.rs` (an entry point). `lib.rs` is the crate itself.
fn top_level_modules(src: &Path) -> Vec<String> {
    let mut modules = Vec::new();
    let Ok(entries) = std::fs::read_dir(src) else {
        return modules;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            if name == "bin" {
                for bin in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                    modules.push(format!("bin/{}", bin.file_name().to_string_lossy()));
                }
            } else {
                modules.push(format!("{name}/"));
            }
        } else if name.ends_with(".rs") && name != "lib.rs" {
            modules.push(name);
        }
    }
    modules.sort();
    modules
}

/// The module file `segments` name inside `src`, if any (`a/b.rs` or `a/b/mod.rs`).
fn module_file(src: &Path, segments: &[&str]) -> Option<PathBuf> {
    let joined: PathBuf = segments.iter().collect();
    [
        src.join(&joined).with_extension("rs"),
        src.join(&joined).join("mod.rs"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Checks a Rust path such as `tfplugin::serve::main_entry`: leading segments must be module
/// files of the crate, and the first segment that is not a module must be declared in the last
/// module found.
fn rust_path_problem(span: &str, libs: &BTreeMap<String, PathBuf>) -> Option<String> {
    let segments: Vec<&str> = span.split("::").collect();
    let src = libs.get(segments[0])?;
    let mut file = src.join("lib.rs");
    for (i, segment) in segments.iter().enumerate().skip(1) {
        if let Some(found) = module_file(src, &segments[1..=i]) {
            file = found;
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let declared = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == *segment);
        return (!declared).then(|| {
            format!(
                "`{span}`: `{segment}` is neither a module nor a name in {}",
                relative(&file)
            )
        });
    }
    None
}

#[test]
fn architecture_names_every_crate_and_top_level_module_and_nothing_that_does_not_exist() {
    let root = workspace_root();
    let doc_path = root.join("docs/ARCHITECTURE.md");
    let whole = std::fs::read_to_string(&doc_path).expect("docs/ARCHITECTURE.md exists");
    // The history section names paths as they were before a move: it is not checked.
    let doc = whole
        .split("\n## History")
        .next()
        .unwrap_or_default()
        .to_string();
    let crates = workspace_crates();
    let (sections, rest) = architecture_sections(&doc);
    let mut problems = Vec::new();

    let libs: BTreeMap<String, PathBuf> = crates
        .iter()
        .filter_map(|c| Some((c.lib_name()?.to_string(), root.join(&c.dir).join("src"))))
        .collect();
    let known_names: BTreeSet<String> = crates
        .iter()
        .flat_map(|c| {
            std::iter::once(c.name.clone()).chain(c.targets.iter().map(|(_, n)| n.clone()))
        })
        .collect();

    for krate in &crates {
        let Some(section) = sections.iter().find(|s| s.dir == krate.dir) else {
            problems.push(format!(
                "no section for crate `{}`: add a heading \"### `{}/` — crate `{}`\" with its \
                 invariants, API boundary and modules",
                krate.name, krate.dir, krate.name
            ));
            continue;
        };
        if section.crate_name.as_deref() != Some(krate.name.as_str()) {
            problems.push(format!(
                "line {}: the section for `{}/` must say \"crate `{}`\"",
                section.lines[0].0, krate.dir, krate.name
            ));
        }
        let named: BTreeSet<&str> = section
            .lines
            .iter()
            .flat_map(|(_, l)| code_spans(l))
            .collect();
        for module in top_level_modules(&root.join(&krate.dir).join("src")) {
            if !named.contains(module.as_str()) {
                problems.push(format!(
                    "the section for `{}/` does not name its module `{module}` ({}/src/{module}): \
                     add a bullet saying what it is for",
                    krate.dir, krate.dir
                ));
            }
        }
    }

    let all_lines = sections
        .iter()
        .flat_map(|s| s.lines.iter().map(move |l| (Some(s), l)))
        .chain(rest.iter().map(|l| (None, l)));
    for (section, (number, line)) in all_lines {
        for span in code_spans(line) {
            if names_a_path(span) {
                let mut bases = vec![root.clone()];
                if let Some(s) = section {
                    bases.push(root.join(&s.dir));
                    bases.push(root.join(&s.dir).join("src"));
                }
                if !bases.iter().any(|b| b.join(span).exists()) {
                    problems.push(format!(
                        "line {number}: `{span}` does not exist (looked in {})",
                        bases
                            .iter()
                            .map(|b| relative(b))
                            .map(|b| if b.is_empty() { ".".to_string() } else { b })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            } else if span.contains("::") && !span.contains(char::is_whitespace) {
                if let Some(problem) = rust_path_problem(span, &libs) {
                    problems.push(format!("line {number}: {problem}"));
                }
            }
        }
        for marker in ["crate `", "lib `", "binary `", "bin `"] {
            let mut at = 0;
            while let Some(found) = line[at..].find(marker) {
                let start = at + found + marker.len();
                let name = line[start..].split('`').next().unwrap_or_default();
                if !name.contains('<') && !known_names.contains(name) {
                    problems.push(format!(
                        "line {number}: {marker}{name}` is not a workspace crate, library or binary"
                    ));
                }
                at = start;
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/ARCHITECTURE.md is out of date with the code:\n- {}",
        problems.join("\n- ")
    );
}

// ---------------------------------------------------------------------------------------------
// Citations

/// Documents that live outside the repository (in the project's shared notes), which a reader of
/// the repository cannot open. Spelt in pieces so that this file does not cite them itself.
fn outside_documents() -> Vec<String> {
    [
        "SPEC",
        "proxmox",
        "tfplugin",
        "terragrunt",
        "checks-and-style",
        "lxc-lab",
    ]
    .iter()
    .map(|name| format!("{name}.{}", "md"))
    .chain([
        format!("pve-api-schema.{}", "json"),
        format!("shared/{}", "reference"),
    ])
    .collect()
}

/// Files known to cite outside documents when this test was written, outside the tidy helper's
/// area. Fix them (cite an upstream source by repository and path, or a document in docs/), then
/// remove them here: the test fails while an entry is stale.
const KNOWN_OUTSIDE_CITATIONS: &[&str] = &[
    // Reads the shared Proxmox schema file when it is present (a test input, not a citation);
    // move that file into the repository (e.g. acceptance/pve-sim/tests/data/) to drop this.
    "acceptance/pve-sim/tests/sim_schema_table.rs",
];

#[test]
fn comments_cite_only_documents_in_the_repository() {
    let root = workspace_root();
    let outside = outside_documents();
    let this_file = Path::new(file!())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut files = Vec::new();
    files_under(
        &root,
        &|p| {
            p.extension().is_some_and(|e| {
                ["rs", "toml", "proto", "md", "hcl", "tf", "sh"].contains(&&*e.to_string_lossy())
            })
        },
        &mut files,
    );
    files.push(root.join(".ci/run"));
    let mut offenders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let rel = relative(file);
        if rel == format!("acceptance/tests/{this_file}") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            if let Some(doc) = outside.iter().find(|d| line.contains(d.as_str())) {
                offenders
                    .entry(rel.clone())
                    .or_default()
                    .push(format!("line {}: cites {doc}", i + 1));
            }
        }
    }
    let new: Vec<String> = offenders
        .iter()
        .filter(|(file, _)| !KNOWN_OUTSIDE_CITATIONS.contains(&file.as_str()))
        .map(|(file, lines)| format!("{file}: {}", lines.join("; ")))
        .collect();
    let stale: Vec<&str> = KNOWN_OUTSIDE_CITATIONS
        .iter()
        .copied()
        .filter(|f| !offenders.contains_key(*f))
        .collect();
    assert!(
        new.is_empty() && stale.is_empty(),
        "comments must cite documents in the repository, or upstream sources by repository and \
         path; these are outside it:\n  {}\n{}",
        new.join("\n  "),
        if stale.is_empty() {
            String::new()
        } else {
            format!(
                "these files no longer cite outside documents; remove them from \
                 KNOWN_OUTSIDE_CITATIONS in acceptance/tests/tidy.rs:\n  {}",
                stale.join("\n  ")
            )
        }
    );
}
