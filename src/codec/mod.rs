//! Content codecs: decompression with caps, text encodings, protobuf/Thrift walkers.

pub mod compress;
