//! Usage counters of budgets and rate limits: atomics only, so the request path never locks.
//!
//! A budget counts in nano-USD. `used` is what is checked against the limit: settled spend
//! plus the reservations of requests still in flight. A request reserves its estimated cost
//! with one compare-and-swap that fails when the reservation would pass the limit, so
//! concurrent requests cannot overspend by more than what one request costs above its
//! estimate; it settles with the real cost when it ends. `spent` is settled spend alone.
//!
//! Windows are reset by whoever notices first that one ended (a request, or the background
//! task): the compare-and-swap on the window's start makes that happen once.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Nano-USD per USD.
pub const NANOS_PER_USD: f64 = 1e9;

/// USD to nano-USD, rounded; negative and non-finite amounts are 0.
pub fn to_nanos(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        // Saturates at u64::MAX (float-to-int `as` casts saturate).
        (usd * NANOS_PER_USD).round() as u64
    } else {
        0
    }
}

/// Nano-USD to USD.
pub fn to_usd(nanos: u64) -> f64 {
    nanos as f64 / NANOS_PER_USD
}

/// A budget's counter.
#[derive(Debug, Default)]
pub struct BudgetCounter {
    used: AtomicU64,
    spent: AtomicU64,
    last_reset: AtomicI64,
    dirty: AtomicBool,
}

impl BudgetCounter {
    /// A counter with this settled spend, in a window that began at `last_reset` (unix ms).
    pub fn new(spent: u64, last_reset: i64) -> Self {
        Self {
            used: AtomicU64::new(spent),
            spent: AtomicU64::new(spent),
            last_reset: AtomicI64::new(last_reset),
            dirty: AtomicBool::new(false),
        }
    }

    /// Settled spend in nano-USD.
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Acquire)
    }

    /// Spend plus in-flight reservations.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// When the current window began (unix ms).
    pub fn last_reset(&self) -> i64 {
        self.last_reset.load(Ordering::Acquire)
    }

    /// Whether `amount` more would fit under `limit` (and the budget is not used up).
    pub fn fits(&self, amount: u64, limit: u64) -> bool {
        let used = self.used();
        used < limit && used.saturating_add(amount) <= limit
    }

    /// Reserves `amount` if it fits under `limit`; on refusal returns what is left.
    pub fn reserve(&self, amount: u64, limit: u64) -> Result<(), u64> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < limit && used.saturating_add(amount) <= limit)
                    .then(|| used.saturating_add(amount))
            })
            .map(|_| ())
            .map_err(|used| limit.saturating_sub(used))
    }

    /// Gives back a reservation that was not used.
    pub fn release(&self, amount: u64) {
        saturating_sub(&self.used, amount);
    }

    /// Ends a reservation of `reserved` with a real cost of `actual`.
    pub fn settle(&self, reserved: u64, actual: u64) {
        if actual > 0 {
            self.spent.fetch_add(actual, Ordering::AcqRel);
            self.used.fetch_add(actual, Ordering::AcqRel);
            self.dirty.store(true, Ordering::Release);
        }
        self.release(reserved);
    }

    /// Starts a new window at `start` if the current one ended by `now` (`end` gives a
    /// window's end from its start). Returns whether this call reset it.
    pub fn reset_if_due(&self, now: i64, end: impl Fn(i64) -> i64, start: i64) -> bool {
        let last = self.last_reset();
        if now < end(last) {
            return false;
        }
        if self
            .last_reset
            .compare_exchange(last, start, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        let spent = self.spent.swap(0, Ordering::AcqRel);
        saturating_sub(&self.used, spent);
        self.dirty.store(true, Ordering::Release);
        true
    }

    /// Clears and returns the dirty flag (set by every change that must be persisted).
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }
}

/// A rate limit's counters: requests and tokens, each in its own window.
#[derive(Debug, Default)]
pub struct RateCounter {
    requests: AtomicU64,
    tokens: AtomicU64,
    request_reset: AtomicI64,
    token_reset: AtomicI64,
    dirty: AtomicBool,
}

impl RateCounter {
    /// A counter restored from its persisted values.
    pub fn new(requests: u64, request_reset: i64, tokens: u64, token_reset: i64) -> Self {
        Self {
            requests: AtomicU64::new(requests),
            tokens: AtomicU64::new(tokens),
            request_reset: AtomicI64::new(request_reset),
            token_reset: AtomicI64::new(token_reset),
            dirty: AtomicBool::new(false),
        }
    }

    /// Requests in the current window.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Acquire)
    }

    /// Tokens in the current window.
    pub fn tokens(&self) -> u64 {
        self.tokens.load(Ordering::Acquire)
    }

    /// Start of the request window.
    pub fn request_reset(&self) -> i64 {
        self.request_reset.load(Ordering::Acquire)
    }

    /// Start of the token window.
    pub fn token_reset(&self) -> i64 {
        self.token_reset.load(Ordering::Acquire)
    }

    /// Counts one request if fewer than `max` were made in the window.
    pub fn try_request(&self, max: u64) -> bool {
        let ok = self
            .requests
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok();
        if ok {
            self.dirty.store(true, Ordering::Release);
        }
        ok
    }

    /// Takes back a request counted by [`try_request`](Self::try_request) for a request that
    /// was then refused elsewhere.
    pub fn undo_request(&self) {
        saturating_sub(&self.requests, 1);
    }

    /// Adds a finished request's tokens.
    pub fn add_tokens(&self, tokens: u64) {
        if tokens > 0 {
            self.tokens.fetch_add(tokens, Ordering::AcqRel);
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// Resets the request window if it ended; see [`BudgetCounter::reset_if_due`].
    pub fn reset_requests_if_due(&self, now: i64, end: impl Fn(i64) -> i64) -> bool {
        reset_window(&self.request_reset, &self.requests, &self.dirty, now, end)
    }

    /// Resets the token window if it ended.
    pub fn reset_tokens_if_due(&self, now: i64, end: impl Fn(i64) -> i64) -> bool {
        reset_window(&self.token_reset, &self.tokens, &self.dirty, now, end)
    }

    /// Clears and returns the dirty flag.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }
}

fn reset_window(
    start: &AtomicI64,
    count: &AtomicU64,
    dirty: &AtomicBool,
    now: i64,
    end: impl Fn(i64) -> i64,
) -> bool {
    let last = start.load(Ordering::Acquire);
    if now < end(last) {
        return false;
    }
    if start
        .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return false;
    }
    count.store(0, Ordering::Release);
    dirty.store(true, Ordering::Release);
    true
}

fn saturating_sub(cell: &AtomicU64, amount: u64) {
    if amount == 0 {
        return;
    }
    let _ = cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
        Some(v.saturating_sub(amount))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn reservations_never_pass_the_limit() {
        let b = BudgetCounter::new(0, 0);
        assert!(b.reserve(60, 100).is_ok());
        assert_eq!(b.reserve(50, 100), Err(40), "60 + 50 > 100");
        assert!(b.reserve(40, 100).is_ok());
        assert_eq!(
            b.reserve(0, 100),
            Err(0),
            "a used-up budget refuses even free requests"
        );
        b.settle(60, 30);
        b.settle(40, 0);
        assert_eq!((b.spent(), b.used()), (30, 30));
        assert!(b.take_dirty());
        assert!(!b.take_dirty());
    }

    #[test]
    fn concurrent_reservations_respect_the_limit() {
        let b = Arc::new(BudgetCounter::new(0, 0));
        let admitted = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (b, admitted) = (Arc::clone(&b), Arc::clone(&admitted));
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        if b.reserve(7, 10_000).is_ok() {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(admitted.load(Ordering::Relaxed), 10_000 / 7);
        assert!(b.used() <= 10_000);
    }

    #[test]
    fn windows_reset_once_and_keep_reservations() {
        let b = BudgetCounter::new(500, 1000);
        assert!(b.reserve(100, 10_000).is_ok());
        let end = |start: i64| start + 60_000;
        assert!(!b.reset_if_due(30_000, end, 30_000), "window not over");
        assert!(b.reset_if_due(61_000, end, 61_000));
        assert!(!b.reset_if_due(61_000, end, 61_000), "only once");
        assert_eq!((b.spent(), b.used(), b.last_reset()), (0, 100, 61_000));
    }

    #[test]
    fn request_and_token_windows() {
        let r = RateCounter::new(0, 0, 0, 0);
        assert!(r.try_request(2));
        assert!(r.try_request(2));
        assert!(!r.try_request(2));
        r.undo_request();
        assert!(r.try_request(2));
        r.add_tokens(12);
        assert_eq!(r.tokens(), 12);
        assert!(r.reset_requests_if_due(60_000, |s| s + 60_000));
        assert_eq!((r.requests(), r.request_reset()), (0, 60_000));
        assert_eq!(r.tokens(), 12, "the token window is separate");
    }

    #[test]
    fn usd_conversions() {
        assert_eq!(to_nanos(0.000_003_15), 3150);
        assert_eq!(to_nanos(-1.0), 0);
        assert_eq!(to_nanos(f64::NAN), 0);
        assert!((to_usd(3150) - 0.000_003_15).abs() < 1e-15);
    }
}
