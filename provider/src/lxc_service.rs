//! `ralf_lxc_service` (being written).

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{Applied, ApplyRequest, Attribute, Block, Diagnostics, Resource, Schema, Type, Value};

use crate::provider::ProviderState;

pub struct LxcServiceResource {
    #[allow(dead_code)]
    state: Arc<ProviderState>,
}

impl LxcServiceResource {
    pub fn new(state: Arc<ProviderState>) -> LxcServiceResource {
        LxcServiceResource { state }
    }
}

#[async_trait]
impl Resource for LxcServiceResource {
    fn type_name(&self) -> &'static str {
        "ralf_lxc_service"
    }
    fn schema(&self) -> Schema {
        Schema::new(0, Block::new("").attr(Attribute::computed("id", Type::String)))
    }
    async fn create(&self, _request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied {
        diags.error("not implemented", "");
        Applied::state(Value::Null)
    }
    async fn read(&self, state: &Value, _private: &[u8], _diags: &mut Diagnostics) -> Value {
        state.clone()
    }
    async fn update(&self, request: ApplyRequest<'_>, _diags: &mut Diagnostics) -> Applied {
        Applied::state(request.prior.clone())
    }
    async fn delete(&self, _prior: &Value, _diags: &mut Diagnostics) {}
}
