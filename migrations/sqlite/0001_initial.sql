-- AeThex Live schema. Times are Unix milliseconds (BIGINT); flags are integers.
-- Kept identical in meaning to the postgres migration of the same number.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,          -- lower case
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,            -- argon2id PHC string
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,            -- SHA-256 hex of the bearer token
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    owner_id BIGINT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    stream_key_hash TEXT UNIQUE,            -- SHA-256 hex; NULL until the first rotation
    slow_mode_seconds BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE moderators (
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

-- One row per broadcast: the live state (ended_at NULL = live) and its VOD.
CREATE TABLE broadcasts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    duration_ms BIGINT,
    vod_dir TEXT,                           -- relative to the data dir; NULL once deleted
    vod_deleted BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX broadcasts_channel ON broadcasts(channel_id, started_at);

CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX chat_messages_channel ON chat_messages(channel_id, id);

CREATE TABLE bans (
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT,                      -- NULL = permanent ban, else a timeout
    created_by BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

CREATE TABLE blocked_terms (
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    term TEXT NOT NULL,                     -- lower case
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, term)
);

CREATE TABLE mod_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    actor_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    action TEXT NOT NULL,                   -- delete, timeout, ban, unban, slow, add_term, remove_term, add_moderator, remove_moderator
    target_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    target_message_id BIGINT,
    detail TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX mod_log_channel ON mod_log(channel_id, id);
