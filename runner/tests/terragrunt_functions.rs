//! Terragrunt-only functions against Terragrunt's documented results: `sops_decrypt_file` hands
//! the file to `sops --decrypt` and returns its output (a stand-in `sops` shows the call), and
//! says how to fix a missing `sops`.

use std::path::Path;
use std::process::Command;

fn write_exec(path: &Path, body: &str) {
    std::fs::write(path, body).expect("write script");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
}

fn tree(bin: &Path) -> std::path::PathBuf {
    let root = bin.parent().expect("parent").join("live");
    std::fs::create_dir_all(root.join("app")).expect("unit");
    std::fs::write(root.join("app/secret.enc.yaml"), "token: ENC[...]\n").expect("secret");
    std::fs::write(
        root.join("app/terragrunt.hcl"),
        "locals {\n  secret = yamldecode(sops_decrypt_file(\"secret.enc.yaml\"))\n}\ninputs = {\n  token = local.secret.token\n}\n",
    )
    .expect("config");
    write_exec(
        &bin.join("tf"),
        "#!/bin/sh\n[ \"$1\" = plan ] && echo \"token=$TF_VAR_token\"\nexit 0\n",
    );
    root
}

#[test]
fn sops_decrypt_file_returns_what_sops_decrypts() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let root = tree(&bin);
    write_exec(
        &bin.join("sops"),
        "#!/bin/sh\n[ \"$1\" = --decrypt ] || exit 9\ncase \"$2\" in /*secret.enc.yaml) echo 'token: s3cr3t';; *) exit 8;; esac\n",
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args([
            "run",
            "--all",
            "--tf-path",
            &bin.join("tf").display().to_string(),
            "plan",
        ])
        .current_dir(&root)
        .env("PATH", path)
        .output()
        .expect("ralf starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("[app] token=s3cr3t"), "{stdout}");
}

#[test]
fn sops_decrypt_file_without_sops_says_to_install_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let root = tree(&bin);
    // Only the stand-in terraform and the basics on PATH, no sops.
    let out = Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args([
            "run",
            "--all",
            "--tf-path",
            &bin.join("tf").display().to_string(),
            "plan",
        ])
        .current_dir(&root)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .expect("ralf starts");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if Path::new("/usr/bin/sops").exists() || Path::new("/bin/sops").exists() {
        panic!("this test needs a PATH without sops; /usr/bin/sops exists");
    }
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("needs the `sops` binary on PATH"), "{all}");
}
