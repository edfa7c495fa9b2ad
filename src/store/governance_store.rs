//! Governance tables in config.db (migration 0002): virtual keys, teams and customers as JSON
//! documents, usage counters, settings and admin sessions.
//!
//! The SQL lives here; the governance plugin composes these operations inside one transaction
//! through [`GovTx`] and owns the typed documents. Everything shares the config store's one
//! connection, so the server's own writes (counters every second) do not bump
//! `PRAGMA data_version` and never look like a change made by another process.

use rusqlite::{params, OptionalExtension, Transaction};

use super::ConfigStore;
use crate::error::Result;

/// A governance table of JSON documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GovTable {
    /// `gov_virtual_keys`.
    VirtualKeys,
    /// `gov_teams`.
    Teams,
    /// `gov_customers`.
    Customers,
}

impl GovTable {
    fn name(self) -> &'static str {
        match self {
            GovTable::VirtualKeys => "gov_virtual_keys",
            GovTable::Teams => "gov_teams",
            GovTable::Customers => "gov_customers",
        }
    }
}

/// One stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovRow {
    /// Its id.
    pub id: String,
    /// The document, JSON.
    pub config: String,
    /// Virtual keys only: sha256 of the value, hex.
    pub value_hash: Option<String>,
}

/// A persisted usage counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterRow {
    /// Budget spend in nano-USD, or requests in the window.
    pub usage: u64,
    /// Tokens in the window (rate limits).
    pub tokens: u64,
    /// Unix ms when the (request) window began.
    pub last_reset: i64,
    /// Unix ms when the token window began.
    pub token_last_reset: i64,
}

/// Governance operations inside one transaction.
pub struct GovTx<'a>(&'a Transaction<'a>);

impl std::fmt::Debug for GovTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GovTx")
    }
}

impl<'a> GovTx<'a> {
    /// Wraps a transaction of the config store's connection.
    pub(super) fn new(tx: &'a Transaction<'a>) -> Self {
        Self(tx)
    }

    /// Every document of a table, oldest first.
    pub fn all(&self, table: GovTable) -> Result<Vec<GovRow>> {
        let sql = match table {
            GovTable::VirtualKeys => {
                "SELECT id, config, value_hash FROM gov_virtual_keys ORDER BY created_at, id"
            }
            GovTable::Teams => "SELECT id, config, NULL FROM gov_teams ORDER BY created_at, id",
            GovTable::Customers => {
                "SELECT id, config, NULL FROM gov_customers ORDER BY created_at, id"
            }
        };
        let mut stmt = self.0.prepare(sql)?;
        let rows = stmt.query_map([], |r| {
            Ok(GovRow {
                id: r.get(0)?,
                config: r.get(1)?,
                value_hash: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One document.
    pub fn get(&self, table: GovTable, id: &str) -> Result<Option<GovRow>> {
        Ok(self.all(table)?.into_iter().find(|r| r.id == id))
    }

    /// Inserts or replaces a document (keeping its creation time).
    pub fn put(&self, table: GovTable, row: &GovRow) -> Result<()> {
        let now = now_secs();
        match table {
            GovTable::VirtualKeys => self.0.execute(
                "INSERT INTO gov_virtual_keys (id, value_hash, config, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT(id) DO UPDATE SET value_hash = excluded.value_hash,
                    config = excluded.config, updated_at = excluded.updated_at",
                params![
                    row.id,
                    row.value_hash.as_deref().unwrap_or_default(),
                    row.config,
                    now
                ],
            )?,
            _ => self.0.execute(
                &format!(
                    "INSERT INTO {} (id, config, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
                     ON CONFLICT(id) DO UPDATE SET config = excluded.config,
                        updated_at = excluded.updated_at",
                    table.name()
                ),
                params![row.id, row.config, now],
            )?,
        };
        Ok(())
    }

    /// Deletes a document; whether it existed.
    pub fn delete(&self, table: GovTable, id: &str) -> Result<bool> {
        let n = self
            .0
            .execute(&format!("DELETE FROM {} WHERE id = ?1", table.name()), [id])?;
        Ok(n > 0)
    }

    /// A named setting's JSON.
    pub fn setting(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .query_row(
                "SELECT config FROM gov_settings WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Writes a named setting.
    pub fn set_setting(&self, name: &str, config: &str) -> Result<()> {
        self.0.execute(
            "INSERT INTO gov_settings (name, config) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET config = excluded.config",
            params![name, config],
        )?;
        Ok(())
    }

    /// The hash recorded when a config.json entry was last imported.
    pub fn import_hash(&self, entry: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .query_row(
                "SELECT hash FROM file_imports WHERE entry = ?1",
                [entry],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records that a config.json entry was imported with this hash.
    pub fn set_import_hash(&self, entry: &str, hash: &str) -> Result<()> {
        self.0.execute(
            "INSERT INTO file_imports (entry, hash) VALUES (?1, ?2)
             ON CONFLICT(entry) DO UPDATE SET hash = excluded.hash",
            params![entry, hash],
        )?;
        Ok(())
    }

    /// Seeds a counter unless it already has a row (bootstrap's `current_usage`).
    pub fn seed_counter(&self, id: &str, row: &CounterRow) -> Result<()> {
        self.0.execute(
            "INSERT INTO gov_counters (id, usage, tokens, last_reset, token_last_reset, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO NOTHING",
            params![
                id,
                to_i64(row.usage),
                to_i64(row.tokens),
                row.last_reset,
                row.token_last_reset,
                now_secs()
            ],
        )?;
        Ok(())
    }
}

impl ConfigStore {
    /// Runs governance operations in one immediate transaction (so that writers in other
    /// processes, such as the CLI, serialise with this one).
    pub fn gov_tx<T>(&self, f: impl FnOnce(&GovTx<'_>) -> Result<T>) -> Result<T> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let out = f(&GovTx(&tx))?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Every persisted counter, by id.
    pub fn gov_counters(&self) -> Result<Vec<(String, CounterRow)>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, usage, tokens, last_reset, token_last_reset FROM gov_counters",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    CounterRow {
                        usage: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        tokens: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                        last_reset: r.get(3)?,
                        token_last_reset: r.get(4)?,
                    },
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Writes counters in one transaction.
    pub fn gov_save_counters(&self, rows: &[(String, CounterRow)]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare(
                    "INSERT INTO gov_counters (id, usage, tokens, last_reset, token_last_reset, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(id) DO UPDATE SET usage = excluded.usage, tokens = excluded.tokens,
                        last_reset = excluded.last_reset, token_last_reset = excluded.token_last_reset,
                        updated_at = excluded.updated_at",
                )?;
                let now = now_secs();
                for (id, row) in rows {
                    stmt.execute(params![
                        id,
                        to_i64(row.usage),
                        to_i64(row.tokens),
                        row.last_reset,
                        row.token_last_reset,
                        now
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Admin sessions that have not expired: (sha256 of the token, expiry in unix seconds).
    pub fn gov_sessions(&self) -> Result<Vec<(String, i64)>> {
        self.with(|c| {
            c.execute(
                "DELETE FROM gov_sessions WHERE expires_at <= ?1",
                [now_secs()],
            )?;
            let mut stmt = c.prepare("SELECT token_hash, expires_at FROM gov_sessions")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Stores a session.
    pub fn gov_add_session(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO gov_sessions (token_hash, expires_at) VALUES (?1, ?2)",
                params![token_hash, expires_at],
            )?;
            Ok(())
        })
    }

    /// Removes a session.
    pub fn gov_remove_session(&self, token_hash: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM gov_sessions WHERE token_hash = ?1",
                [token_hash],
            )?;
            Ok(())
        })
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn now_secs() -> i64 {
    crate::plugins::governance::now_ms() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_counters_and_sessions_round_trip() {
        let store = ConfigStore::in_memory().unwrap();
        let row = GovRow {
            id: "vk1".into(),
            config: "{\"name\":\"a\"}".into(),
            value_hash: Some("abc".into()),
        };
        store
            .gov_tx(|tx| tx.put(GovTable::VirtualKeys, &row))
            .unwrap();
        let got = store
            .gov_tx(|tx| tx.get(GovTable::VirtualKeys, "vk1"))
            .unwrap();
        assert_eq!(got, Some(row));
        assert!(store
            .gov_tx(|tx| tx.delete(GovTable::VirtualKeys, "vk1"))
            .unwrap());
        assert!(!store
            .gov_tx(|tx| tx.delete(GovTable::VirtualKeys, "vk1"))
            .unwrap());

        let c = CounterRow {
            usage: 42,
            tokens: 7,
            last_reset: 1000,
            token_last_reset: 2000,
        };
        store.gov_save_counters(&[("b1".into(), c)]).unwrap();
        store
            .gov_tx(|tx| tx.seed_counter("b1", &CounterRow::default()))
            .unwrap();
        assert_eq!(store.gov_counters().unwrap(), vec![("b1".into(), c)]);

        store.gov_add_session("h", i64::MAX).unwrap();
        store.gov_add_session("old", 1).unwrap();
        assert_eq!(store.gov_sessions().unwrap(), vec![("h".into(), i64::MAX)]);
        store.gov_remove_session("h").unwrap();
        assert!(store.gov_sessions().unwrap().is_empty());
    }
}
