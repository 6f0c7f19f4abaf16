-- Cluster mode: which node owns a live channel. One row per channel that was
-- ever live in cluster mode; the row stays after release so the epoch keeps
-- counting (media names carry it: no cache can serve an older epoch's object).
CREATE TABLE stream_leases (
    channel_id BIGINT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    node_id TEXT NOT NULL,
    advertise_http TEXT NOT NULL,           -- where other nodes reach the owner
    epoch BIGINT NOT NULL,                  -- +1 at every claim
    broadcast_id BIGINT,                    -- the broadcast this lease covers
    expires_at BIGINT NOT NULL              -- Unix ms; 0 = released
);
CREATE INDEX stream_leases_node ON stream_leases(node_id);
