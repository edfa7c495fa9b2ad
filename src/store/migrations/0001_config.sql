-- Providers, each stored whole (keys included) as the JSON of a config.json provider entry.
CREATE TABLE providers (
    name        TEXT PRIMARY KEY,
    config      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- The `client` section, one row.
CREATE TABLE client_config (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    config  TEXT NOT NULL
);

-- What was imported from config.json, by entry, with the hash of its text then. An entry whose
-- hash is unchanged is not imported again, so edits and deletions made through the API or the
-- CLI win; an entry edited in the file is imported again (Bifrost's config_hash rule).
CREATE TABLE file_imports (
    entry   TEXT PRIMARY KEY,
    hash    TEXT NOT NULL
);
