//! Backoff between retries (Bifrost §5.2): exponential from `retry_backoff_initial_ms`, capped
//! at `retry_backoff_max_ms`, with ±20 % jitter so that clients retrying together spread out.

use std::time::Duration;

use rand::Rng;

/// The wait before retry number `attempt` (0 for the first retry).
pub fn backoff(attempt: u32, initial_ms: u64, max_ms: u64) -> Duration {
    let exp = initial_ms.saturating_mul(1u64.checked_shl(attempt.min(32)).unwrap_or(u64::MAX));
    let base = exp.min(max_ms) as f64;
    let jittered = base * rand::rng().random_range(0.8..=1.2);
    Duration::from_millis(jittered.min(max_ms as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps_with_jitter() {
        for _ in 0..100 {
            let first = backoff(0, 100, 1000).as_millis();
            assert!((80..=120).contains(&first), "{first}");
            let third = backoff(2, 100, 1000).as_millis();
            assert!((320..=480).contains(&third), "{third}");
            assert!(backoff(20, 100, 1000).as_millis() <= 1000);
        }
    }
}
