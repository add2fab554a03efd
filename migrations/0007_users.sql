-- authgate's own users (the source `db`), beside the configuration's and the directory's, and
-- the single-use links that invite them or reset their password (kept as hashes).
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    canonical TEXT NOT NULL UNIQUE,
    email TEXT,
    name TEXT,
    groups TEXT NOT NULL,
    password_hash TEXT,
    disabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE links (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    username TEXT NOT NULL,
    source TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX links_by_user ON links (username);
