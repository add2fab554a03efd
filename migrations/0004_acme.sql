-- Automatic HTTPS shared by several instances: the certificates they serve (the private key
-- sealed under the [storage] key), the ACME account, the challenges any of them may be asked
-- for, and the lease that lets one instance order at a time.
CREATE TABLE acme_certificates (
    directory TEXT NOT NULL,
    host TEXT NOT NULL,
    chain TEXT NOT NULL,
    sealed_key TEXT NOT NULL,
    not_after BIGINT NOT NULL,
    PRIMARY KEY (directory, host)
);
CREATE TABLE acme_accounts (
    directory TEXT PRIMARY KEY,
    sealed_credentials TEXT NOT NULL
);
CREATE TABLE acme_challenges (
    token TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    key_authorization TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE acme_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until BIGINT NOT NULL
);
