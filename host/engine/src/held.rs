//! The items whose leases this engine holds, which its heartbeat extends. Counted, not a set:
//! if the heartbeat fails while claims succeed, this engine can claim its own expired item again
//! and run two attempts of it at once; the first to finish must not stop the heartbeat for the
//! second, or the second's lease runs out and a third attempt starts elsewhere.

use std::collections::HashMap;
use std::sync::Mutex;

/// Items held, each with how many attempts of it this engine runs.
#[derive(Debug, Default)]
pub(crate) struct Held(Mutex<HashMap<i64, u32>>);

impl Held {
    /// An attempt of item `id` starts.
    pub fn hold(&self, id: i64) {
        if let Ok(mut h) = self.0.lock() {
            *h.entry(id).or_default() += 1;
        }
    }

    /// An attempt of item `id` ended.
    pub fn release(&self, id: i64) {
        if let Ok(mut h) = self.0.lock()
            && let Some(n) = h.get_mut(&id)
        {
            *n -= 1;
            if *n == 0 {
                h.remove(&id);
            }
        }
    }

    /// The items held now.
    pub fn ids(&self) -> Vec<i64> {
        self.0
            .lock()
            .map(|h| h.keys().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_held_twice_stays_held_until_both_attempts_end() {
        let held = Held::default();
        held.hold(7);
        held.hold(7);
        held.release(7);
        assert_eq!(
            held.ids(),
            vec![7],
            "the second attempt still needs its lease"
        );
        held.release(7);
        assert!(held.ids().is_empty());
        held.release(7);
        assert!(held.ids().is_empty(), "a stray release changes nothing");
    }
}
