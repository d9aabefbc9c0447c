//! The `tfplugin6.Provider` gRPC service: decodes each request under the schema of the type it
//! names, dispatches to the [`Provider`], [`Resource`] and [`DataSource`] traits, and encodes the
//! answer. User-facing problems travel as diagnostics with an OK status, never as gRPC errors.

use std::collections::HashMap;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::diag::Diagnostics;
use crate::pb::tfplugin6 as pb;
use crate::plan;
use crate::provider::{ApplyRequest, DataSource, Plan, PlanRequest, Provider, Resource};
use crate::schema::Schema;
use crate::value::{Type, Value};

/// The provider service, holding the provider and its types by name.
pub struct ProviderService {
    provider: Arc<dyn Provider>,
    provider_schema: Schema,
    resources: HashMap<String, (Arc<dyn Resource>, Schema)>,
    data_sources: HashMap<String, (Arc<dyn DataSource>, Schema)>,
}

impl ProviderService {
    pub fn new(provider: Arc<dyn Provider>) -> ProviderService {
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| (r.type_name().to_string(), (r.clone(), r.schema())))
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| (d.type_name().to_string(), (d.clone(), d.schema())))
            .collect();
        ProviderService {
            provider_schema: provider.schema(),
            provider,
            resources,
            data_sources,
        }
    }

    fn resource(&self, name: &str) -> Result<&(Arc<dyn Resource>, Schema), Diagnostics> {
        self.resources
            .get(name)
            .ok_or_else(|| unknown_type("resource", name))
    }

    fn data_source(&self, name: &str) -> Result<&(Arc<dyn DataSource>, Schema), Diagnostics> {
        self.data_sources
            .get(name)
            .ok_or_else(|| unknown_type("data source", name))
    }

    fn capabilities() -> pb::ServerCapabilities {
        pb::ServerCapabilities {
            plan_destroy: true,
            get_provider_schema_optional: true,
            move_resource_state: false,
        }
    }
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.error(
        format!("Unknown {kind} type {name:?}"),
        format!("This provider has no {kind} named {name:?}."),
    );
    d
}

/// Decodes a `DynamicValue`: MessagePack when present, else JSON, else null.
pub fn decode_dynamic(value: Option<&pb::DynamicValue>, ty: &Type) -> Result<Value, Diagnostics> {
    let Some(dv) = value else {
        return Ok(Value::Null);
    };
    let result = if !dv.msgpack.is_empty() {
        crate::msgpack::decode(&dv.msgpack, ty).map_err(|e| e.to_string())
    } else if !dv.json.is_empty() {
        crate::json::decode(&dv.json, ty, crate::json::UndefinedAttributes::Refuse)
            .map_err(|e| e.to_string())
    } else {
        Ok(Value::Null)
    };
    result.map_err(|message| {
        let mut d = Diagnostics::new();
        d.error("Provider could not decode a value from Terraform", message);
        d
    })
}

/// Encodes a value as MessagePack under `ty`.
pub fn encode_dynamic(value: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostics> {
    crate::msgpack::encode(value, ty)
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: vec![],
        })
        .map_err(|e| {
            let mut d = Diagnostics::new();
            d.error(
                "Provider produced a value it cannot encode (a provider bug)",
                e.to_string(),
            );
            d
        })
}

/// Refuses unknown values in a state that must be wholly known (a provider bug otherwise).
fn require_known(state: Value, what: &str, diags: &mut Diagnostics) -> Value {
    if state.is_wholly_known() {
        state
    } else {
        diags.error(
            "Provider returned unknown values (a provider bug)",
            format!("The {what} contained values that are not known; please report this."),
        );
        Value::Null
    }
}

macro_rules! try_diags {
    ($expr:expr, $diags:ident, $resp:expr) => {
        match $expr {
            Ok(v) => v,
            Err(d) => {
                $diags.extend(d);
                return Ok(Response::new($resp));
            }
        }
    };
}

#[tonic::async_trait]
impl pb::provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _request: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            diagnostics: vec![],
            data_sources: self
                .data_sources
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            functions: vec![],
            ephemeral_resources: vec![],
        }))
    }

    async fn get_provider_schema(
        &self,
        _request: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(self.provider_schema.to_pb()),
            resource_schemas: self
                .resources
                .iter()
                .map(|(k, (_, s))| (k.clone(), s.to_pb()))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(k, (_, s))| (k.clone(), s.to_pb()))
                .collect(),
            diagnostics: vec![],
            provider_meta: None,
            server_capabilities: Some(Self::capabilities()),
            functions: Default::default(),
            ephemeral_resource_schemas: Default::default(),
        }))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = request.into_inner();
        let mut diags = Diagnostics::new();
        match decode_dynamic(req.config.as_ref(), &self.provider_schema.value_type()) {
            Ok(config) => self.provider.validate(&config, &mut diags).await,
            Err(d) => diags.extend(d),
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags.to_pb(),
        }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = request.into_inner();
        let mut diags = Diagnostics::new();
        let result = self.resource(&req.type_name).and_then(|(r, s)| {
            decode_dynamic(req.config.as_ref(), &s.value_type()).map(|c| (r.clone(), c))
        });
        match result {
            Ok((resource, config)) => resource.validate(&config, &mut diags).await,
            Err(d) => diags.extend(d),
        }
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags.to_pb(),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = request.into_inner();
        let mut diags = Diagnostics::new();
        let result = self.data_source(&req.type_name).and_then(|(d, s)| {
            decode_dynamic(req.config.as_ref(), &s.value_type()).map(|c| (d.clone(), c))
        });
        match result {
            Ok((ds, config)) => ds.validate(&config, &mut diags).await,
            Err(d) => diags.extend(d),
        }
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diags.to_pb(),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "UpgradeResourceState");
        let mut diags = Diagnostics::new();
        let empty = || pb::upgrade_resource_state::Response {
            upgraded_state: None,
            diagnostics: vec![],
        };
        let (resource, schema) = try_diags!(self.resource(&req.type_name), diags, {
            let mut r = empty();
            r.diagnostics = diags.to_pb();
            r
        });
        let raw = req.raw_state.unwrap_or_default();
        let upgraded = if !raw.json.is_empty() {
            resource.upgrade_state(req.version, &raw.json, &mut diags)
        } else if !raw.flatmap.is_empty() {
            diags.error(
                format!("Cannot upgrade the state of {}", req.type_name),
                "The state is in the pre-0.12 flatmap format, which this provider does not read. Remove the resource from state and import it again.",
            );
            Value::Null
        } else {
            Value::Null
        };
        let upgraded_state = match encode_dynamic(&upgraded, &schema.value_type()) {
            Ok(dv) => Some(dv),
            Err(d) => {
                diags.extend(d);
                None
            }
        };
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: diags.to_pb(),
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = request.into_inner();
        let mut diags = Diagnostics::new();
        match decode_dynamic(req.config.as_ref(), &self.provider_schema.value_type()) {
            Ok(config) => {
                self.provider
                    .configure(&config, &req.terraform_version, &mut diags)
                    .await
            }
            Err(d) => diags.extend(d),
        }
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags.to_pb(),
        }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ReadResource");
        let mut diags = Diagnostics::new();
        let fail = |diags: &Diagnostics, state: Option<pb::DynamicValue>, private: Vec<u8>| {
            pb::read_resource::Response {
                new_state: state,
                diagnostics: diags.to_pb(),
                private,
                deferred: None,
                new_identity: None,
            }
        };
        let (resource, schema) = match self.resource(&req.type_name) {
            Ok(x) => x,
            Err(d) => {
                diags.extend(d);
                return Ok(Response::new(fail(&diags, req.current_state, req.private)));
            }
        };
        let ty = schema.value_type();
        let current = match decode_dynamic(req.current_state.as_ref(), &ty) {
            Ok(v) => v,
            Err(d) => {
                diags.extend(d);
                return Ok(Response::new(fail(&diags, req.current_state, req.private)));
            }
        };
        let new_state = resource.read(&current, &req.private, &mut diags).await;
        let new_state = require_known(new_state, "refreshed state", &mut diags);
        if diags.has_errors() && new_state.is_null() && !current.is_null() {
            // A failed read keeps the prior state: losing track of an object is worse than an error.
            return Ok(Response::new(fail(&diags, req.current_state, req.private)));
        }
        let encoded = match encode_dynamic(&new_state, &ty) {
            Ok(dv) => Some(dv),
            Err(d) => {
                diags.extend(d);
                req.current_state
            }
        };
        Ok(Response::new(fail(&diags, encoded, req.private)))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "PlanResourceChange");
        let mut diags = Diagnostics::new();
        let respond = |diags: &Diagnostics,
                       planned: Option<pb::DynamicValue>,
                       replace: Vec<pb::AttributePath>,
                       private: Vec<u8>| {
            pb::plan_resource_change::Response {
                planned_state: planned,
                requires_replace: replace,
                planned_private: private,
                diagnostics: diags.to_pb(),
                legacy_type_system: false,
                deferred: None,
                planned_identity: None,
            }
        };
        let (resource, schema) = match self.resource(&req.type_name) {
            Ok(x) => x,
            Err(d) => {
                diags.extend(d);
                return Ok(Response::new(respond(&diags, None, vec![], vec![])));
            }
        };
        let ty = schema.value_type();
        let decoded = decode_dynamic(req.prior_state.as_ref(), &ty).and_then(|prior| {
            let proposed = decode_dynamic(req.proposed_new_state.as_ref(), &ty)?;
            let config = decode_dynamic(req.config.as_ref(), &ty)?;
            Ok((prior, proposed, config))
        });
        let (prior, proposed, config) = match decoded {
            Ok(x) => x,
            Err(d) => {
                diags.extend(d);
                return Ok(Response::new(respond(&diags, None, vec![], vec![])));
            }
        };
        let generic = plan::plan(&schema.block, &prior, &proposed, &config);
        let mut planned = Plan::from_generic(generic, req.prior_private.clone());
        if !proposed.is_null() {
            let request = PlanRequest {
                prior: &prior,
                config: &config,
                prior_private: &req.prior_private,
            };
            resource.modify_plan(request, &mut planned).await;
        }
        diags.extend(std::mem::take(&mut planned.diagnostics));
        let encoded = match encode_dynamic(&planned.planned, &ty) {
            Ok(dv) => Some(dv),
            Err(d) => {
                diags.extend(d);
                None
            }
        };
        let replace = if prior.is_null() {
            vec![]
        } else {
            planned.requires_replace.iter().map(|p| p.to_pb()).collect()
        };
        Ok(Response::new(respond(
            &diags,
            encoded,
            replace,
            planned.private,
        )))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ApplyResourceChange");
        let mut diags = Diagnostics::new();
        let respond = |diags: &Diagnostics, state: Option<pb::DynamicValue>, private: Vec<u8>| {
            pb::apply_resource_change::Response {
                new_state: state,
                private,
                diagnostics: diags.to_pb(),
                legacy_type_system: false,
                new_identity: None,
            }
        };
        let (resource, schema) = match self.resource(&req.type_name) {
            Ok(x) => x,
            Err(d) => {
                diags.extend(d);
                return Ok(Response::new(respond(&diags, req.prior_state, vec![])));
            }
        };
        let ty = schema.value_type();
        let decoded = decode_dynamic(req.prior_state.as_ref(), &ty).and_then(|prior| {
            let planned = decode_dynamic(req.planned_state.as_ref(), &ty)?;
            let config = decode_dynamic(req.config.as_ref(), &ty)?;
            Ok((prior, planned, config))
        });
        let (prior, planned, config) = match decoded {
            Ok(x) => x,
            Err(d) => {
                diags.extend(d);
                return Ok(Response::new(respond(&diags, req.prior_state, vec![])));
            }
        };
        if planned.is_null() {
            resource.delete(&prior, &mut diags).await;
            // A failed delete keeps the object in state so that it is not forgotten.
            let state = if diags.has_errors() {
                req.prior_state
            } else {
                None
            };
            return Ok(Response::new(respond(&diags, state, vec![])));
        }
        let request = ApplyRequest {
            prior: &prior,
            planned: &planned,
            config: &config,
            planned_private: &req.planned_private,
        };
        let applied = if prior.is_null() {
            resource.create(request, &mut diags).await
        } else {
            resource.update(request, &mut diags).await
        };
        // The resource decides what exists: `Null` after an update means the object is gone.
        let state = require_known(applied.state, "state after apply", &mut diags);
        let encoded = match encode_dynamic(&state, &ty) {
            Ok(dv) => Some(dv),
            Err(d) => {
                diags.extend(d);
                req.prior_state
            }
        };
        Ok(Response::new(respond(&diags, encoded, applied.private)))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ImportResourceState");
        let mut diags = Diagnostics::new();
        let mut imported_resources = vec![];
        match self.resource(&req.type_name) {
            Ok((resource, schema)) => {
                let state = resource.import(&req.id, &mut diags).await;
                if !diags.has_errors() {
                    match encode_dynamic(&state, &schema.value_type()) {
                        Ok(dv) => {
                            imported_resources.push(pb::import_resource_state::ImportedResource {
                                type_name: req.type_name.clone(),
                                state: Some(dv),
                                private: vec![],
                                identity: None,
                            })
                        }
                        Err(d) => diags.extend(d),
                    }
                }
            }
            Err(d) => diags.extend(d),
        }
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources,
            diagnostics: diags.to_pb(),
            deferred: None,
        }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = request.into_inner();
        tracing::debug!(type_name = %req.type_name, "ReadDataSource");
        let mut diags = Diagnostics::new();
        let mut state = None;
        match self.data_source(&req.type_name) {
            Ok((ds, schema)) => {
                let ty = schema.value_type();
                match decode_dynamic(req.config.as_ref(), &ty) {
                    Ok(config) => {
                        // Data sources get their declared defaults as resources do in planning.
                        let config = plan::with_defaults(&schema.block, &config);
                        let value = ds.read(&config, &mut diags).await;
                        let value = require_known(value, "data source result", &mut diags);
                        if !value.is_null() {
                            match encode_dynamic(&value, &ty) {
                                Ok(dv) => state = Some(dv),
                                Err(d) => diags.extend(d),
                            }
                        }
                    }
                    Err(d) => diags.extend(d),
                }
            }
            Err(d) => diags.extend(d),
        }
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: diags.to_pb(),
            deferred: None,
        }))
    }

    async fn stop_provider(
        &self,
        _request: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!("Terraform asked the provider to stop");
        self.provider.stop().await;
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}
