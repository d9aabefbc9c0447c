//! The registry docs cannot drift from the schema, and the examples are valid Terraform.
//!
//! The `## Schema` section of `docs/index.md` (the provider block), `docs/resources/<name>.md`
//! and `docs/data-sources/<name>.md` is generated from the schema that the real `terraform`
//! reads from the built provider (`terraform providers schema -json`), in the layout of
//! HashiCorp's terraform-plugin-docs: names, Required / Optional / Read-Only, types, `Sensitive`,
//! descriptions, and a nested schema per block or object attribute. Prose outside the generated
//! section is written by hand. After changing a schema, rewrite the docs with
//!
//!     cargo build -p terraform-provider-ralf && UPDATE_DOCS=1 cargo test -p ralf-acceptance --test docs_schema
//!
//! Every example under `examples/` must pass `terraform validate` against the built provider
//! (loaded through `dev_overrides`, as in the other acceptance tests; nothing is downloaded):
//! the registry examples together (they refer to one another), and the RALF tree's module, which
//! every stack links to.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use support::{workspace_root, TfDir};

const PROVIDER_ADDRESS: &str = "registry.terraform.io/ralf-homelab/ralf";
const TYPE_PREFIX: &str = "ralf_";
const REGENERATE: &str = "cargo build -p terraform-provider-ralf && UPDATE_DOCS=1 cargo test -p ralf-acceptance --test docs_schema";
const BEGIN: &str = "<!-- schema generated from the provider's schema by acceptance/tests/docs_schema.rs: edit the schema's descriptions, not this section -->";
const END: &str = "<!-- end of generated schema -->";

const HEADER: &str = r#"terraform {
  required_providers {
    ralf = { source = "ralf-homelab/ralf" }
  }
}
"#;

/// The provider's schema as Terraform reads it from the built binary.
fn provider_schema() -> Json {
    let dir = TfDir::new(HEADER);
    let run = dir.run(&["providers", "schema", "-json"]);
    assert_eq!(
        run.code,
        0,
        "terraform providers schema -json failed:\n{}",
        run.all()
    );
    let all: Json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("terraform printed no schema JSON ({e}):\n{}", run.all()));
    all["provider_schemas"][PROVIDER_ADDRESS].clone()
}

// ---------------------------------------------------------------------------------------------
// Rendering, after terraform-plugin-docs (`internal/schemamd`)

/// `(Number)`, `(List of String)`, `(Map of Object)`: a cty type JSON in the docs' words.
fn type_words(ty: &Json) -> String {
    match ty {
        Json::String(s) => match s.as_str() {
            "string" => "String".into(),
            "number" => "Number".into(),
            "bool" => "Boolean".into(),
            "dynamic" => "Dynamic".into(),
            other => other.to_string(),
        },
        Json::Array(parts) if parts.len() >= 2 => {
            let kind = parts[0].as_str().unwrap_or_default();
            match kind {
                "list" | "set" | "map" => {
                    let outer = match kind {
                        "list" => "List",
                        "set" => "Set",
                        _ => "Map",
                    };
                    format!("{outer} of {}", type_words(&parts[1]))
                }
                "object" => "Object".into(),
                "tuple" => "Tuple".into(),
                other => other.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// The attributes of the object a type holds, if it holds objects (`object`, `list(object)`, ...).
fn object_attributes(ty: &Json) -> Option<&serde_json::Map<String, Json>> {
    match ty {
        Json::Array(parts) if parts.len() >= 2 => match parts[0].as_str() {
            Some("object") => parts[1].as_object(),
            Some("list" | "set" | "map") => object_attributes(&parts[1]),
            _ => None,
        },
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Required,
    Optional,
    ReadOnly,
}

impl Group {
    fn title(self) -> &'static str {
        match self {
            Group::Required => "Required",
            Group::Optional => "Optional",
            Group::ReadOnly => "Read-Only",
        }
    }

    fn of_attribute(attr: &Json) -> Group {
        if attr["required"].as_bool() == Some(true) {
            Group::Required
        } else if attr["optional"].as_bool() == Some(true) {
            Group::Optional
        } else {
            Group::ReadOnly
        }
    }

    fn of_block(block_type: &Json) -> Group {
        if block_type["min_items"].as_u64().unwrap_or(0) > 0 {
            return Group::Required;
        }
        let block = &block_type["block"];
        let attrs = block["attributes"].as_object();
        let only_computed = attrs.is_some_and(|a| {
            !a.is_empty()
                && a.values()
                    .all(|x| Group::of_attribute(x) == Group::ReadOnly)
        }) && block["block_types"]
            .as_object()
            .is_none_or(|b| b.is_empty());
        if only_computed {
            Group::ReadOnly
        } else {
            Group::Optional
        }
    }
}

fn describe(node: &Json) -> String {
    node["description"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .replace('\n', " ")
}

/// A nested schema still to be written below the one that refers to it.
struct Pending {
    anchor: String,
    path: String,
    /// The block, or the attributes of an object attribute with the group they belong to.
    body: PendingBody,
}

enum PendingBody {
    Block(Json),
    Object(serde_json::Map<String, Json>, Group),
}

fn entry_line(name: &str, flags: &str, description: &str, nested: Option<&str>) -> String {
    let mut line = format!("- `{name}` ({flags})");
    if !description.is_empty() {
        line.push(' ');
        line.push_str(description);
    }
    if let Some(anchor) = nested {
        line.push_str(&format!(" (see [below for nested schema](#{anchor}))"));
    }
    line
}

/// Writes one block's entries grouped Required / Optional / Read-Only, sorted by name, and
/// queues its nested schemas. `top` selects `### Group` headings (top level) or `Group:` lines.
fn render_entries(
    block: &Json,
    path: &str,
    top: bool,
    out: &mut Vec<String>,
    pending: &mut Vec<Pending>,
) {
    let mut groups: BTreeMap<Group, Vec<(String, String)>> = BTreeMap::new();
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{}--", path.replace('.', "--"))
    };
    for (name, attr) in block["attributes"].as_object().into_iter().flatten() {
        let group = Group::of_attribute(attr);
        // A nested attribute (`nested_type`) is shown as tfplugindocs does: `Attributes`, with
        // its own attributes grouped below like a block's.
        let nested_type = attr.get("nested_type").filter(|n| n.is_object());
        let mut flags = match nested_type.and_then(|n| n["nesting_mode"].as_str()) {
            Some("list") => "Attributes List".to_string(),
            Some("set") => "Attributes Set".to_string(),
            Some("map") => "Attributes Map".to_string(),
            Some(_) => "Attributes".to_string(),
            None => type_words(&attr["type"]),
        };
        if attr["sensitive"].as_bool() == Some(true) {
            flags.push_str(", Sensitive");
        }
        if attr["deprecated"].as_bool() == Some(true) {
            flags.push_str(", Deprecated");
        }
        let nested = match nested_type {
            Some(nested_type) => {
                let anchor = format!("nestedatt--{prefix}{name}");
                pending.push(Pending {
                    anchor: anchor.clone(),
                    path: join_path(path, name),
                    body: PendingBody::Block(
                        serde_json::json!({ "attributes": nested_type["attributes"].clone() }),
                    ),
                });
                Some(anchor)
            }
            None => object_attributes(&attr["type"]).map(|attrs| {
                let anchor = format!("nestedatt--{prefix}{name}");
                pending.push(Pending {
                    anchor: anchor.clone(),
                    path: join_path(path, name),
                    body: PendingBody::Object(attrs.clone(), group),
                });
                anchor
            }),
        };
        groups.entry(group).or_default().push((
            name.clone(),
            entry_line(name, &flags, &describe(attr), nested.as_deref()),
        ));
    }
    for (name, block_type) in block["block_types"].as_object().into_iter().flatten() {
        let group = Group::of_block(block_type);
        let nesting = block_type["nesting_mode"].as_str().unwrap_or("list");
        let mut flags = match nesting {
            "single" | "group" => "Block".to_string(),
            "set" => "Block Set".to_string(),
            "map" => "Block Map".to_string(),
            _ => "Block List".to_string(),
        };
        if nesting != "single" && nesting != "group" {
            if let Some(min) = block_type["min_items"].as_u64().filter(|m| *m > 0) {
                flags.push_str(&format!(", Min: {min}"));
            }
            if let Some(max) = block_type["max_items"].as_u64().filter(|m| *m > 0) {
                flags.push_str(&format!(", Max: {max}"));
            }
        }
        let anchor = format!("nestedblock--{prefix}{name}");
        pending.push(Pending {
            anchor: anchor.clone(),
            path: join_path(path, name),
            body: PendingBody::Block(block_type["block"].clone()),
        });
        groups.entry(group).or_default().push((
            name.clone(),
            entry_line(name, &flags, &describe(&block_type["block"]), Some(&anchor)),
        ));
    }
    for (group, mut entries) in groups {
        entries.sort();
        out.push(if top {
            format!("### {}", group.title())
        } else {
            format!("{}:", group.title())
        });
        out.push(String::new());
        out.extend(entries.into_iter().map(|(_, line)| line));
        out.push(String::new());
    }
}

fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The generated section for one schema block, markers included.
fn render_schema(block: &Json) -> String {
    let mut out = vec![BEGIN.to_string(), "## Schema".to_string(), String::new()];
    let mut pending = Vec::new();
    render_entries(block, "", true, &mut out, &mut pending);
    // Nested schemas in the order they were referred to, each followed by its own nested ones.
    pending.reverse();
    while let Some(next) = pending.pop() {
        out.push(format!("<a id=\"{}\"></a>", next.anchor));
        out.push(format!("### Nested Schema for `{}`", next.path));
        out.push(String::new());
        let mut inner = Vec::new();
        match &next.body {
            PendingBody::Block(block) => {
                render_entries(block, &next.path, false, &mut out, &mut inner)
            }
            PendingBody::Object(attrs, group) => {
                out.push(format!("{}:", group.title()));
                out.push(String::new());
                for (name, attr) in attrs {
                    let nested = object_attributes(attr).map(|inner_attrs| {
                        let anchor = format!("nestedatt--{}--{name}", next.path.replace('.', "--"));
                        inner.push(Pending {
                            anchor: anchor.clone(),
                            path: join_path(&next.path, name),
                            body: PendingBody::Object(inner_attrs.clone(), *group),
                        });
                        anchor
                    });
                    out.push(entry_line(name, &type_words(attr), "", nested.as_deref()));
                }
                out.push(String::new());
            }
        }
        inner.reverse();
        pending.extend(inner);
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.push(END.to_string());
    out.join("\n")
}

// ---------------------------------------------------------------------------------------------
// Pages

struct Page {
    /// `resource ralf_snapshot`, `the provider`: for messages.
    what: String,
    path: PathBuf,
    generated: String,
}

fn pages(schema: &Json) -> Vec<Page> {
    let docs = workspace_root().join("docs");
    let mut pages = vec![Page {
        what: "the provider block".into(),
        path: docs.join("index.md"),
        generated: render_schema(&schema["provider"]["block"]),
    }];
    for (kind, key, dir) in [
        ("resource", "resource_schemas", "resources"),
        ("data source", "data_source_schemas", "data-sources"),
    ] {
        for (name, type_schema) in schema[key].as_object().into_iter().flatten() {
            let short = name.strip_prefix(TYPE_PREFIX).unwrap_or(name);
            pages.push(Page {
                what: format!("{kind} {name}"),
                path: docs.join(dir).join(format!("{short}.md")),
                generated: render_schema(&type_schema["block"]),
            });
        }
    }
    pages
}

/// The page with its generated section replaced by `generated`: between the markers, or, on a
/// page that has none yet, from `## Schema` to the next `## ` heading.
fn with_generated(page: &str, generated: &str) -> Option<String> {
    if let (Some(begin), Some(end)) = (page.find(BEGIN), page.find(END)) {
        return Some(format!(
            "{}{generated}{}",
            &page[..begin],
            &page[end + END.len()..]
        ));
    }
    let begin = page.find("\n## Schema\n")? + 1;
    let end = page[begin + 1..]
        .find("\n## ")
        .map_or(page.len(), |i| begin + 1 + i + 1);
    let tail = &page[end..];
    let separator = if tail.is_empty() { "\n" } else { "\n\n" };
    Some(format!("{}{generated}{separator}{tail}", &page[..begin]))
}

/// A line diff (longest common subsequence), enough to show what changed in a section.
fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    out.join("\n")
}

#[test]
fn registry_docs_show_the_schema_terraform_reads_from_the_provider() {
    let schema = provider_schema();
    assert!(
        schema["resource_schemas"]
            .as_object()
            .is_some_and(|r| !r.is_empty()),
        "terraform reported no resources for {PROVIDER_ADDRESS}: {schema}"
    );
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let pages = pages(&schema);
    let mut problems = Vec::new();
    for page in &pages {
        let rel = page
            .path
            .strip_prefix(workspace_root())
            .unwrap_or(&page.path);
        let Ok(text) = std::fs::read_to_string(&page.path) else {
            problems.push(format!(
                "{}: {} has no page; write one (front matter, description, `## Example Usage` \
                 from examples/) with a `## Schema` heading, then run `{REGENERATE}`",
                rel.display(),
                page.what
            ));
            continue;
        };
        let Some(expected) = with_generated(&text, &page.generated) else {
            problems.push(format!(
                "{}: no `## Schema` section for {}; add the heading, then run `{REGENERATE}`",
                rel.display(),
                page.what
            ));
            continue;
        };
        if expected == text {
            continue;
        }
        if update {
            std::fs::write(&page.path, &expected).expect("rewrite doc page");
            eprintln!("rewrote the schema section of {}", rel.display());
        } else {
            problems.push(format!(
                "{}: the schema section differs from {}'s schema (- page, + schema):\n{}",
                rel.display(),
                page.what,
                line_diff(&text, &expected)
            ));
        }
    }
    // A page for a type the provider does not have is a page about nothing.
    let documented: BTreeSet<PathBuf> = pages.iter().map(|p| p.path.clone()).collect();
    for dir in ["resources", "data-sources"] {
        let dir = workspace_root().join("docs").join(dir);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "md") && !documented.contains(&path) {
                problems.push(format!(
                    "{}: the provider has no such type; remove the page or rename it",
                    path.strip_prefix(workspace_root())
                        .unwrap_or(&path)
                        .display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the registry docs are out of date with the provider's schema. Regenerate with\n    \
         {REGENERATE}\n\n{}",
        problems.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Examples

/// Files the provider example reads with `file()`; a user has them next to the configuration.
const PROVIDER_EXAMPLE_FILES: &[&str] = &["pve-ca.pem", "pve-known-hosts"];

/// The entries of a directory that must exist, sorted by name.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copies the `.tf` files of `from` into `to` under the names `rename` gives; returns those.
fn copy_files(from: &Path, to: &Path, rename: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut names = Vec::new();
    for path in entries(from) {
        let name = file_name(&path);
        if path.is_file() && name.ends_with(".tf") {
            let target = rename(&name);
            std::fs::copy(&path, to.join(&target)).expect("copy example");
            names.push(target);
        }
    }
    names
}

/// `terraform validate` with our provider loaded through `dev_overrides`, which needs no
/// `init`: the examples call no modules and use no other provider, and `init` would ask the
/// registry about the overridden provider.
fn validate(dir: &TfDir, what: &str) {
    let run = dir.run(&["validate", "-no-color"]);
    assert_eq!(
        run.code,
        0,
        "terraform validate of {what} failed:\n{}",
        run.all()
    );
}

#[test]
fn registry_examples_pass_terraform_validate_together() {
    let examples = workspace_root().join("examples");
    // The provider example declares `terraform { required_providers }` for all of them.
    let dir = TfDir::new("");
    std::fs::remove_file(dir.path().join("main.tf")).expect("remove main.tf");
    let mut copied = copy_files(&examples.join("provider"), dir.path(), &|n| {
        format!("provider_{n}")
    });
    for kind in ["resources", "data-sources"] {
        for type_dir in entries(&examples.join(kind))
            .into_iter()
            .filter(|p| p.is_dir())
        {
            let type_name = file_name(&type_dir);
            copied.extend(copy_files(&type_dir, dir.path(), &|n| {
                format!("{kind}_{type_name}_{n}")
            }));
        }
    }
    // The provider validates these files' contents at validate time, so they must be real: a CA
    // certificate and a known_hosts line for the example's node.
    let ca = rcgen::generate_simple_self_signed(vec!["pve.ralf.home.arpa".to_string()])
        .expect("example CA");
    let contents = [
        ca.cert.pem(),
        "pve.ralf.home.arpa ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMDvmOVn54ZAHaDOEfBL4owFhuVrt5RqB1QJIqOMyPWY\n"
            .to_string(),
    ];
    for (name, content) in PROVIDER_EXAMPLE_FILES.iter().zip(contents) {
        std::fs::write(dir.path().join(name), content).expect("write example input");
    }
    assert!(
        copied.len() >= 5,
        "expected the provider, three resource and one data-source example, found {copied:?}"
    );
    validate(
        &dir,
        &format!("the registry examples ({})", copied.join(", ")),
    );
}

#[test]
fn import_examples_name_a_resource_their_example_declares() {
    let resources = workspace_root().join("examples/resources");
    let mut problems = Vec::new();
    for type_dir in entries(&resources) {
        let import = type_dir.join("import.sh");
        let Ok(script) = std::fs::read_to_string(&import) else {
            continue;
        };
        let example = std::fs::read_to_string(type_dir.join("resource.tf")).unwrap_or_default();
        for line in script
            .lines()
            .filter(|l| l.starts_with("terraform import "))
        {
            let address = line.split_whitespace().nth(2).unwrap_or_default();
            let (ty, name) = address.split_once('.').unwrap_or((address, ""));
            if !example.contains(&format!("resource \"{ty}\" \"{name}\"")) {
                problems.push(format!(
                    "{}: imports `{address}`, which resource.tf does not declare",
                    import.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ralf_tree_modules_pass_terraform_validate_and_every_service_stack_links_to_the_shared_one() {
    let iac = workspace_root().join("examples/ralf-homelab/iac");
    let module = iac.join("modules/ralf-service");
    let dir = TfDir::new("");
    std::fs::remove_file(dir.path().join("main.tf")).expect("remove main.tf");
    let copied = copy_files(&module, dir.path(), &|n| n.to_string());
    assert!(!copied.is_empty(), "no .tf files in {}", module.display());
    validate(&dir, "examples/ralf-homelab/iac/modules/ralf-service");

    let module_files: BTreeSet<PathBuf> = copied
        .iter()
        .map(|n| module.join(n).canonicalize().expect("module file"))
        .collect();
    let mut problems = Vec::new();
    let stacks = entries(&iac.join("stacks"));
    assert!(!stacks.is_empty(), "no stacks under {}", iac.display());
    for stack in stacks {
        let tofu = stack.join("tofu");
        // The gatekeeper (stacks/network-health) is no service: its own module, validated here.
        if !file_name(&stack).ends_with("-fz") {
            let gate = TfDir::new("");
            std::fs::remove_file(gate.path().join("main.tf")).expect("remove main.tf");
            assert!(
                !copy_files(&tofu, gate.path(), &|n| n.to_string()).is_empty(),
                "no .tf files in {}",
                tofu.display()
            );
            validate(&gate, &format!("{}", tofu.display()));
            continue;
        }
        let linked: BTreeSet<PathBuf> = std::fs::read_dir(&tofu)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tf"))
            .filter_map(|e| e.path().canonicalize().ok())
            .collect();
        if linked != module_files {
            problems.push(format!(
                "{}: its .tf files are not exactly the links to modules/ralf-service/ (so the \
                 module's validation does not cover it)",
                tofu.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn registry_docs_show_each_example_as_it_is_in_examples() {
    let root = workspace_root();
    let examples = root.join("examples");
    let mut pairs = vec![(
        examples.join("provider/provider.tf"),
        root.join("docs/index.md"),
    )];
    for (kind, file, docs) in [
        ("resources", "resource.tf", "resources"),
        ("resources", "import.sh", "resources"),
        ("data-sources", "data-source.tf", "data-sources"),
    ] {
        for type_dir in entries(&examples.join(kind)) {
            let type_name = file_name(&type_dir);
            let short = type_name.strip_prefix(TYPE_PREFIX).unwrap_or(&type_name);
            pairs.push((
                type_dir.join(file),
                root.join("docs").join(docs).join(format!("{short}.md")),
            ));
        }
    }
    let mut problems = Vec::new();
    for (example, doc) in pairs {
        let Ok(text) = std::fs::read_to_string(&example) else {
            continue;
        };
        // An import.sh that only explains why there is no import has nothing to show.
        if example.ends_with("import.sh") && !text.contains("terraform import") {
            continue;
        }
        let page = std::fs::read_to_string(&doc).unwrap_or_default();
        if !page.contains(text.trim()) {
            problems.push(format!(
                "{} does not show {} as it is; copy the file into its code block",
                doc.strip_prefix(&root).unwrap_or(&doc).display(),
                example.strip_prefix(&root).unwrap_or(&example).display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
