//! Packet sources: capture files and live interfaces.
