use crate::bindings::xref::Host;
use crate::state::AttemptState;

impl Host for AttemptState {
    async fn get(&mut self, reference: String, system: String) -> Result<Option<String>, String> {
        let tenant = &self.grants.context.tenant;
        self.services.xref.get(tenant, &reference, &system).await
    }

    async fn put(&mut self, a: String, b: String) -> Result<(), String> {
        let tenant = &self.grants.context.tenant;
        self.services.xref.put(tenant, &a, &b).await
    }
}
