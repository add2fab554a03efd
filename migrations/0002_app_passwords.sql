-- App passwords: for clients that cannot follow a browser sign-in (WebDAV, git, scripts).
-- Random, at least 128 bits, so a SHA-256 hash is what is kept; never the password.
CREATE TABLE IF NOT EXISTS app_passwords (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX IF NOT EXISTS app_passwords_by_user ON app_passwords (username);
