//! HTTP/1.x.

pub mod seen;
