-- logs.db: one row per accepted inference request (Bifrost's log row).
--
-- The row is split in two so that the table every filter, count and aggregate reads stays
-- narrow: `logs` holds what is filtered, sorted and summed; `logs_content` holds the bulky
-- request and answer text, read only for the rows of a page. `seq` is an INTEGER PRIMARY KEY
-- (the rowid itself), so it is stable across VACUUM and can key the full-text index.
CREATE TABLE logs (
    seq                INTEGER PRIMARY KEY,
    id                 TEXT    NOT NULL UNIQUE,
    timestamp          INTEGER NOT NULL,          -- unix milliseconds, when accepted
    object             TEXT    NOT NULL,          -- request type: chat_completion, embedding, ...
    provider           TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    status             TEXT    NOT NULL,          -- success | error | cancelled
    stream             INTEGER NOT NULL DEFAULT 0,
    latency            REAL,                      -- milliseconds
    ttft               REAL,                      -- milliseconds to the first stream chunk
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    total_tokens       INTEGER NOT NULL DEFAULT 0,
    token_usage        TEXT,                      -- the usage object as JSON, NULL when unknown
    cost               REAL,                      -- USD; NULL until pricing knows the model
    selected_key_id    TEXT    NOT NULL DEFAULT '',
    selected_key_name  TEXT    NOT NULL DEFAULT '',
    virtual_key_id     TEXT,
    virtual_key_name   TEXT,
    number_of_retries  INTEGER NOT NULL DEFAULT 0,
    fallback_index     INTEGER NOT NULL DEFAULT 0,
    error_details      TEXT,                      -- JSON
    metadata           TEXT                       -- JSON object of x-bf-lh-* / logging_headers
);

-- Request and answer content, as JSON text; NULL when content logging is off.
CREATE TABLE logs_content (
    seq             INTEGER PRIMARY KEY,
    input_history   TEXT,
    output_message  TEXT,
    params          TEXT
);

-- Indexes for the dashboard's page queries. Each filter column leads an index with the
-- timestamp behind it, so a filtered page sorted by time walks the index and stops after one
-- page. The four most used also carry the columns the page's stats sum (status, latency,
-- tokens, cost), so counts and stats are answered from the index without reading rows.
CREATE INDEX idx_logs_ts       ON logs (timestamp, status, latency, total_tokens, cost);
CREATE INDEX idx_logs_provider ON logs (provider, timestamp, status, latency, total_tokens, cost);
CREATE INDEX idx_logs_model    ON logs (model, timestamp, status, latency, total_tokens, cost);
CREATE INDEX idx_logs_status   ON logs (status, timestamp, latency, total_tokens, cost);
CREATE INDEX idx_logs_object   ON logs (object, timestamp);
CREATE INDEX idx_logs_key      ON logs (selected_key_id, timestamp);
CREATE INDEX idx_logs_vk       ON logs (virtual_key_id, timestamp);
-- Sorting by latency, tokens or cost.
CREATE INDEX idx_logs_latency  ON logs (latency);
CREATE INDEX idx_logs_tokens   ON logs (total_tokens);
CREATE INDEX idx_logs_cost     ON logs (cost);

-- Full-text index for `content_search`: the text of the messages, the answer and the error
-- message (not the JSON keys, so that searching "content" or "role" does not match every row).
-- Contentless, because the text is derived; `contentless_delete` lets rows be removed.
CREATE VIRTUAL TABLE logs_fts USING fts5(
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Deleting a log row (by id, or by retention) removes its content and its index entry, so the
-- three tables cannot drift apart whoever deletes.
CREATE TRIGGER logs_after_delete AFTER DELETE ON logs BEGIN
    DELETE FROM logs_content WHERE seq = old.seq;
    DELETE FROM logs_fts WHERE rowid = old.seq;
END;
