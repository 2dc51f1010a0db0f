//! Reports: the document model, how it is built, and its renderers.

pub mod apps;
pub mod build;
pub mod jsonl;
pub mod markdown;
pub mod model;
pub mod sarif;
pub mod schema;
pub mod spill;
pub mod table;

use crate::cli::Format;
use crate::rules::RuleSet;
use model::Report;
use std::io::Write;

/// What renderers need besides the report.
pub struct RenderContext<'a> {
    pub style: table::TableStyle,
    /// Rule descriptions for SARIF `tool.driver.rules`.
    pub rules: &'a RuleSet,
}

/// Writes a finished report in the chosen format.
pub fn write(
    report: &Report,
    format: Format,
    cx: &RenderContext<'_>,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Table => w.write_all(table::render(report, &cx.style).as_bytes()),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *w, report)?;
            w.write_all(b"\n")
        }
        Format::Jsonl => jsonl::write(report, w),
        Format::Sarif => sarif::write(report, cx.rules, w),
        Format::Markdown => w.write_all(markdown::render(report).as_bytes()),
    }
}
