//! Reports: the document model and its renderers.

pub mod model;
