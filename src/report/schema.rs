//! The JSON Schema (draft 2020-12) of the JSON report, printed by
//! `plainsight schema`. Kept as a file (`schema/report.schema.json`) so
//! consumers can vendor it; `tests/cli_formats.rs` validates every
//! fixture's report against it and fails on fields it does not declare.

/// The schema text.
pub const REPORT: &str = include_str!("../../schema/report.schema.json");

#[cfg(test)]
mod tests {
    #[test]
    fn schema_is_json_and_names_its_dialect() {
        let v: serde_json::Value = serde_json::from_str(super::REPORT).unwrap();
        assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
        let major = crate::report::model::SCHEMA_VERSION
            .split('.')
            .next()
            .unwrap();
        assert!(
            v["properties"]["schema_version"]["pattern"]
                .as_str()
                .unwrap()
                .starts_with(&format!("^{major}\\.")),
            "the schema's version pattern must follow SCHEMA_VERSION"
        );
    }
}
