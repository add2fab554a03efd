-- Enrolled second factors and recovery codes. Portable SQL: the same text runs on SQLite and
-- PostgreSQL. Secrets are sealed (AES-256-GCM) before they reach SQL; recovery codes are hashes.
CREATE TABLE IF NOT EXISTS factors (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    secret TEXT NOT NULL,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX IF NOT EXISTS factors_by_user ON factors (username);
CREATE TABLE IF NOT EXISTS recovery_codes (
    username TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (username, code_hash)
);
