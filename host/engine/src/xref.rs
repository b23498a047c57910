//! The store's cross-references served to plugins: the runtime's [`XrefStore`] over
//! [`PgXref`]. The adapter lives here because the store does not depend on the runtime.

use futures_util::future::BoxFuture;
use weft_runtime::XrefStore;
use weft_runtime::xref_ref::XrefError;
use weft_store::PgXref;

/// [`PgXref`] as the runtime's [`XrefStore`].
pub struct StoreXref(PgXref);

impl From<PgXref> for StoreXref {
    fn from(xref: PgXref) -> Self {
        Self(xref)
    }
}

impl XrefStore for StoreXref {
    fn get<'a>(
        &'a self,
        tenant: &'a str,
        reference: &'a str,
        system: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, XrefError>> {
        Box::pin(self.0.get(tenant, reference, system))
    }

    fn put<'a>(
        &'a self,
        tenant: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> BoxFuture<'a, Result<(), XrefError>> {
        Box::pin(self.0.put(tenant, a, b))
    }

    fn unlink<'a>(
        &'a self,
        tenant: &'a str,
        a: &'a str,
        b: &'a str,
    ) -> BoxFuture<'a, Result<bool, XrefError>> {
        Box::pin(self.0.unlink(tenant, a, b))
    }
}
