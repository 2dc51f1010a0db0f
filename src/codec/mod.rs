//! Content codecs: decompression with caps, text encodings, protobuf/Thrift walkers.

pub mod compress;
pub mod entities;
pub mod escape;
pub mod protobuf;
pub mod structured;
pub mod thrift;
