//! `config.db`: providers and client settings in SQLite.
//!
//! Calls are blocking; async callers run them on the blocking pool. No request path touches
//! this store: requests read the in-memory snapshot built from it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::governance_store::GovTx;
use crate::config::{ClientConfig, FileConfig, ProviderConfig};
use crate::error::{Error, Result};

/// Migrations in order; the position is the version.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_config.sql"),
    include_str!("migrations/0002_governance.sql"),
];

/// Everything in config.db.
#[derive(Debug, Clone, Default)]
pub struct StoredConfig {
    /// The `client` section.
    pub client: ClientConfig,
    /// Providers by name.
    pub providers: BTreeMap<String, ProviderConfig>,
}

/// What a bootstrap from config.json changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Entries written from the file (new, or edited in the file since the last import).
    pub imported: Vec<String>,
    /// Entries whose file text is unchanged, so the database's version was kept.
    pub kept: Vec<String>,
}

/// The config store.
pub struct ConfigStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for ConfigStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigStore")
    }
}

impl ConfigStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)
            .map_err(|e| Error::Store(format!("cannot open {}: {e}", path.display())))?;
        Self::init(conn)
    }

    /// An in-memory store, for tests.
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        // WAL lets the CLI write while `serve` reads; the busy timeout makes writers wait for
        // each other instead of failing.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        super::migrate(&mut conn, MIGRATIONS)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `f` on the connection (the governance store shares it, so its own writes do not
    /// bump `data_version` and trigger a reload).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| Error::Internal("config store lock poisoned".into()))?;
        f(&mut conn)
    }

    /// `PRAGMA data_version`: changes when another connection committed a write.
    pub fn data_version(&self) -> Result<i64> {
        self.with(|c| Ok(c.query_row("PRAGMA data_version", [], |r| r.get(0))?))
    }

    /// A cheap liveness check for `/health`.
    pub fn ping(&self) -> Result<()> {
        self.with(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
    }

    /// Reads everything.
    pub fn load(&self) -> Result<StoredConfig> {
        self.with(|c| {
            let client = c
                .query_row("SELECT config FROM client_config WHERE id = 1", [], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .map(|text| decode::<ClientConfig>("client", &text))
                .transpose()?
                .unwrap_or_default();
            let mut stmt = c.prepare("SELECT name, config FROM providers ORDER BY name")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            let mut providers = BTreeMap::new();
            for row in rows {
                let (name, text) = row?;
                let cfg = decode::<ProviderConfig>(&name, &text)?;
                providers.insert(name, cfg);
            }
            Ok(StoredConfig { client, providers })
        })
    }

    /// One provider.
    pub fn provider(&self, name: &str) -> Result<Option<ProviderConfig>> {
        self.with(|c| {
            c.query_row(
                "SELECT config FROM providers WHERE name = ?1",
                [name],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(|text| decode(name, &text))
            .transpose()
        })
    }

    /// Inserts a provider; fails if the name is taken.
    pub fn insert_provider(&self, name: &str, cfg: &ProviderConfig) -> Result<()> {
        let text = encode(cfg)?;
        self.with(|c| {
            let now = now();
            let n = c.execute(
                "INSERT INTO providers (name, config, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT(name) DO NOTHING",
                params![name, text, now],
            )?;
            if n == 0 {
                return Err(Error::Conflict(format!("provider {name} already exists")));
            }
            Ok(())
        })
    }

    /// Replaces a provider; fails if it does not exist.
    pub fn replace_provider(&self, name: &str, cfg: &ProviderConfig) -> Result<()> {
        let text = encode(cfg)?;
        self.with(|c| {
            let n = c.execute(
                "UPDATE providers SET config = ?2, updated_at = ?3 WHERE name = ?1",
                params![name, text, now()],
            )?;
            if n == 0 {
                return Err(Error::NotFound(format!("provider {name} not found")));
            }
            Ok(())
        })
    }

    /// Reads, changes and writes one provider in one transaction, so concurrent writers (the
    /// API and a CLI in another process) cannot lose each other's key changes.
    pub fn update_provider<T>(
        &self,
        name: &str,
        change: impl FnOnce(&mut ProviderConfig) -> Result<T>,
    ) -> Result<(ProviderConfig, T)> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let text: Option<String> = tx
                .query_row(
                    "SELECT config FROM providers WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(text) = text else {
                return Err(Error::NotFound(format!("provider {name} not found")));
            };
            let mut cfg: ProviderConfig = decode(name, &text)?;
            let out = change(&mut cfg)?;
            tx.execute(
                "UPDATE providers SET config = ?2, updated_at = ?3 WHERE name = ?1",
                params![name, encode(&cfg)?, now()],
            )?;
            tx.commit()?;
            Ok((cfg, out))
        })
    }

    /// Deletes a provider; fails if it does not exist.
    pub fn delete_provider(&self, name: &str) -> Result<()> {
        self.with(|c| {
            let n = c.execute("DELETE FROM providers WHERE name = ?1", [name])?;
            if n == 0 {
                return Err(Error::NotFound(format!("provider {name} not found")));
            }
            Ok(())
        })
    }

    /// Writes the `client` section.
    pub fn set_client(&self, client: &ClientConfig) -> Result<()> {
        let text = encode(client)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO client_config (id, config) VALUES (1, ?1)
                 ON CONFLICT(id) DO UPDATE SET config = excluded.config",
                [text],
            )?;
            Ok(())
        })
    }

    /// Reads, changes and writes the `client` section in one transaction, beside the named
    /// settings (`auth_config`, `pricing`) that `change` may read and write through the
    /// [`GovTx`], so that `PUT /api/config` is applied whole or not at all.
    pub fn update_settings<T>(
        &self,
        change: impl FnOnce(&mut ClientConfig, &GovTx<'_>) -> Result<T>,
    ) -> Result<(ClientConfig, T)> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut client = tx
                .query_row("SELECT config FROM client_config WHERE id = 1", [], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .map(|text| decode::<ClientConfig>("client", &text))
                .transpose()?
                .unwrap_or_default();
            let out = change(&mut client, &GovTx::new(&tx))?;
            tx.execute(
                "INSERT INTO client_config (id, config) VALUES (1, ?1)
                 ON CONFLICT(id) DO UPDATE SET config = excluded.config",
                [encode(&client)?],
            )?;
            tx.commit()?;
            Ok((client, out))
        })
    }

    /// Bifrost's bootstrap (§3.1): entries of config.json that are new or were edited in the
    /// file since they were last imported are written; the others keep what the database says.
    pub fn import_file(&self, file: &FileConfig) -> Result<ImportReport> {
        let mut entries: Vec<(String, String, Option<&ProviderConfig>)> = Vec::new();
        entries.push(("client".to_owned(), encode(&file.client)?, None));
        for (name, p) in &file.providers {
            entries.push((format!("providers.{name}"), encode(p)?, Some(p)));
        }
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut report = ImportReport::default();
            for (entry, text, provider) in entries {
                let hash = hex_sha256(&text);
                let previous: Option<String> = tx
                    .query_row("SELECT hash FROM file_imports WHERE entry = ?1", [&entry], |r| r.get(0))
                    .optional()?;
                if previous.as_deref() == Some(hash.as_str()) {
                    report.kept.push(entry);
                    continue;
                }
                match provider {
                    None => {
                        tx.execute(
                            "INSERT INTO client_config (id, config) VALUES (1, ?1)
                             ON CONFLICT(id) DO UPDATE SET config = excluded.config",
                            [&text],
                        )?;
                    }
                    Some(p) => {
                        let name = entry.trim_start_matches("providers.");
                        let mut p = p.clone();
                        crate::engine::keys::assign_key_identities(name, &mut p.keys);
                        tx.execute(
                            "INSERT INTO providers (name, config, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
                             ON CONFLICT(name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
                            params![name, encode(&p)?, now()],
                        )?;
                    }
                }
                tx.execute(
                    "INSERT INTO file_imports (entry, hash) VALUES (?1, ?2)
                     ON CONFLICT(entry) DO UPDATE SET hash = excluded.hash",
                    params![entry, hash],
                )?;
                report.imported.push(entry);
            }
            tx.commit()?;
            Ok(report)
        })
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::Store(format!("stored config of {what} is unreadable: {e}")))
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(json: &str) -> FileConfig {
        crate::config::parse(json).unwrap().config
    }

    #[test]
    fn bootstrap_imports_once_then_the_database_wins() {
        let store = ConfigStore::in_memory().unwrap();
        let f = file(r#"{"providers":{"openai":{"keys":[{"name":"a","value":"env.A"}]}}}"#);
        let r = store.import_file(&f).unwrap();
        assert!(r.imported.contains(&"providers.openai".to_owned()));
        // An API edit is kept across a restart with the same file.
        store
            .update_provider("openai", |p| {
                p.network_config.max_retries = 3;
                Ok(())
            })
            .unwrap();
        let r = store.import_file(&f).unwrap();
        assert!(r.kept.contains(&"providers.openai".to_owned()));
        assert_eq!(
            store
                .provider("openai")
                .unwrap()
                .unwrap()
                .network_config
                .max_retries,
            3
        );
        // A deletion is kept too.
        store.delete_provider("openai").unwrap();
        store.import_file(&f).unwrap();
        assert!(store.provider("openai").unwrap().is_none());
        // An edit in the file is imported again.
        let f2 = file(r#"{"providers":{"openai":{"keys":[{"name":"a","value":"env.B"}]}}}"#);
        store.import_file(&f2).unwrap();
        let p = store.provider("openai").unwrap().unwrap();
        assert_eq!(p.keys[0].value.as_configured(), "env.B");
        assert!(!p.keys[0].id.is_empty(), "imported keys get ids");
    }

    #[test]
    fn conflicts_and_missing_rows_are_errors() {
        let store = ConfigStore::in_memory().unwrap();
        store
            .insert_provider("openai", &ProviderConfig::default())
            .unwrap();
        assert!(matches!(
            store.insert_provider("openai", &ProviderConfig::default()),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            store.delete_provider("groq"),
            Err(Error::NotFound(_))
        ));
    }
}
