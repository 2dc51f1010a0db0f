//! Decode: link layers, IPv4/IPv6, fragment reassembly.
