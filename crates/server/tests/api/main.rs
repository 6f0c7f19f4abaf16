//! HTTP API journeys through `oneshot` (the app in-process), most run on both
//! SQLite and PostgreSQL; one file per feature.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod accounts;
mod channels;
mod ingest;
mod platform;
