//! The dependency graph of units: edges from `dependency` and `dependencies` blocks, cycle
//! detection that names the cycle, waves (the earliest round in which each unit could start),
//! and renderings as text, DOT and Mermaid. Edges point from a unit to its dependency, as in
//! `terragrunt dag graph`. This module knows nothing about terraform or scheduling.

use crate::config::PartialConfig;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One unit in the graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// Path relative to the working dir (`.` for the working dir itself); may start with `..`
    /// for external units.
    pub name: String,
    pub dir: PathBuf,
    /// Indices of the units this one depends on, sorted.
    pub deps: Vec<usize>,
    /// Outside the working dir: read for outputs, never run.
    pub external: bool,
}

/// The graph of all discovered units plus the external units they reference.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
}

/// Graph construction errors.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("Found a dependency cycle between modules: {}; break it by removing one of these dependency or dependencies entries", .0.join(" -> "))]
    Cycle(Vec<String>),
}

impl Graph {
    /// Builds the graph from first-pass configs of the discovered units.
    pub fn build(working_dir: &Path, units: &[PartialConfig]) -> Result<Graph, GraphError> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut index: HashMap<PathBuf, usize> = HashMap::new();
        for u in units {
            index.insert(u.unit_dir.clone(), nodes.len());
            nodes.push(Node {
                name: crate::discover::rel_path(working_dir, &u.unit_dir),
                dir: u.unit_dir.clone(),
                deps: Vec::new(),
                external: false,
            });
        }
        for (i, u) in units.iter().enumerate() {
            let mut deps = Vec::new();
            for d in u.all_dependency_dirs() {
                let j = match index.get(&d) {
                    Some(j) => *j,
                    None => {
                        let j = nodes.len();
                        index.insert(d.clone(), j);
                        nodes.push(Node {
                            name: crate::discover::rel_path(working_dir, &d),
                            dir: d.clone(),
                            deps: Vec::new(),
                            external: true,
                        });
                        j
                    }
                };
                deps.push(j);
            }
            deps.sort();
            deps.dedup();
            nodes[i].deps = deps;
        }
        let graph = Graph { nodes };
        graph.check_cycles()?;
        Ok(graph)
    }

    fn check_cycles(&self) -> Result<(), GraphError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let mut marks = vec![Mark::New; self.nodes.len()];
        let mut stack: Vec<usize> = Vec::new();
        fn visit(
            g: &Graph,
            i: usize,
            marks: &mut Vec<Mark>,
            stack: &mut Vec<usize>,
        ) -> Result<(), GraphError> {
            marks[i] = Mark::Active;
            stack.push(i);
            for &d in &g.nodes[i].deps {
                match marks[d] {
                    Mark::Active => {
                        let start = stack.iter().position(|&s| s == d).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[start..]
                            .iter()
                            .map(|&s| g.nodes[s].name.clone())
                            .collect();
                        cycle.push(g.nodes[d].name.clone());
                        return Err(GraphError::Cycle(cycle));
                    }
                    Mark::New => visit(g, d, marks, stack)?,
                    Mark::Done => {}
                }
            }
            stack.pop();
            marks[i] = Mark::Done;
            Ok(())
        }
        for i in 0..self.nodes.len() {
            if marks[i] == Mark::New {
                visit(self, i, &mut marks, &mut stack)?;
            }
        }
        Ok(())
    }

    /// Index of the unit in `dir`.
    /// The longest chain of dependencies weighted by each unit's duration (units without a
    /// duration weigh nothing): the least wall time any scheduler could reach. Returns its
    /// length and the units along it, dependencies first.
    pub fn critical_path(
        &self,
        durations: &std::collections::HashMap<String, std::time::Duration>,
    ) -> (std::time::Duration, Vec<String>) {
        fn longest(
            g: &Graph,
            i: usize,
            durations: &std::collections::HashMap<String, std::time::Duration>,
            memo: &mut Vec<Option<(std::time::Duration, Vec<usize>)>>,
        ) -> (std::time::Duration, Vec<usize>) {
            if let Some(done) = &memo[i] {
                return done.clone();
            }
            let (mut best, mut chain) = (std::time::Duration::ZERO, Vec::new());
            for &d in &g.nodes[i].deps {
                let (len, path) = longest(g, d, durations, memo);
                if len > best || chain.is_empty() {
                    (best, chain) = (len, path);
                }
            }
            let own = durations.get(&g.nodes[i].name).copied().unwrap_or_default();
            chain.push(i);
            let result = (best + own, chain);
            memo[i] = Some(result.clone());
            result
        }
        let mut memo = vec![None; self.nodes.len()];
        let best = (0..self.nodes.len())
            .map(|i| longest(self, i, durations, &mut memo))
            .max_by_key(|(len, _)| *len)
            .unwrap_or_default();
        (
            best.0,
            best.1
                .into_iter()
                .map(|i| self.nodes[i].name.clone())
                .collect(),
        )
    }

    pub fn index_of(&self, dir: &Path) -> Option<usize> {
        self.nodes.iter().position(|n| n.dir == dir)
    }

    /// For each node, the nodes that depend on it.
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for &d in &n.deps {
                out[d].push(i);
            }
        }
        out
    }

    /// Waves of the given nodes (in apply order; `reverse` for destroy order): wave 0 holds units
    /// with no dependency among `members`, wave k units whose deepest dependency is in wave k-1.
    pub fn waves(&self, members: &[usize], reverse: bool) -> Vec<Vec<usize>> {
        let member = |i: usize| members.contains(&i);
        let dependents = self.dependents();
        let mut level: HashMap<usize, usize> = HashMap::new();
        fn depth(
            i: usize,
            edges: &dyn Fn(usize) -> Vec<usize>,
            level: &mut HashMap<usize, usize>,
        ) -> usize {
            if let Some(l) = level.get(&i) {
                return *l;
            }
            let l = edges(i)
                .into_iter()
                .map(|d| depth(d, edges, level) + 1)
                .max()
                .unwrap_or(0);
            level.insert(i, l);
            l
        }
        let edges = |i: usize| -> Vec<usize> {
            let list = if reverse {
                &dependents[i]
            } else {
                &self.nodes[i].deps
            };
            list.iter().copied().filter(|&d| member(d)).collect()
        };
        let mut waves: Vec<Vec<usize>> = Vec::new();
        for &i in members {
            let l = depth(i, &edges, &mut level);
            if waves.len() <= l {
                waves.resize(l + 1, Vec::new());
            }
            waves[l].push(i);
        }
        for w in waves.iter_mut() {
            w.sort_by(|a, b| self.nodes[*a].name.cmp(&self.nodes[*b].name));
        }
        waves
    }

    /// The non-external nodes.
    pub fn internal(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| !self.nodes[i].external)
            .collect()
    }

    /// Text: the waves, then each unit with its dependencies.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for (k, wave) in self.waves(&self.internal(), false).iter().enumerate() {
            let names: Vec<&str> = wave.iter().map(|&i| self.nodes[i].name.as_str()).collect();
            out.push_str(&format!("Wave {}: {}\n", k + 1, names.join(", ")));
        }
        out.push('\n');
        for n in &self.nodes {
            let deps: Vec<&str> = n
                .deps
                .iter()
                .map(|&d| self.nodes[d].name.as_str())
                .collect();
            let ext = if n.external { " (external)" } else { "" };
            if deps.is_empty() {
                out.push_str(&format!("{}{ext}\n", n.name));
            } else {
                out.push_str(&format!("{}{ext} -> {}\n", n.name, deps.join(", ")));
            }
        }
        out
    }

    /// Graphviz DOT, like `terragrunt dag graph`.
    pub fn render_dot(&self) -> String {
        let mut out = String::from("digraph {\n");
        for n in &self.nodes {
            let style = if n.external { " [style=dashed]" } else { "" };
            out.push_str(&format!("\t{:?}{style} ;\n", n.name));
            for &d in &n.deps {
                out.push_str(&format!("\t{:?} -> {:?};\n", n.name, self.nodes[d].name));
            }
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid flowchart, one subgraph per wave.
    pub fn render_mermaid(&self) -> String {
        let mut out = String::from("flowchart TD\n");
        let id = |i: usize| format!("u{i}");
        let label = |i: usize| self.nodes[i].name.replace('"', "'");
        for (k, wave) in self.waves(&self.internal(), false).iter().enumerate() {
            out.push_str(&format!("  subgraph wave{} [\"Wave {}\"]\n", k + 1, k + 1));
            for &i in wave {
                out.push_str(&format!("    {}[\"{}\"]\n", id(i), label(i)));
            }
            out.push_str("  end\n");
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if n.external {
                out.push_str(&format!("  {}[\"{} (external)\"]\n", id(i), label(i)));
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for &d in &n.deps {
                out.push_str(&format!("  {} --> {}\n", id(i), id(d)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(dir: &str, deps: &[&str]) -> PartialConfig {
        PartialConfig {
            unit_dir: PathBuf::from(dir),
            dependencies: Vec::new(),
            dependency_paths: deps.iter().map(PathBuf::from).collect(),
            source: None,
            remote_state: None,
            included_files: Vec::new(),
            exclude: None,
        }
    }

    #[test]
    fn a_cycle_is_reported_with_every_unit_on_it() {
        let units = [
            unit("/w/a", &["/w/b"]),
            unit("/w/b", &["/w/c"]),
            unit("/w/c", &["/w/a"]),
        ];
        let err = Graph::build(Path::new("/w"), &units).expect_err("cycle must be refused");
        assert_eq!(
            err.to_string().split(';').next(),
            Some("Found a dependency cycle between modules: a -> b -> c -> a")
        );
    }

    #[test]
    fn waves_follow_the_longest_dependency_chain_and_reverse_for_destroy() {
        let units = [
            unit("/w/a", &[]),
            unit("/w/b", &["/w/a"]),
            unit("/w/c", &["/w/a", "/w/b"]),
        ];
        let g = Graph::build(Path::new("/w"), &units).expect("acyclic");
        assert_eq!(g.waves(&[0, 1, 2], false), vec![vec![0], vec![1], vec![2]]);
        assert_eq!(g.waves(&[0, 1, 2], true), vec![vec![2], vec![1], vec![0]]);
        assert!(g
            .render_text()
            .starts_with("Wave 1: a\nWave 2: b\nWave 3: c\n"));
    }
}

#[cfg(test)]
mod critical_path_tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    fn node(name: &str, deps: &[usize]) -> Node {
        Node {
            name: name.into(),
            dir: PathBuf::from(name),
            deps: deps.to_vec(),
            external: false,
        }
    }

    #[test]
    fn the_critical_path_is_the_heaviest_dependency_chain() {
        // db <- app <- web, and a slow but independent batch unit.
        let g = Graph {
            nodes: vec![
                node("db", &[]),
                node("app", &[0]),
                node("web", &[1]),
                node("batch", &[]),
            ],
        };
        let d: HashMap<String, Duration> = [("db", 3), ("app", 2), ("web", 1), ("batch", 5)]
            .iter()
            .map(|(n, s)| (n.to_string(), Duration::from_secs(*s)))
            .collect();
        let (len, chain) = g.critical_path(&d);
        assert_eq!(len, Duration::from_secs(6));
        assert_eq!(chain, ["db", "app", "web"]);
    }
}
