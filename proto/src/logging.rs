//! Logs as go-plugin reads them: one hclog JSON object per line on stderr, with `@level`,
//! `@message`, `@timestamp` and the event's fields. The level follows `TF_LOG_PROVIDER`, else
//! `TF_LOG` (TRACE, DEBUG, INFO, WARN, ERROR; JSON means TRACE); Terraform filters again on its side.

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The most verbose level to emit for a `TF_LOG`-style setting; `None` turns logging off.
pub fn level_from(setting: Option<&str>) -> Option<Level> {
    match setting.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        None | Some("") => Some(Level::WARN),
        Some("TRACE") | Some("JSON") => Some(Level::TRACE),
        Some("DEBUG") => Some(Level::DEBUG),
        Some("INFO") => Some(Level::INFO),
        Some("WARN") => Some(Level::WARN),
        Some("ERROR") => Some(Level::ERROR),
        Some("OFF") => None,
        Some(_) => Some(Level::TRACE),
    }
}

/// Installs the hclog JSON writer as the global subscriber (once; later calls do nothing).
pub fn init(own_targets: &[String]) {
    let setting = std::env::var("TF_LOG_PROVIDER")
        .ok()
        .or_else(|| std::env::var("TF_LOG").ok());
    let Some(level) = level_from(setting.as_deref()) else {
        return;
    };
    let _ = tracing_subscriber::registry()
        .with(HclogLayer::new(level, own_targets))
        .try_init();
}

struct HclogLayer {
    max_level: Level,
    /// Target prefixes whose events are the provider's own: this runtime's and the ones the
    /// provider names in [`crate::serve::ServeOptions::log_targets`].
    own_targets: Vec<String>,
}

#[derive(Default)]
struct Fields {
    message: String,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.extra.insert(field.name().to_string(), value.into());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.extra.insert(field.name().to_string(), text.into());
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.extra.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.extra.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.extra.insert(field.name().to_string(), value.into());
    }
}

/// Renders one log line (without the newline).
pub fn hclog_line(
    level: Level,
    target: &str,
    message: &str,
    extra: serde_json::Map<String, serde_json::Value>,
) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("@level".into(), level_name(level).into());
    obj.insert("@message".into(), message.into());
    obj.insert("@module".into(), target.replace("::", ".").into());
    obj.insert("@timestamp".into(), timestamp().into());
    for (k, v) in extra {
        obj.insert(k, v);
    }
    serde_json::Value::Object(obj).to_string()
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

fn timestamp() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

impl HclogLayer {
    /// Events of `own_targets` (and of this runtime) are shown at `max_level`; everything else
    /// (TLS, HTTP/2, gRPC internals) from WARN up, or at every level when `TF_LOG` asks for TRACE.
    fn new(max_level: Level, own_targets: &[String]) -> Self {
        let mut targets = vec!["tfplugin".to_string()];
        targets.extend(own_targets.iter().cloned());
        HclogLayer {
            max_level,
            own_targets: targets,
        }
    }

    fn wants(&self, metadata: &tracing::Metadata<'_>) -> bool {
        let own = self
            .own_targets
            .iter()
            .any(|t| is_target_or_child(metadata.target(), t));
        let limit = if own || self.max_level == Level::TRACE {
            self.max_level
        } else {
            self.max_level.min(Level::WARN)
        };
        *metadata.level() <= limit
    }
}

/// `target` is `prefix` itself or one of its modules (`pve::lxc` for `pve`, not `pvex`).
fn is_target_or_child(target: &str, prefix: &str) -> bool {
    target == prefix
        || target
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("::"))
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.wants(metadata)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        if !self.wants(metadata) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = hclog_line(
            *metadata.level(),
            metadata.target(),
            &fields.message,
            fields.extra,
        );
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_tf_log_names() {
        assert_eq!(level_from(Some("debug")), Some(Level::DEBUG));
        assert_eq!(level_from(Some("JSON")), Some(Level::TRACE));
        assert_eq!(level_from(Some("off")), None);
        assert_eq!(level_from(None), Some(Level::WARN));
    }

    #[test]
    fn lines_are_hclog_json() {
        let mut extra = serde_json::Map::new();
        extra.insert("ct_id".into(), 101.into());
        let line = hclog_line(Level::WARN, "ralf::lxc", "hello", extra);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["@level"], "warn");
        assert_eq!(v["@message"], "hello");
        assert_eq!(v["ct_id"], 101);
        assert!(v["@timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
