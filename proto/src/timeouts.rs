//! Operation timeouts, as terraform-plugin-framework-timeouts does them
//! (`hashicorp/terraform-plugin-framework-timeouts`, `resource/timeouts/timeouts.go`): a
//! `timeouts` block with one optional duration string per operation (`create = "10m"`), checked
//! at plan time at its own attribute path and parsed once into [`Timeouts`].
//!
//! Durations are written as Go's `time.ParseDuration` reads them: decimal numbers with a unit
//! each, `ns`, `us`, `ms`, `s`, `m`, `h` (`"90s"`, `"1h30m"`, `"1.5h"`); zero and negative
//! durations are refused. This module knows nothing about any resource.

use std::time::Duration;

use crate::diag::{AttributePath, Diagnostics};
use crate::schema::{Attribute, Block, NestedBlock, Nesting};
use crate::value::{Type, Value};

/// The block's name in the configuration.
pub const BLOCK: &str = "timeouts";

/// An operation that can have a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Read,
    Update,
    Delete,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// The `timeouts` block for `operations`, each defaulting to `default`.
pub fn block(operations: &[Operation], default: Duration) -> NestedBlock {
    let mut block = Block::new(&format!(
        "Limits of each operation, as durations like `\"10m\"` (default {} each).",
        format_duration(default)
    ));
    for op in operations {
        block = block.attr(
            Attribute::optional(op.name(), Type::String).describe(&format!(
                "Limit of the {} operation (e.g. `\"10m\"`, `\"1h30m\"`).",
                op.name()
            )),
        );
    }
    NestedBlock::new(BLOCK, Nesting::Single, block)
}

/// Plan-time check of a configuration's `timeouts` block: every value set must parse and be
/// positive. Errors are reported at `timeouts.<operation>`.
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    let block = config.get(BLOCK);
    for op in [
        Operation::Create,
        Operation::Read,
        Operation::Update,
        Operation::Delete,
    ] {
        if let Some(text) = block.get(op.name()).as_str() {
            if let Err(reason) = parse_duration(text) {
                diags.error_at(
                    AttributePath::root(BLOCK).attr(op.name()),
                    "Invalid timeout",
                    format!("timeouts.{} = {text:?}: {reason}", op.name()),
                );
            }
        }
    }
}

/// The timeouts of one resource instance, parsed once from its planned or prior value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Duration,
    pub read: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl Timeouts {
    /// The timeouts in `value` (a resource object with a `timeouts` block); unset or invalid
    /// entries (already refused by [`validate`]) take `default`.
    pub fn of(value: &Value, default: Duration) -> Timeouts {
        let block = value.get(BLOCK);
        let get = |op: Operation| {
            block
                .get(op.name())
                .as_str()
                .and_then(|text| parse_duration(text).ok())
                .unwrap_or(default)
        };
        Timeouts {
            create: get(Operation::Create),
            read: get(Operation::Read),
            update: get(Operation::Update),
            delete: get(Operation::Delete),
        }
    }
}

/// A positive Go-style duration (`"10m"`, `"1h30m"`, `"1.5s"`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "{text:?} is not a duration; write a number with a unit (ns, us, ms, s, m, h), \
             e.g. \"10m\" or \"1h30m\""
        )
    };
    let mut rest = text.trim();
    if rest.starts_with('-') {
        return Err(format!("{text:?} is negative; a timeout must be positive"));
    }
    rest = rest.strip_prefix('+').unwrap_or(rest);
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let number: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    let duration = Duration::try_from_secs_f64(total).map_err(|_| invalid())?;
    if duration.is_zero() {
        return Err(format!("{text:?} is zero; a timeout must be positive"));
    }
    Ok(duration)
}

fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(create: Option<&str>) -> Value {
        let block = block(
            &[Operation::Create, Operation::Delete],
            Duration::from_secs(600),
        );
        let mut timeouts = block.block.null_object();
        if let Some(text) = create {
            timeouts.set_attr("create", text.into());
        }
        Value::object([(BLOCK, timeouts)])
    }

    #[test]
    fn durations_read_like_gos_parse_duration() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
        assert!(parse_duration("-5m").unwrap_err().contains("negative"));
    }

    #[test]
    fn timeouts_are_parsed_once_with_the_default_for_unset_operations() {
        let timeouts = Timeouts::of(&resource(Some("2m")), Duration::from_secs(600));
        assert_eq!(timeouts.create, Duration::from_secs(120));
        assert_eq!(timeouts.delete, Duration::from_secs(600));
    }

    #[test]
    fn an_invalid_timeout_is_a_plan_error_at_its_own_path() {
        let mut diags = Diagnostics::new();
        validate(&resource(Some("soon")), &mut diags);
        let error = diags.iter().next().expect("an error");
        assert!(diags.has_errors());
        assert_eq!(
            error.attribute,
            Some(AttributePath::root("timeouts").attr("create"))
        );
    }
}
