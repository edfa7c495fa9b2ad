//! Admin authentication (`auth_config`): argon2 password hashes, sessions (by the sha256 of
//! their token, persisted so they survive a restart), a cache of verified Basic credentials
//! (argon2 is deliberately slow; it runs once per credential, not once per request), and a
//! limit on failed attempts per client address.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;

use arc_swap::ArcSwap;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::now_ms;
use super::types::AuthConfig;
use crate::error::{Error, RateLimitKind, Result};
use crate::store::ConfigStore;

/// Sessions last 30 days, like Bifrost's cookie.
pub const SESSION_SECS: i64 = 30 * 24 * 3600;
/// Failed attempts allowed per address within [`ATTEMPT_WINDOW_SECS`].
pub const MAX_FAILURES: u32 = 5;
/// The window of the failed-attempt limit.
pub const ATTEMPT_WINDOW_SECS: i64 = 60;

/// Hashes a password (argon2id, random salt, PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("cannot hash the password: {e}")))
}

/// Checks a password against a PHC hash (slow by design: call it off the async threads).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Sessions, verified credentials and failed attempts.
#[derive(Debug, Default)]
pub struct AdminAuth {
    sessions: ArcSwap<HashMap<String, i64>>,
    verified: ArcSwap<HashSet<String>>,
    attempts: Mutex<HashMap<IpAddr, (u32, i64)>>,
}

impl AdminAuth {
    /// Loads the stored sessions.
    pub fn load(store: &ConfigStore) -> Result<Self> {
        let auth = Self::default();
        auth.sessions.store(std::sync::Arc::new(
            store.gov_sessions()?.into_iter().collect(),
        ));
        Ok(auth)
    }

    /// Whether `user:password` was already verified against this configuration.
    pub fn cached(&self, cfg: &AuthConfig, user: &str, password: &str) -> bool {
        let key = sha256_hex(&[user, password, &cfg.admin_password]);
        self.verified.load().contains(&key)
    }

    /// Verifies credentials (slow on a cache miss; call it on the blocking pool).
    pub fn verify(&self, cfg: &AuthConfig, user: &str, password: &str) -> bool {
        if self.cached(cfg, user, password) {
            return true;
        }
        let user_ok = constant_time_str_eq(user, &cfg.admin_username);
        let ok = verify_password(password, &cfg.admin_password) && user_ok;
        if ok {
            let key = sha256_hex(&[user, password, &cfg.admin_password]);
            self.verified.rcu(|set| {
                let mut next = HashSet::clone(set);
                // Bounded: only successful logins are cached, and a password change makes
                // every old entry unreachable, so clear instead of growing.
                if next.len() > 64 {
                    next.clear();
                }
                next.insert(key.clone());
                next
            });
        }
        ok
    }

    /// Whether `token` is a live session.
    pub fn session_valid(&self, token: &str) -> bool {
        let hash = sha256_hex(&[token]);
        self.sessions
            .load()
            .get(&hash)
            .is_some_and(|exp| *exp > now_ms() / 1000)
    }

    /// Starts a session: returns the token (for the cookie) and what to persist.
    pub fn start_session(&self) -> (String, String, i64) {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let hash = sha256_hex(&[&token]);
        let expires = now_ms() / 1000 + SESSION_SECS;
        self.sessions.rcu(|s| {
            let mut next = HashMap::clone(s);
            next.insert(hash.clone(), expires);
            next
        });
        (token, hash, expires)
    }

    /// Ends a session; returns the hash to delete from the store.
    pub fn end_session(&self, token: &str) -> String {
        let hash = sha256_hex(&[token]);
        self.sessions.rcu(|s| {
            let mut next = HashMap::clone(s);
            next.remove(&hash);
            next
        });
        hash
    }

    /// Refuses an address that failed too often recently.
    pub fn throttle(&self, ip: IpAddr) -> Result<()> {
        let now = now_ms() / 1000;
        let attempts = self
            .attempts
            .lock()
            .map_err(|_| Error::Internal("auth lock poisoned".into()))?;
        match attempts.get(&ip) {
            Some((n, since)) if *n >= MAX_FAILURES && now - since < ATTEMPT_WINDOW_SECS => {
                Err(Error::RateLimited {
                    kind: RateLimitKind::Rate,
                    retry_after_secs: u64::try_from(ATTEMPT_WINDOW_SECS - (now - since))
                        .unwrap_or(1)
                        .max(1),
                    message: "too many failed login attempts; try again later".into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, ip: IpAddr) {
        let now = now_ms() / 1000;
        if let Ok(mut attempts) = self.attempts.lock() {
            // Keep the table small: forget windows that are over.
            attempts.retain(|_, (_, since)| now - *since < ATTEMPT_WINDOW_SECS);
            let entry = attempts.entry(ip).or_insert((0, now));
            entry.0 += 1;
        }
    }

    /// Clears an address's failures after a success.
    pub fn succeeded(&self, ip: IpAddr) {
        if let Ok(mut attempts) = self.attempts.lock() {
            attempts.remove(&ip);
        }
    }
}

fn constant_time_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(!h.contains("s3cret"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("s3cret", "not a hash"));
        let cfg = AuthConfig {
            is_enabled: true,
            admin_username: "admin".into(),
            admin_password: h,
            disable_auth_on_inference: false,
        };
        let auth = AdminAuth::default();
        assert!(!auth.cached(&cfg, "admin", "s3cret"));
        assert!(auth.verify(&cfg, "admin", "s3cret"));
        assert!(auth.cached(&cfg, "admin", "s3cret"));
        assert!(!auth.verify(&cfg, "root", "s3cret"));
    }

    #[test]
    fn sessions_and_throttling() {
        let auth = AdminAuth::default();
        let (token, _, _) = auth.start_session();
        assert!(auth.session_valid(&token));
        assert!(!auth.session_valid("nope"));
        auth.end_session(&token);
        assert!(!auth.session_valid(&token));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(auth.throttle(ip).is_ok());
            auth.failed(ip);
        }
        assert!(matches!(auth.throttle(ip), Err(Error::RateLimited { .. })));
        auth.succeeded(ip);
        assert!(auth.throttle(ip).is_ok());
    }
}
