//! plainsight: who can read my messages?
//!
//! Data flow (see `../shared/DESIGN.md`): packet source → decode → flows and
//! reassembly → dissectors (+ decryption) → evidence → rules → verdicts →
//! reports; and store walk → SQLite reader / page carver → evidence → … .

pub mod audit;
pub mod check;
pub mod cli;
pub mod codec;
pub mod decode;
pub mod engine;
pub mod evidence;
pub mod flow;
pub mod model;
pub mod proto;
pub mod report;
pub mod rules;
pub mod run;
pub mod secrets;
pub mod source;
pub mod store;
pub mod verdict;
