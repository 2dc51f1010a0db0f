//! SQLite: the file format, the page carver, WAL and journal readers, FTS
//! index decoders, and the logical reader (rusqlite on a copy).

pub mod carve;
pub mod format;
pub mod fts;
pub mod image;
pub mod journal;
pub mod reader;
pub mod schema;
pub mod source;
pub mod wal;
