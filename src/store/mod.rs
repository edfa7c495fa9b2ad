//! Persistent stores. `config.db` holds the configuration (SQLite, WAL); `logs.db` follows with
//! the logging work. Migrations are numbered SQL files, added and never edited.

pub mod config_store;

pub use config_store::{ConfigStore, StoredConfig};
