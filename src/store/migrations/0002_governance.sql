-- Governance: virtual keys, teams and customers, each stored whole as JSON (budgets and rate
-- limits inline, each with an id of its own), like providers.
CREATE TABLE gov_virtual_keys (
    id          TEXT PRIMARY KEY,
    -- sha256 of the key's value, hex; the value itself is never stored.
    value_hash  TEXT NOT NULL UNIQUE,
    config      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE gov_teams (
    id          TEXT PRIMARY KEY,
    config      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE gov_customers (
    id          TEXT PRIMARY KEY,
    config      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Usage counters of budgets and rate limits, by the budget's or rate limit's id. Written only
-- by the running server (in the background, when they changed), read at its start so that
-- spend survives a restart, and read by the CLI for `bifrost vk list`.
CREATE TABLE gov_counters (
    id                TEXT PRIMARY KEY,
    -- Budgets: spend in nano-USD. Rate limits: requests in the current window.
    usage             INTEGER NOT NULL DEFAULT 0,
    -- Rate limits: tokens in the current window.
    tokens            INTEGER NOT NULL DEFAULT 0,
    -- Unix ms when the (request) window began.
    last_reset        INTEGER NOT NULL,
    -- Unix ms when the token window began.
    token_last_reset  INTEGER NOT NULL DEFAULT 0,
    updated_at        INTEGER NOT NULL
);

-- Named settings: `auth_config` (password as an argon2 hash), `plugin` (is_vk_mandatory),
-- `pricing` (framework.pricing).
CREATE TABLE gov_settings (
    name    TEXT PRIMARY KEY,
    config  TEXT NOT NULL
);

-- Admin sessions by the sha256 of their token; the token itself is only in the cookie.
CREATE TABLE gov_sessions (
    token_hash  TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);
