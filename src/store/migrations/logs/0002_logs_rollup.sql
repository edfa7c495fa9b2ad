-- Hourly totals (the rollup), for counts, stats, histograms and filter menus that stay fast
-- at millions of rows. A database made by 0001 gets the table filled from its existing rows.

-- Sorting by latency, tokens or cost walks one of these; they carry the common filter columns
-- and what stats sum, so a filtered page and its stats are read from the index alone.
DROP INDEX idx_logs_latency;
DROP INDEX idx_logs_tokens;
DROP INDEX idx_logs_cost;
CREATE INDEX idx_logs_latency ON logs (latency, provider, model, status, total_tokens, cost);
CREATE INDEX idx_logs_tokens  ON logs (total_tokens, provider, model, status, latency, cost);
CREATE INDEX idx_logs_cost    ON logs (cost, provider, model, status, latency, total_tokens);

-- Hourly totals per dimension, so that counts, stats, hourly-or-coarser histograms and the
-- filter menus over a large selection read a few thousand rollup rows instead of millions of
-- log rows. Kept exact by the triggers below, whoever inserts or deletes.
CREATE TABLE logs_rollup (
    hour               INTEGER NOT NULL,          -- unix ms, start of the hour
    provider           TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    object             TEXT    NOT NULL,
    selected_key_id    TEXT    NOT NULL,
    selected_key_name  TEXT    NOT NULL,
    virtual_key_id     TEXT    NOT NULL,          -- '' when none
    virtual_key_name   TEXT    NOT NULL,
    requests           INTEGER NOT NULL,
    latency_sum        REAL    NOT NULL,
    latency_count      INTEGER NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    total_tokens       INTEGER NOT NULL,
    cost_sum           REAL    NOT NULL,
    PRIMARY KEY (hour, provider, model, status, object, selected_key_id, selected_key_name,
                 virtual_key_id, virtual_key_name)
) WITHOUT ROWID;

CREATE TRIGGER logs_after_insert AFTER INSERT ON logs BEGIN
    INSERT INTO logs_rollup VALUES (
        new.timestamp - new.timestamp % 3600000, new.provider, new.model, new.status,
        new.object, new.selected_key_id, new.selected_key_name,
        COALESCE(new.virtual_key_id, ''), COALESCE(new.virtual_key_name, ''),
        1, COALESCE(new.latency, 0), new.latency IS NOT NULL, new.prompt_tokens,
        new.completion_tokens, new.total_tokens, COALESCE(new.cost, 0))
    ON CONFLICT DO UPDATE SET
        requests = requests + 1,
        latency_sum = latency_sum + excluded.latency_sum,
        latency_count = latency_count + excluded.latency_count,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        total_tokens = total_tokens + excluded.total_tokens,
        cost_sum = cost_sum + excluded.cost_sum;
END;

-- Rows logged before this migration.
INSERT INTO logs_rollup
SELECT timestamp - timestamp % 3600000, provider, model, status, object, selected_key_id,
       selected_key_name, COALESCE(virtual_key_id, ''), COALESCE(virtual_key_name, ''),
       COUNT(*), COALESCE(SUM(latency), 0), COUNT(latency), SUM(prompt_tokens),
       SUM(completion_tokens), SUM(total_tokens), COALESCE(SUM(cost), 0)
FROM logs
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

DROP TRIGGER logs_after_delete;

-- Deleting a log row (by id, or by retention) removes its content, its index entry and its
-- share of the rollup, so the tables cannot drift apart whoever deletes.
CREATE TRIGGER logs_after_delete AFTER DELETE ON logs BEGIN
    DELETE FROM logs_content WHERE seq = old.seq;
    DELETE FROM logs_fts WHERE rowid = old.seq;
    UPDATE logs_rollup SET
        requests = requests - 1,
        latency_sum = latency_sum - COALESCE(old.latency, 0),
        latency_count = latency_count - (old.latency IS NOT NULL),
        prompt_tokens = prompt_tokens - old.prompt_tokens,
        completion_tokens = completion_tokens - old.completion_tokens,
        total_tokens = total_tokens - old.total_tokens,
        cost_sum = cost_sum - COALESCE(old.cost, 0)
    WHERE hour = old.timestamp - old.timestamp % 3600000
      AND provider = old.provider AND model = old.model AND status = old.status
      AND object = old.object AND selected_key_id = old.selected_key_id
      AND selected_key_name = old.selected_key_name
      AND virtual_key_id = COALESCE(old.virtual_key_id, '')
      AND virtual_key_name = COALESCE(old.virtual_key_name, '');
    DELETE FROM logs_rollup
    WHERE requests <= 0 AND hour = old.timestamp - old.timestamp % 3600000
      AND provider = old.provider AND model = old.model AND status = old.status
      AND object = old.object AND selected_key_id = old.selected_key_id
      AND selected_key_name = old.selected_key_name
      AND virtual_key_id = COALESCE(old.virtual_key_id, '')
      AND virtual_key_name = COALESCE(old.virtual_key_name, '');
END;
