//! Persistent stores: `config.db` holds the configuration, `logs.db` the request logs (both
//! SQLite, WAL). Migrations are numbered SQL files, added and never edited; each database has
//! its own list and records its version in `PRAGMA user_version`.

pub mod config_store;
pub mod governance_store;
pub mod logs_store;
pub mod timefmt;

pub use config_store::{ConfigStore, StoredConfig};
pub use logs_store::{LogEntry, LogFilter, LogsStore};

use rusqlite::Connection;

use crate::error::Result;

/// Applies the migrations past the database's `user_version`, in one transaction.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tx = conn.transaction()?;
    for (i, sql) in migrations
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
    }
    tx.commit()?;
    Ok(())
}
