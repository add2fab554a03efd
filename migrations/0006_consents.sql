-- What each user allowed each client (OpenID Connect consent): the scopes, space-separated.
CREATE TABLE consents (
    username TEXT NOT NULL,
    source TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (username, source, client_id)
);
