//! Retry delays: exponential backoff with deterministic jitter.

use std::time::Duration;

use sha2::{Digest, Sha256};
use weft_definition::RetryPolicy;

/// `initial * multiplier^(attempt-1)`, capped at `max`, moved by up to `jitter` either way. The
/// jitter comes from a hash of `seed`, so it is the same on every host and in every test.
pub fn backoff(policy: &RetryPolicy, attempt: i32, seed: &str) -> Duration {
    let exponent = i32::max(attempt - 1, 0);
    let base = policy.initial.as_secs_f64() * policy.multiplier.powi(exponent);
    let capped = base.min(policy.max.as_secs_f64());
    let hash = Sha256::digest(seed.as_bytes());
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&hash[..8]);
    let unit = (u64::from_le_bytes(eight) >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
    let factor = 1.0 + policy.jitter * (2.0 * unit - 1.0);
    Duration::from_secs_f64((capped * factor).clamp(0.0, policy.max.as_secs_f64() * 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            initial: Duration::from_secs(1),
            multiplier: 2.0,
            max: Duration::from_secs(60),
            jitter: 0.0,
            non_retryable: vec![],
        }
    }

    #[test]
    fn backoff_grows_geometrically_up_to_the_cap() {
        let p = policy();
        let delays: Vec<u64> = (1..=8).map(|a| backoff(&p, a, "x").as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn jitter_stays_within_its_fraction_and_is_deterministic() {
        let p = RetryPolicy {
            jitter: 0.2,
            ..policy()
        };
        for attempt in 1..6 {
            let seed = format!("run/step/{attempt}");
            let d = backoff(&p, attempt, &seed).as_secs_f64();
            let base = backoff(&policy(), attempt, &seed).as_secs_f64();
            assert!(d >= base * 0.8 && d <= base * 1.2, "{d} vs {base}");
            assert_eq!(backoff(&p, attempt, &seed), backoff(&p, attempt, &seed));
        }
    }
}
