//! The traits a provider implements: one [`Provider`], and a [`Resource`] or [`DataSource`] per
//! type. The runtime decodes Terraform's requests into [`Value`]s under each type's schema, runs
//! the generic plan pipeline, and calls these; implementations never see protobuf or msgpack.

use std::sync::Arc;

use async_trait::async_trait;

use crate::diag::Diagnostics;
use crate::plan::GenericPlan;
use crate::schema::Schema;
use crate::value::Value;

/// The provider as a whole: its configuration and the types it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The `provider "..." {}` block's schema.
    fn schema(&self) -> Schema;
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;

    /// Checks the provider configuration (may hold unknown values).
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Receives the provider configuration before any resource operation of this process.
    async fn configure(&self, config: &Value, terraform_version: &str, diags: &mut Diagnostics);

    /// Terraform asked for a graceful stop (Ctrl-C): cancel in-flight work promptly.
    async fn stop(&self) {}
}

/// What a resource sees when planning: the generic plan, which it may adjust.
#[derive(Debug)]
pub struct PlanRequest<'a> {
    /// Null on create.
    pub prior: &'a Value,
    pub config: &'a Value,
    pub prior_private: &'a [u8],
}

/// The plan under construction: adjust `planned`, add replacement paths or diagnostics.
#[derive(Debug)]
pub struct Plan {
    pub planned: Value,
    pub requires_replace: Vec<crate::diag::AttributePath>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl Plan {
    pub(crate) fn from_generic(generic: GenericPlan, private: Vec<u8>) -> Plan {
        Plan {
            planned: generic.planned,
            requires_replace: generic.requires_replace,
            private,
            diagnostics: Diagnostics::new(),
        }
    }
}

/// What a resource sees when applying a create or an update.
#[derive(Debug)]
pub struct ApplyRequest<'a> {
    /// Null on create.
    pub prior: &'a Value,
    /// The planned state: unknown values are the ones apply must fill in.
    pub planned: &'a Value,
    pub config: &'a Value,
    pub planned_private: &'a [u8],
}

/// The result of an apply step. On failure, `state` should still describe whatever exists, so
/// that Terraform records it (tainted) and the next apply or destroy can clean it up; `Null`
/// means nothing was created.
#[derive(Debug)]
pub struct Applied {
    pub state: Value,
    pub private: Vec<u8>,
}

impl Applied {
    pub fn state(state: Value) -> Applied {
        Applied {
            state,
            private: Vec::new(),
        }
    }
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Plan-time checks of the configuration. Values may be unknown: check only known ones.
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Adjusts the generic plan (see [`crate::plan`]). Not called for destroy plans.
    async fn modify_plan(&self, _request: PlanRequest<'_>, _plan: &mut Plan) {}

    async fn create(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied;

    /// Returns the current state, or `Null` when the object no longer exists.
    async fn read(&self, state: &Value, private: &[u8], diags: &mut Diagnostics) -> Value;

    async fn update(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied;

    async fn delete(&self, prior: &Value, diags: &mut Diagnostics);

    /// Turns an import id into a state that `read` can complete. The default refuses import.
    async fn import(&self, id: &str, diags: &mut Diagnostics) -> Value {
        diags.error(
            format!("{} cannot be imported", self.type_name()),
            format!(
                "Import of {} is not supported (id {id:?}).",
                self.type_name()
            ),
        );
        Value::Null
    }

    /// Converts state written under schema `version` into the current schema. The default reads
    /// the stored JSON under the current schema, dropping attributes it no longer declares and
    /// leaving new ones null: right for every change that only adds or removes attributes.
    fn upgrade_state(&self, version: i64, json: &[u8], diags: &mut Diagnostics) -> Value {
        let schema = self.schema();
        if version > schema.version {
            diags.error(
                format!("State of {} is newer than this provider", self.type_name()),
                format!(
                    "The state was written with schema version {version}, but this provider knows only up to {}. Use a newer provider release.",
                    schema.version
                ),
            );
            return Value::Null;
        }
        match crate::json::decode(
            json,
            &schema.value_type(),
            crate::json::UndefinedAttributes::Ignore,
        ) {
            Ok(v) => v,
            Err(e) => {
                diags.error(
                    format!("Cannot read the stored state of {}", self.type_name()),
                    e.to_string(),
                );
                Value::Null
            }
        }
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Reads the data; the returned object must be wholly known.
    async fn read(&self, config: &Value, diags: &mut Diagnostics) -> Value;
}
