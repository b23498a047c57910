//! Time as the database tells it. Leases and due times are compared across hosts, so a host
//! whose clock runs ahead would take over work still in flight elsewhere and fire timers early,
//! and one whose clock lags would hand out leases that others take over too soon. Every host
//! reads the database's clock instead: as an offset from its own, measured at start and kept
//! fresh, so reading the time costs no round trip.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::Clock;
use crate::error::EngineError;

/// The database's clock, as an offset from a local one.
pub struct DatabaseClock {
    local: Arc<dyn Clock>,
    /// Database time minus local time, in microseconds.
    offset_us: AtomicI64,
}

impl DatabaseClock {
    /// A clock reading `local` until the first [`DatabaseClock::sync`].
    pub fn new(local: Arc<dyn Clock>) -> Self {
        Self {
            local,
            offset_us: AtomicI64::new(0),
        }
    }

    /// Measures the offset: the database's time against the local time half-way through the
    /// round trip that read it.
    pub async fn sync(&self, pool: &PgPool) -> Result<(), EngineError> {
        let mut conn = pool.acquire().await?;
        let sent = self.local.now();
        let db = weft_store::clock::now(&mut conn).await?;
        let received = self.local.now();
        let local = sent + (received - sent) / 2;
        let offset = (db - local).num_microseconds().unwrap_or(0);
        self.offset_us.store(offset, Ordering::Relaxed);
        Ok(())
    }

    /// Syncs every `every` until the process ends (a local clock stepped by NTP is corrected
    /// within that time); a failed sync keeps the last offset.
    pub async fn keep_in_sync(self: Arc<Self>, pool: PgPool, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.sync(&pool).await {
                tracing::warn!("reading the database's clock failed, keeping the last offset: {e}");
            }
        }
    }
}

impl Clock for DatabaseClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = chrono::Duration::microseconds(self.offset_us.load(Ordering::Relaxed));
        let local = self.local.now();
        local.checked_add_signed(offset).unwrap_or(local)
    }
}
