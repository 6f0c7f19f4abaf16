-- Cluster mode with object storage: the bucket folder of a broadcast's media
-- (`vod/{id}/e{epoch}`, see crates/server/src/storage/layout.rs). Set when the
-- broadcast starts; its VOD playlist object appears there once every file it
-- names was uploaded. NULL: the media is on the recording node's disk only.
ALTER TABLE broadcasts ADD COLUMN media_prefix TEXT;
