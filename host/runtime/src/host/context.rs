use std::time::UNIX_EPOCH;

use crate::bindings::context::{Host, StepContext};
use crate::state::AttemptState;

impl Host for AttemptState {
    fn get(&mut self) -> StepContext {
        let c = &self.grants.context;
        let deadline = self
            .grants
            .deadline
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        StepContext {
            tenant: c.tenant.clone(),
            run_id: c.run_id.clone(),
            step_id: c.step_id.clone(),
            attempt: c.attempt,
            idempotency_key: c.idempotency_key.clone(),
            deadline_unix_ms: u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
        }
    }
}
