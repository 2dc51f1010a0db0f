//! Rules: checks and app profiles, as TOML data in `rules/` (embedded into the
//! binary at build time) and in any `--rules DIR`.

pub mod apps;
pub mod eval;
pub mod load;
pub mod model;

pub use load::{RuleError, builtin, load};
pub use model::{AppProfile, Check, RuleSet};
