//! The xref import: each call counted against `max_xref_calls` and its arguments checked (form,
//! length caps) before the store is touched, so a looping or careless plugin costs neither
//! database connections nor stored junk.

use weft_plugin_sdk::xref::{self as refs, XrefError};

use crate::bindings::xref::{self, Host, InvalidArgument};
use crate::state::AttemptState;

impl Host for AttemptState {
    async fn get(
        &mut self,
        reference: String,
        system: String,
    ) -> Result<Option<String>, xref::XrefError> {
        self.count_xref_call()?;
        refs::check_get(&reference, &system).map_err(to_wit)?;
        let tenant = &self.grants.context.tenant;
        let store = &self.services.xref;
        store.get(tenant, &reference, &system).await.map_err(to_wit)
    }

    async fn put(&mut self, a: String, b: String) -> Result<(), xref::XrefError> {
        self.count_xref_call()?;
        refs::check_link(&a, &b).map_err(to_wit)?;
        let tenant = &self.grants.context.tenant;
        self.services.xref.put(tenant, &a, &b).await.map_err(to_wit)
    }

    async fn unlink(&mut self, a: String, b: String) -> Result<bool, xref::XrefError> {
        self.count_xref_call()?;
        refs::check_link(&a, &b).map_err(to_wit)?;
        let tenant = &self.grants.context.tenant;
        self.services
            .xref
            .unlink(tenant, &a, &b)
            .await
            .map_err(to_wit)
    }
}

impl AttemptState {
    /// Counts one call; past the limit the call is refused without touching the store.
    fn count_xref_call(&mut self) -> Result<(), xref::XrefError> {
        self.xref_calls = self.xref_calls.saturating_add(1);
        if self.xref_calls > self.limits.max_xref_calls {
            return Err(xref::XrefError::TooManyCalls(self.limits.max_xref_calls));
        }
        Ok(())
    }
}

fn to_wit(e: XrefError) -> xref::XrefError {
    match e {
        XrefError::Invalid { argument, message } => {
            xref::XrefError::Invalid(InvalidArgument { argument, message })
        }
        XrefError::Unavailable(m) => xref::XrefError::Unavailable(m),
        XrefError::TooManyCalls(n) => xref::XrefError::TooManyCalls(n),
    }
}
