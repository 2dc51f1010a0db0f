//! The traffic pipeline: packets to flows to dissectors to findings.
