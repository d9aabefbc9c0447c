//! `--state FILE`: written atomically after every change, a restart resumes the same cluster,
//! and an unreadable state file is an error that names it and leaves it untouched.

mod sim_support;

use std::time::Duration;

use pve_sim::{RunningSim, SimConfig, SimError};
use sim_support::TestSim;

fn config(path: &std::path::Path) -> SimConfig {
    SimConfig {
        state_file: Some(path.to_path_buf()),
        task_duration: Duration::from_millis(10),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn a_restart_resumes_the_same_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cluster.json");
    let digest = {
        let t = TestSim::start_with(config(&path)).await;
        t.create_ct(700, &[("hostname", "keep-me"), ("start", "1")])
            .await;
        t.run_task(
            "POST",
            "/nodes/pve/lxc/700/snapshot",
            &[("snapname", "pre-install")],
        )
        .await;
        let digest = t.config(700).await["digest"].clone();
        t.sim.shutdown().await;
        digest
    };
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(entries.len(), 1, "no temporary files are left behind");
    let t = TestSim::start_with(config(&path)).await;
    let config = t.config(700).await;
    assert_eq!(config["hostname"], "keep-me");
    assert_eq!(config["digest"], digest);
    assert_eq!(t.status(700).await["status"], "running");
    let snaps = t.get("/nodes/pve/lxc/700/snapshot").await;
    assert_eq!(snaps.data()[0]["name"], "pre-install");
}

#[tokio::test]
async fn an_unreadable_state_file_is_an_error_that_names_it_and_leaves_it_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, b"{ this is not json").expect("write");
    let result = RunningSim::start(config(&path), "127.0.0.1:0".parse().expect("addr")).await;
    let err = match result {
        Ok(_) => panic!("a broken state file must not start a simulator"),
        Err(e) => e,
    };
    assert!(matches!(err, SimError::StateUnreadable { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).expect("still there"),
        b"{ this is not json"
    );
}
