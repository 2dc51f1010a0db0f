//! Flows: the bidirectional flow table and TCP reassembly.
//!
//! The engine looks up each packet's flow in a [`table::FlowTable`] (which orients it
//! and bounds memory by evicting and expiring flows), feeds TCP segments to one
//! [`tcp::TcpHalf`] per direction, and hands the resulting ordered [`tcp::Delivery`]
//! events (data and explicit gaps) to the dissectors. Both parts are pure: no I/O, no
//! clocks, only packet time.

pub mod table;
pub mod tcp;

pub use table::{
    EndReason, Endpoints, FlowCounters, FlowKey, FlowLimits, FlowTable, OrientationHint,
};
pub use tcp::{Delivery, Flags, MemBudget, TcpAnomaly, TcpHalf, TcpLimits};
