//! The `tfplugin6.Provider` service as Terraform calls it, with a fake provider: what reaches
//! the traits, and what goes back on the wire, on the paths that are easy to get wrong.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::pb::tfplugin6 as pb;
use tfplugin::pb::tfplugin6::provider_server::Provider as _;
use tfplugin::server::{decode_dynamic, encode_dynamic, ProviderService};
use tfplugin::{
    Applied, ApplyRequest, Attribute, Block, DataSource, Diagnostics, Provider, Resource, Schema,
    Type, Value,
};
use tonic::Request;

fn thing_schema() -> Schema {
    Schema::new(
        1,
        Block::new("")
            .attr(Attribute::required("name", Type::String))
            .attr(Attribute::with_default("size", Type::Number, 8i64)),
    )
}

/// A resource whose update finds the object gone.
struct Vanishing;

#[async_trait]
impl Resource for Vanishing {
    fn type_name(&self) -> &'static str {
        "test_thing"
    }
    fn schema(&self) -> Schema {
        thing_schema()
    }
    async fn create(&self, r: ApplyRequest<'_>, _d: &mut Diagnostics) -> Applied {
        Applied::state(r.planned.clone())
    }
    async fn read(&self, s: &Value, _p: &[u8], _d: &mut Diagnostics) -> Value {
        s.clone()
    }
    async fn update(&self, _r: ApplyRequest<'_>, d: &mut Diagnostics) -> Applied {
        d.error("gone", "deleted outside Terraform during this run");
        Applied::state(Value::Null)
    }
    async fn delete(&self, _p: &Value, _d: &mut Diagnostics) {}
}

/// A resource whose refresh fails (the API is down) and that returns nothing.
struct Unreachable;

#[async_trait]
impl Resource for Unreachable {
    fn type_name(&self) -> &'static str {
        "test_unreachable"
    }
    fn schema(&self) -> Schema {
        thing_schema()
    }
    async fn create(&self, r: ApplyRequest<'_>, _d: &mut Diagnostics) -> Applied {
        Applied::state(r.planned.clone())
    }
    async fn read(&self, _s: &Value, _p: &[u8], d: &mut Diagnostics) -> Value {
        d.error("API unreachable", "connection refused");
        Value::Null
    }
    async fn update(&self, r: ApplyRequest<'_>, _d: &mut Diagnostics) -> Applied {
        Applied::state(r.planned.clone())
    }
    async fn delete(&self, _p: &Value, _d: &mut Diagnostics) {}
}

/// A data source that returns the configuration it was given.
struct Echo;

#[async_trait]
impl DataSource for Echo {
    fn type_name(&self) -> &'static str {
        "test_thing"
    }
    fn schema(&self) -> Schema {
        thing_schema()
    }
    async fn read(&self, config: &Value, _d: &mut Diagnostics) -> Value {
        config.clone()
    }
}

struct Fake;

#[async_trait]
impl Provider for Fake {
    fn schema(&self) -> Schema {
        Schema::new(0, Block::new(""))
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Vanishing), Arc::new(Unreachable)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(Echo)]
    }
    async fn configure(&self, _c: &Value, _v: &str, _d: &mut Diagnostics) {}
}

fn service() -> ProviderService {
    ProviderService::new(Arc::new(Fake))
}

fn thing(name: &str, size: Option<i64>) -> Value {
    Value::object([
        ("name", Value::string(name)),
        ("size", size.map(Value::int).unwrap_or(Value::Null)),
    ])
}

fn dv(v: &Value) -> Option<pb::DynamicValue> {
    Some(encode_dynamic(v, &thing_schema().value_type()).unwrap())
}

#[tokio::test]
async fn an_update_that_finds_the_object_gone_returns_null_state_with_the_error() {
    let prior = thing("a", Some(8));
    let planned = thing("b", Some(8));
    let resp = service()
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: "test_thing".into(),
            prior_state: dv(&prior),
            planned_state: dv(&planned),
            config: dv(&thing("b", None)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics[0].summary, "gone");
    let state = decode_dynamic(resp.new_state.as_ref(), &thing_schema().value_type()).unwrap();
    assert_eq!(
        state,
        Value::Null,
        "the runtime must not resurrect the prior state"
    );
}

#[tokio::test]
async fn a_data_source_reads_with_its_declared_defaults() {
    let resp = service()
        .read_data_source(Request::new(pb::read_data_source::Request {
            type_name: "test_thing".into(),
            config: dv(&thing("a", None)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let state = decode_dynamic(resp.state.as_ref(), &thing_schema().value_type()).unwrap();
    assert_eq!(state.get("size"), &Value::int(8));
}

#[tokio::test]
async fn state_from_a_newer_schema_version_is_refused_with_what_to_do() {
    let resp = service()
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "test_thing".into(),
            version: 2,
            raw_state: Some(pb::RawState {
                json: br#"{"name":"a","size":8}"#.to_vec(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        resp.diagnostics[0]
            .detail
            .contains("Use a newer provider release"),
        "{:?}",
        resp.diagnostics
    );
}

#[tokio::test]
async fn state_from_an_older_schema_drops_removed_attributes() {
    let resp = service()
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "test_thing".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: br#"{"name":"a","retired":true}"#.to_vec(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = decode_dynamic(resp.upgraded_state.as_ref(), &thing_schema().value_type()).unwrap();
    assert_eq!(state, thing("a", None));
}

#[tokio::test]
async fn an_unknown_type_is_a_diagnostic_not_a_grpc_error() {
    let resp = service()
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: "test_nope".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics[0].summary.contains("test_nope"));
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_object_in_state() {
    let current = thing("a", Some(8));
    let resp = service()
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "test_unreachable".into(),
            current_state: dv(&current),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics[0].summary, "API unreachable");
    let state = decode_dynamic(resp.new_state.as_ref(), &thing_schema().value_type()).unwrap();
    assert_eq!(
        state, current,
        "an error must not make Terraform forget the object"
    );
}
