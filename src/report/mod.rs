//! Reports: the document model, how it is built, and its renderers.

pub mod build;
pub mod model;
pub mod table;

use crate::cli::Format;
use model::Report;
use std::io::Write;

/// Writes a report in the chosen format.
pub fn write(
    report: &Report,
    format: Format,
    style: &table::TableStyle,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Table => w.write_all(table::render(report, style).as_bytes()),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *w, report)?;
            w.write_all(b"\n")
        }
    }
}
