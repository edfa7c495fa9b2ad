-- Cheaper inserts, the same fast sorted pages.
--
-- 1. Sorting by latency, tokens or cost. The indexes of 0002 kept those values in exact order,
--    so each new row landed at a random place in three large B-trees and dirtied three pages
--    that had to be written out with every batch: most of the writer's cost per row. Each sort
--    now has a rank column, a coarse logarithmic bucket of its value (`bifrost_rank`: 8 buckets
--    per doubling), and an index ordered by (rank, seq). A row lands at the end of its bucket
--    (its seq is the newest), so a batch touches a few hot pages per index. `ORDER BY rank,
--    value` gives the same order as `ORDER BY value` (the rank never decreases as the value
--    grows), and SQLite walks the rank index and sorts within the few buckets a page needs.
--    The value and the common filter columns ride along behind the seq (they do not move
--    the entry), so that sort and the filters are read from the index alone.
-- 2. The rollup. The insert trigger ran an upsert per row; the writer now sums each batch per
--    rollup key and upserts once per key (`Inserter::insert`). The delete trigger stays.

DROP INDEX idx_logs_latency;
DROP INDEX idx_logs_tokens;
DROP INDEX idx_logs_cost;

ALTER TABLE logs ADD COLUMN latency_rank INTEGER;
ALTER TABLE logs ADD COLUMN tokens_rank  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE logs ADD COLUMN cost_rank    INTEGER;

UPDATE logs SET
    latency_rank = bifrost_rank(latency),
    tokens_rank = bifrost_rank(total_tokens),
    cost_rank = bifrost_rank(cost * 1000000.0);

CREATE INDEX idx_logs_latency ON logs (latency_rank, seq, latency, timestamp, provider, model, status);
CREATE INDEX idx_logs_tokens  ON logs (tokens_rank, seq, total_tokens, timestamp, provider, model, status);
CREATE INDEX idx_logs_cost    ON logs (cost_rank, seq, cost, timestamp, provider, model, status);

DROP TRIGGER logs_after_insert;
