//! Task records and UPIDs in Proxmox's format
//! (`UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`).

use serde::{Deserialize, Serialize};

use super::Cluster;

/// Whether a task still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Running,
    Stopped,
}

/// One task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    pub upid: String,
    pub node: String,
    pub pid: u32,
    pub pstart: u32,
    pub starttime: i64,
    #[serde(rename = "type")]
    pub ty: String,
    pub id: String,
    /// The effective user (`user@realm` or `user@realm!token`).
    pub user: String,
    pub status: TaskStatus,
    pub exitstatus: Option<String>,
    pub endtime: Option<i64>,
    pub log: Vec<String>,
}

/// The fields of a parsed UPID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUpid {
    pub node: String,
    pub pid: u32,
    pub pstart: u32,
    pub starttime: i64,
    pub ty: String,
    pub id: String,
    pub user: String,
}

/// Parses a UPID, or `None` where Proxmox says "unable to parse worker upid".
pub fn parse_upid(upid: &str) -> Option<ParsedUpid> {
    let rest = upid.strip_prefix("UPID:")?.strip_suffix(':')?;
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.len() != 7 {
        return None;
    }
    let plain = |s: &str| !s.contains(|c: char| c.is_whitespace() || c == '/');
    if crate::schema::check_named_format("pve-node", parts[0]).is_err()
        || !parts[4..].iter().all(|p| plain(p))
        || parts[4].is_empty()
    {
        return None;
    }
    Some(ParsedUpid {
        node: parts[0].to_string(),
        pid: u32::from_str_radix(parts[1], 16).ok()?,
        pstart: u32::from_str_radix(parts[2], 16).ok()?,
        starttime: i64::from_str_radix(parts[3], 16).ok()?,
        ty: parts[4].to_string(),
        id: parts[5].to_string(),
        user: parts[6].to_string(),
    })
}

/// Keep at most this many finished tasks.
const MAX_TASKS: usize = 5000;

impl Cluster {
    /// Registers a new running task and returns its UPID.
    pub fn new_task(&mut self, node: &str, ty: &str, id: &str, user: &str) -> String {
        self.next_pid = self.next_pid.wrapping_add(1);
        let pid = self.next_pid;
        let starttime = super::now_unix();
        let pstart = (pid.wrapping_mul(7919)) % 0x0fff_ffff + 0x1000_0000;
        let upid = format!("UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{ty}:{id}:{user}:");
        self.tasks.insert(
            upid.clone(),
            Task {
                upid: upid.clone(),
                node: node.to_string(),
                pid,
                pstart,
                starttime,
                ty: ty.to_string(),
                id: id.to_string(),
                user: user.to_string(),
                status: TaskStatus::Running,
                exitstatus: None,
                endtime: None,
                log: Vec::new(),
            },
        );
        self.task_order.push(upid.clone());
        self.prune_tasks();
        upid
    }

    fn prune_tasks(&mut self) {
        while self.task_order.len() > MAX_TASKS {
            let oldest_finished = self.task_order.iter().position(|u| {
                self.tasks
                    .get(u)
                    .is_none_or(|t| t.status == TaskStatus::Stopped)
            });
            match oldest_finished {
                Some(i) => {
                    let upid = self.task_order.remove(i);
                    self.tasks.remove(&upid);
                }
                None => break,
            }
        }
    }

    pub fn task_log(&mut self, upid: &str, line: impl Into<String>) {
        if let Some(task) = self.tasks.get_mut(upid) {
            task.log.push(line.into());
        }
    }

    /// Marks a task finished: `Ok` ends with `TASK OK`, `Err(msg)` with `TASK ERROR: msg`.
    pub fn finish_task(&mut self, upid: &str, result: Result<(), String>) {
        if let Some(task) = self.tasks.get_mut(upid) {
            let exitstatus = match result {
                Ok(()) => {
                    task.log.push("TASK OK".to_string());
                    "OK".to_string()
                }
                Err(msg) => {
                    for line in msg.lines() {
                        task.log.push(line.to_string());
                    }
                    let first = msg.lines().last().unwrap_or("").to_string();
                    task.log.push(format!("TASK ERROR: {first}"));
                    first
                }
            };
            task.status = TaskStatus::Stopped;
            task.exitstatus = Some(exitstatus);
            task.endtime = Some(super::now_unix());
        }
    }

    /// Tasks that were running when the state was saved cannot continue after a restart;
    /// they end like Proxmox tasks whose worker vanished.
    pub fn abandon_running_tasks(&mut self) {
        for task in self.tasks.values_mut() {
            if task.status == TaskStatus::Running {
                task.status = TaskStatus::Stopped;
                task.exitstatus = Some("unexpected status".to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upids_have_proxmox_shape_and_parse_back() {
        let mut cluster = Cluster::new(vec!["pve".into()]);
        let upid = cluster.new_task("pve", "vzcreate", "105", "root@pam!ralf");
        assert!(upid.starts_with("UPID:pve:"));
        assert!(upid.ends_with(":vzcreate:105:root@pam!ralf:"));
        let parsed = parse_upid(&upid).expect("parses");
        assert_eq!(parsed.ty, "vzcreate");
        assert_eq!(parsed.user, "root@pam!ralf");
        assert!(parse_upid("UPID:bad").is_none());
    }
}
