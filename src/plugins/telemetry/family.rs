//! A metric family's series: a sharded map from a label-value key to the series' atomics.
//!
//! The request path builds the key into a reused thread-local buffer, hashes it once and takes
//! a shard's read lock for the lookup, so an existing series costs no allocation and no
//! exclusive lock. Only a new label set takes a write lock (and allocates its label text once).
//! The number of series is capped: past [`MAX_SERIES`] new label sets share one overflow series
//! whose labels all read `other`.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// Series kept per family before new label sets share the overflow series.
pub const MAX_SERIES: usize = 10_000;
/// The overflow series' key (no real key starts with a letter: keys start with a length).
const OVERFLOW_KEY: &str = "overflow";
const SHARDS: usize = 16;

/// One series: its label text, ready to print, and its atomics.
#[derive(Debug)]
pub struct Entry<S> {
    key: Box<str>,
    /// Label text of Bifrost's leading labels (`provider="openai",...`).
    pub head: Box<str>,
    /// Label text of the custom labels (may be empty); Bifrost puts metric-specific labels such
    /// as `status_code` between the two.
    pub tail: Box<str>,
    /// The counters and histograms.
    pub series: S,
}

/// Passes an already-computed SipHash through unchanged.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in rather than lose it.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Shard<S> = RwLock<HashMap<u64, Vec<Arc<Entry<S>>>, BuildHasherDefault<PreHashed>>>;

/// All series of one family.
#[derive(Debug)]
pub struct Family<S> {
    shards: Box<[Shard<S>]>,
    /// Keyed SipHash: label values come from clients, so the hash must not be predictable.
    hasher: RandomState,
    len: AtomicUsize,
    overflow_warned: AtomicBool,
}

impl<S> Default for Family<S> {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::new(),
            len: AtomicUsize::new(0),
            overflow_warned: AtomicBool::new(false),
        }
    }
}

impl<S> Family<S> {
    fn shard(&self, hash: u64) -> &Shard<S> {
        // The low bits pick the bucket inside the map; the high bits pick the shard.
        &self.shards[(hash >> 58) as usize % SHARDS]
    }

    /// The series with this key, if it exists.
    pub fn get(&self, key: &str) -> Option<Arc<Entry<S>>> {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash).read().ok()?;
        shard
            .get(&hash)?
            .iter()
            .find(|e| &*e.key == key)
            .map(Arc::clone)
    }

    /// The series with this key, created by `make` (returning head and tail label text and the
    /// series) if it does not exist. Past [`MAX_SERIES`] the overflow series is returned instead,
    /// made by `overflow`.
    pub fn get_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> (String, String, S),
        overflow: impl FnOnce() -> (String, String, S),
    ) -> Option<Arc<Entry<S>>> {
        if let Some(e) = self.get(key) {
            return Some(e);
        }
        if self.len.load(Ordering::Relaxed) >= MAX_SERIES {
            if !self.overflow_warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    max = MAX_SERIES,
                    "a metric family reached its series limit; new label sets are counted under `other`"
                );
            }
            return self.insert(OVERFLOW_KEY, overflow);
        }
        self.insert(key, make)
    }

    fn insert(
        &self,
        key: &str,
        make: impl FnOnce() -> (String, String, S),
    ) -> Option<Arc<Entry<S>>> {
        let hash = self.hasher.hash_one(key);
        let mut shard = self.shard(hash).write().ok()?;
        let bucket = shard.entry(hash).or_default();
        if let Some(e) = bucket.iter().find(|e| &*e.key == key) {
            return Some(Arc::clone(e));
        }
        let (head, tail, series) = make();
        let entry = Arc::new(Entry {
            key: key.into(),
            head: head.into(),
            tail: tail.into(),
            series,
        });
        bucket.push(Arc::clone(&entry));
        self.len.fetch_add(1, Ordering::Relaxed);
        Some(entry)
    }

    /// Every series, in a stable order (by key), for rendering outside the locks.
    pub fn all(&self) -> Vec<Arc<Entry<S>>> {
        let mut out: Vec<Arc<Entry<S>>> = Vec::with_capacity(self.len.load(Ordering::Relaxed));
        for shard in self.shards.iter() {
            if let Ok(shard) = shard.read() {
                out.extend(shard.values().flatten().cloned());
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether the family has no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Joins label texts with commas, skipping empty parts.
pub fn join(parts: &[&str]) -> String {
    let mut out = String::new();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(p);
    }
    out
}
