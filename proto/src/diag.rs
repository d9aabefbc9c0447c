//! Diagnostics: the errors and warnings a provider returns to Terraform, optionally anchored to
//! an attribute path so Terraform can point at the offending line of configuration.

use std::fmt;

use crate::pb::tfplugin6 as pb;

/// A path to an attribute inside a resource's value, e.g. `network[0].ip`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributePath(pub Vec<Step>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Attribute(String),
    /// A map key.
    Key(String),
    /// A list or tuple index.
    Index(i64),
}

impl AttributePath {
    pub fn root(name: &str) -> AttributePath {
        AttributePath(vec![Step::Attribute(name.to_string())])
    }
    pub fn attr(mut self, name: &str) -> AttributePath {
        self.0.push(Step::Attribute(name.to_string()));
        self
    }
    pub fn index(mut self, i: usize) -> AttributePath {
        self.0.push(Step::Index(i as i64));
        self
    }
    pub fn key(mut self, k: &str) -> AttributePath {
        self.0.push(Step::Key(k.to_string()));
        self
    }

    pub(crate) fn to_pb(&self) -> pb::AttributePath {
        use pb::attribute_path::step::Selector;
        pb::AttributePath {
            steps: self
                .0
                .iter()
                .map(|s| pb::attribute_path::Step {
                    selector: Some(match s {
                        Step::Attribute(n) => Selector::AttributeName(n.clone()),
                        Step::Key(k) => Selector::ElementKeyString(k.clone()),
                        Step::Index(i) => Selector::ElementKeyInt(*i),
                    }),
                })
                .collect(),
        }
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Attribute(n) if i == 0 => write!(f, "{n}")?,
                Step::Attribute(n) => write!(f, ".{n}")?,
                Step::Key(k) => write!(f, "[{k:?}]")?,
                Step::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub attribute: Option<AttributePath>,
}

impl Diagnostic {
    pub(crate) fn to_pb(&self) -> pb::Diagnostic {
        pb::Diagnostic {
            severity: match self.severity {
                Severity::Error => pb::diagnostic::Severity::Error as i32,
                Severity::Warning => pb::diagnostic::Severity::Warning as i32,
            },
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            attribute: self.attribute.as_ref().map(AttributePath::to_pb),
        }
    }
}

/// An ordered collection of diagnostics, filled in by the code handling one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Error, summary, detail, None);
    }

    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Warning, summary, detail, None);
    }

    /// An error about one attribute; Terraform shows it at that attribute's line.
    pub fn error_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Error, summary, detail, Some(path));
    }

    pub fn warning_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Warning, summary, detail, Some(path));
    }

    fn push(
        &mut self,
        severity: Severity,
        summary: impl Into<String>,
        detail: impl Into<String>,
        attribute: Option<AttributePath>,
    ) {
        self.0.push(Diagnostic {
            severity,
            summary: summary.into(),
            detail: detail.into(),
            attribute,
        });
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    pub(crate) fn to_pb(&self) -> Vec<pb::Diagnostic> {
        self.0.iter().map(Diagnostic::to_pb).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_terraform_addresses() {
        let p = AttributePath::root("network").index(0).attr("ip");
        assert_eq!(p.to_string(), "network[0].ip");
        assert_eq!(
            AttributePath::root("triggers").key("v").to_string(),
            "triggers[\"v\"]"
        );
    }

    #[test]
    fn attribute_errors_carry_their_path_on_the_wire() {
        let mut d = Diagnostics::new();
        d.error_at(
            AttributePath::root("memory"),
            "Invalid memory",
            "at least 16",
        );
        let wire = d.to_pb();
        assert_eq!(wire[0].severity, pb::diagnostic::Severity::Error as i32);
        assert_eq!(wire[0].attribute.as_ref().unwrap().steps.len(), 1);
        assert!(d.has_errors());
    }
}
