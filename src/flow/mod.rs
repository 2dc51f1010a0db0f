//! Flows: bidirectional flow table and TCP reassembly.
