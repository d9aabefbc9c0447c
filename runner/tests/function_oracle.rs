//! The function oracle: every HCL function `ralf` implements that Terraform also has is
//! evaluated by ralf and by the real `terraform console` on the same expressions (edge cases
//! included: nulls, missing keys, unicode, big numbers), and the results must be equal. All
//! expressions go to one console invocation as one `jsonencode([...])`; failures are compared
//! through `can(...)`, which is true or false on both sides.

use hcl::Value;
use ralf_runner::config::eval::{eval_expr, EvalEnv, Scope, ScopeGuard, Vars};
use std::path::Path;
use std::sync::Arc;

/// One expression per line, each valid Terraform and HCL; grouped by function family.
const CASES: &[&str] = &[
    // Collections and type conversion.
    r#"merge({a = 1, b = 2}, {b = 3, c = null})"#,
    r#"merge({}, {x = {y = 1}})"#,
    r#"lookup({a = "x"}, "a", "d")"#,
    r#"lookup({a = "x"}, "missing", "default")"#,
    r#"length([1, 2, 3])"#,
    r#"length({a = 1, b = 2})"#,
    r#"length("héllo")"#,
    r#"keys({b = 1, a = 2})"#,
    r#"values({b = 1, a = 2})"#,
    r#"concat([1, 2], [], ["a"])"#,
    r#"flatten([[1, [2, 3]], [], [[4]]])"#,
    r#"distinct(["a", "b", "a", "c", "b"])"#,
    r#"compact(["a", "", "b", null])"#,
    r#"contains(["a", "b"], "b")"#,
    r#"contains(["a", "b"], "z")"#,
    r#"element(["a", "b", "c"], 1)"#,
    r#"element(["a", "b", "c"], 4)"#,
    r#"index(["a", "b", "c"], "c")"#,
    r#"slice(["a", "b", "c", "d"], 1, 3)"#,
    r#"sort(["b", "a", "c", "B"])"#,
    r#"reverse([1, 2, 3])"#,
    r#"range(3)"#,
    r#"range(1, 4)"#,
    r#"range(10, 0, -3)"#,
    r#"zipmap(["a", "b"], [1, 2])"#,
    r#"coalesce("", "b", "c")"#,
    r#"coalesce(null, 2)"#,
    r#"coalescelist([], ["x"])"#,
    r#"one(["only"])"#,
    r#"one([])"#,
    r#"alltrue([true, true])"#,
    r#"alltrue([])"#,
    r#"anytrue([false, true])"#,
    r#"anytrue([])"#,
    r#"sum([1, 2, 3.5])"#,
    r#"tolist(["a", "b"])"#,
    r#"tomap({a = "1"})"#,
    r#"tostring(12)"#,
    r#"tostring(true)"#,
    r#"tostring(null)"#,
    r#"tonumber("42")"#,
    r#"tonumber("3.25")"#,
    r#"tobool("true")"#,
    r#"tobool(null)"#,
    r#"can(tonumber("x"))"#,
    r#"can(tobool("yes"))"#,
    // Numbers.
    r#"min(3, 1, 2)"#,
    r#"max(3, 1, 2)"#,
    r#"abs(-5.5)"#,
    r#"ceil(1.2)"#,
    r#"floor(-1.2)"#,
    r#"12345678901234567890"#,
    r#"max(9007199254740993, 1)"#,
    // Strings.
    r#"format("%s-%d", "a", 7)"#,
    r#"format("%5.2f|%-4s|%04d", 3.14159, "x", 42)"#,
    r#"format("%q %t %v %%", "q", true, 1)"#,
    r#"join(",", ["a", "b"])"#,
    r#"join("-", [])"#,
    r#"split(",", "a,b,,c")"#,
    r#"split(",", "")"#,
    r#"lower("ÀBC")"#,
    r#"upper("straße")"#,
    r#"title("hello wörld")"#,
    r#"trimspace("  x \n")"#,
    r#"chomp("line\r\n")"#,
    r#"trim("?!hi!?", "!?")"#,
    r#"trimprefix("prefix-x", "prefix-")"#,
    r#"trimsuffix("x.tf", ".tf")"#,
    r#"startswith("hello", "he")"#,
    r#"endswith("hello", "lo")"#,
    r#"strcontains("hello", "ell")"#,
    r#"replace("a-b-c", "-", "_")"#,
    r#"replace("a1b22", "/[0-9]+/", "N")"#,
    r#"substr("héllo wörld", 1, 4)"#,
    r#"substr("hello", -3, -1)"#,
    r#"regex("[a-z]+", "123abc456")"#,
    r#"regex("(\\d+)-(\\d+)", "10-20")"#,
    r#"regex("(?P<a>\\w)(?P<b>\\w)", "xy")"#,
    r#"regexall("\\d", "a1b2c3")"#,
    r#"can(regex("z", "abc"))"#,
    // Encoding.
    r#"jsonencode({b = [1, "x", null], a = true})"#,
    r#"jsonencode("<&>")"#,
    r#"jsondecode("{\"a\": [1, 2.5, null, \"é\"]}")"#,
    r#"base64encode("héllo")"#,
    r#"base64decode("aMOpbGxv")"#,
    r#"can(base64decode("!!"))"#,
    r#"yamldecode("a: 1\nb: [x, true, null]\nc: {d: 2.5}")"#,
    r#"yamldecode("- é\n- 2")"#,
    r#"csvdecode("a,b\n1,\"x,y\"\n3,4")"#,
    r#"urlencode("a b&c=d/é~")"#,
    // Hashes.
    r#"md5("héllo")"#,
    r#"sha1("héllo")"#,
    r#"sha256("")"#,
    r#"sha512("abc")"#,
    r#"base64sha256("héllo")"#,
    r#"base64sha512("héllo")"#,
    // Files (relative to the directory both evaluate in).
    r#"file("greeting.txt")"#,
    r#"fileexists("greeting.txt")"#,
    r#"fileexists("missing.txt")"#,
    r#"basename("/a/b/c.txt")"#,
    r#"dirname("/a/b/c.txt")"#,
    r#"dirname("c.txt")"#,
    r#"templatefile("greet.tftpl", {name = "wörld", items = ["a", "b"]})"#,
    r#"filemd5("greeting.txt")"#,
    r#"filesha1("greeting.txt")"#,
    r#"filesha256("greeting.txt")"#,
    r#"filesha512("greeting.txt")"#,
    r#"filebase64sha256("greeting.txt")"#,
    r#"filebase64sha512("greeting.txt")"#,
    r#"filebase64("greeting.txt")"#,
];

fn write_files(dir: &Path) {
    std::fs::write(dir.join("greeting.txt"), "héllo\n").expect("greeting");
    std::fs::write(
        dir.join("greet.tftpl"),
        "Hello ${name}!%{ for x in items } [${upper(x)}]%{ endfor }\n%{ if length(items) > 1 }many%{ else }one%{ endif }",
    )
    .expect("template");
}

/// Numbers compared by value: integers exactly, others as f64.
fn normalise(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Number(n) => {
            let text = n.to_string();
            if let Ok(i) = text.parse::<i128>() {
                serde_json::Value::String(format!("number:{i}"))
            } else {
                let f: f64 = text.parse().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    serde_json::Value::String(format!("number:{}", f as i128))
                } else {
                    serde_json::Value::String(format!("number:{f}"))
                }
            }
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(normalise).collect())
        }
        serde_json::Value::Object(o) => {
            serde_json::Value::Object(o.into_iter().map(|(k, v)| (k, normalise(v))).collect())
        }
        other => other,
    }
}

fn terraform_results(dir: &Path) -> Vec<serde_json::Value> {
    use std::io::Write;
    let rc = dir.join("empty.tfrc");
    std::fs::write(&rc, "").expect("tfrc");
    let mut child = std::process::Command::new("terraform")
        .arg("console")
        .current_dir(dir)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_CLI_CONFIG_FILE", &rc)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("this test needs `terraform` (1.11) on PATH");
    let line = format!("jsonencode([{}])\n", CASES.join(", "));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(line.as_bytes())
        .expect("write expressions");
    let out = child.wait_with_output().expect("terraform console runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "terraform console failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let quoted = stdout.trim();
    let inner: String = serde_json::from_str(quoted).expect("console prints a JSON string");
    let all: serde_json::Value = serde_json::from_str(&inner).expect("jsonencode output");
    all.as_array().expect("a tuple").clone()
}

fn ralf_result(dir: &Path, expr: &str) -> Result<serde_json::Value, String> {
    let body = hcl::parse(&format!("v = {expr}\n")).map_err(|e| format!("parse: {e}"))?;
    let attr = body
        .attributes()
        .next()
        .ok_or_else(|| "no attribute".to_string())?;
    let _g = ScopeGuard::enter(Scope {
        terragrunt_dir: dir.to_path_buf(),
        file_dir: dir.to_path_buf(),
        includes: Vec::new(),
        env: Arc::new(EvalEnv::default()),
    });
    let v: Value = eval_expr(&attr.expr, &Vars::default())?;
    serde_json::to_value(&v).map_err(|e| e.to_string())
}

#[test]
fn ralf_functions_agree_with_terraform_console() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_files(tmp.path());
    let expected = terraform_results(tmp.path());
    assert_eq!(expected.len(), CASES.len());
    let mut mismatches = Vec::new();
    for (expr, want) in CASES.iter().zip(expected) {
        match ralf_result(tmp.path(), expr) {
            Ok(got) if normalise(got.clone()) == normalise(want.clone()) => {}
            Ok(got) => mismatches.push(format!(
                "{expr}\n    terraform: {want}\n    ralf:      {got}"
            )),
            Err(e) => mismatches.push(format!(
                "{expr}\n    terraform: {want}\n    ralf error: {e}"
            )),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} expressions differ:\n{}",
        mismatches.len(),
        CASES.len(),
        mismatches.join("\n")
    );
}
