//! App storage: walk, sniff, copy aside, SQLite reader and page carver.

pub mod sqlite;
