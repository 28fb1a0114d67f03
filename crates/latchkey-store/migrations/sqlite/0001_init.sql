-- Latchkey schema, SQLite. Timestamps are UTC; ids are integers; `state` is 1 active, 2 deleted.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    plan        TEXT NOT NULL CHECK (plan IN ('developer', 'team', 'enterprise')),
    state       INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    state       INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX projects_account ON projects (account_id);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash  TEXT,
    state          INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- A user's seat in an account.
CREATE TABLE memberships (
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    license     TEXT NOT NULL CHECK (license IN ('developer', 'read_only', 'it')),
    state       INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    state       INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES groups (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- project_id NULL means all projects.
CREATE TABLE group_grants (
    id              INTEGER PRIMARY KEY,
    group_id        INTEGER NOT NULL REFERENCES groups (id),
    permission_set  TEXT NOT NULL,
    project_id      INTEGER REFERENCES projects (id),
    writable_envs   INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE INDEX group_grants_group ON group_grants (group_id);

CREATE TABLE service_tokens (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    uid            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    state          INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    token_digest   BLOB NOT NULL UNIQUE,
    hint           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    expires_at     TEXT,
    last_used_at   TEXT
);
CREATE INDEX service_tokens_account ON service_tokens (account_id);

-- project_id NULL means all projects.
CREATE TABLE service_token_grants (
    id                INTEGER PRIMARY KEY,
    service_token_id  INTEGER NOT NULL REFERENCES service_tokens (id),
    permission_set    TEXT NOT NULL,
    project_id        INTEGER REFERENCES projects (id),
    writable_envs     INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL
);
CREATE INDEX service_token_grants_token ON service_token_grants (service_token_id);

CREATE TABLE personal_tokens (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    user_id        INTEGER NOT NULL REFERENCES users (id),
    uid            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    state          INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    token_digest   BLOB NOT NULL UNIQUE,
    hint           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    expires_at     TEXT,
    last_used_at   TEXT
);
CREATE INDEX personal_tokens_user ON personal_tokens (account_id, user_id);

-- Account IP rules (filled in by the admin API issue).
CREATE TABLE ip_rules (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    rule_type    INTEGER NOT NULL CHECK (rule_type IN (1, 2)),
    cidrs        TEXT NOT NULL,
    state        INTEGER NOT NULL DEFAULT 1 CHECK (state IN (1, 2)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER REFERENCES accounts (id),
    actor_type     TEXT NOT NULL,
    actor_id       INTEGER,
    actor_name     TEXT NOT NULL,
    actor_ip       TEXT,
    event_type     TEXT NOT NULL,
    target_type    TEXT NOT NULL,
    target_id      INTEGER,
    event_context  TEXT NOT NULL,
    source         TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX audit_log_account_time ON audit_log (account_id, created_at);

-- The change feed: every command appends what it changed, in its own transaction, so every
-- node (and a server beside a CLI) evicts what it cached.
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    account_id  INTEGER,
    digest      BLOB,
    created_at  TEXT NOT NULL
);
