//! Flow evidence parked on disk while a one-document report is built.
//!
//! A JSON or table report lists every flow with its evidence, so it cannot
//! be written before the capture ends; held in memory, that evidence grows
//! with the number of flows (several KB each). Past a threshold the builder
//! moves each flow's rendered evidence into an anonymous temporary file as
//! compact JSON and keeps only its place; serialising the report reads it
//! back one item list at a time. Findings' evidence is parked the same way
//! and loaded back by the formats that show it.

use crate::report::model::EvidenceReport;
use serde::{Serialize, Serializer};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

/// An anonymous temporary file that evidence is appended to.
#[derive(Debug)]
pub struct SpillFile {
    file: Mutex<(File, u64)>,
}

impl SpillFile {
    /// A new spill file (deleted by the operating system when closed).
    pub fn new() -> std::io::Result<Arc<SpillFile>> {
        Ok(Arc::new(SpillFile {
            file: Mutex::new((tempfile::tempfile()?, 0)),
        }))
    }

    /// Appends `items` as compact JSON; `None` if the disk refused, so the
    /// caller keeps them in memory instead.
    pub fn park(self: &Arc<Self>, items: &[EvidenceReport]) -> Option<Evidence> {
        let bytes = serde_json::to_vec(items).ok()?;
        let len = u32::try_from(bytes.len()).ok()?;
        let mut guard = self.file.lock().ok()?;
        let (file, end) = &mut *guard;
        file.seek(SeekFrom::Start(*end)).ok()?;
        file.write_all(&bytes).ok()?;
        let offset = *end;
        *end += u64::from(len);
        Some(Evidence(Held::Parked(Parked {
            file: Arc::clone(self),
            offset,
            len,
            count: items.len(),
            first_input: items.iter().find_map(|e| e.input),
        })))
    }

    fn read(&self, offset: u64, len: u32) -> std::io::Result<Vec<u8>> {
        let mut guard = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("spill file lock poisoned"))?;
        let (file, _) = &mut *guard;
        file.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0u8; len as usize];
        file.read_exact(&mut buf)?;
        Ok(buf)
    }
}

/// Where parked evidence sits.
#[derive(Debug, Clone)]
struct Parked {
    file: Arc<SpillFile>,
    offset: u64,
    len: u32,
    count: usize,
    first_input: Option<u32>,
}

#[derive(Debug, Clone)]
enum Held {
    Kept(Vec<EvidenceReport>),
    Parked(Parked),
}

/// A flow's rendered evidence: in memory, or parked in a [`SpillFile`].
/// Dereferences to the items kept in memory (none once parked); it always
/// serialises as the full list.
#[derive(Debug, Clone)]
pub struct Evidence(Held);

impl Evidence {
    /// How many items there are, kept or parked.
    pub fn count(&self) -> usize {
        match &self.0 {
            Held::Kept(v) => v.len(),
            Held::Parked(p) => p.count,
        }
    }

    /// The input (capture file index) of the first item that names one.
    pub fn first_input(&self) -> Option<u32> {
        match &self.0 {
            Held::Kept(v) => v.iter().find_map(|e| e.input),
            Held::Parked(p) => p.first_input,
        }
    }

    /// The items, read back from disk if they were parked (an unreadable
    /// spill file gives none; serialising the report then fails loudly).
    pub fn load(&self) -> std::borrow::Cow<'_, [EvidenceReport]> {
        match &self.0 {
            Held::Kept(v) => std::borrow::Cow::Borrowed(v),
            Held::Parked(p) => std::borrow::Cow::Owned(
                p.file
                    .read(p.offset, p.len)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or_default(),
            ),
        }
    }

    /// Whether the items were moved to disk.
    pub fn is_parked(&self) -> bool {
        matches!(self.0, Held::Parked(_))
    }
}

impl From<Vec<EvidenceReport>> for Evidence {
    fn from(v: Vec<EvidenceReport>) -> Self {
        Evidence(Held::Kept(v))
    }
}

impl std::ops::Deref for Evidence {
    type Target = [EvidenceReport];

    fn deref(&self) -> &[EvidenceReport] {
        match &self.0 {
            Held::Kept(v) => v,
            Held::Parked(_) => &[],
        }
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        match &self.0 {
            Held::Kept(v) => v.serialize(s),
            Held::Parked(p) => {
                let bytes = p
                    .file
                    .read(p.offset, p.len)
                    .map_err(|e| S::Error::custom(format!("reading parked evidence: {e}")))?;
                // Straight from the parked JSON to the output, token by
                // token: no values are built (and key order is kept).
                let mut de = serde_json::Deserializer::from_slice(&bytes);
                serde_transcode::transcode(&mut de, s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::Detail;

    fn item(input: Option<u32>, summary: &str) -> EvidenceReport {
        let mut detail = Detail::new();
        detail.insert("key", serde_json::json!("tls.sni"));
        EvidenceReport {
            kind: "metadata".into(),
            subject: "flow 1".into(),
            layers: vec!["tcp".into(), "tls".into()],
            direction: Some("client-to-server".into()),
            offset: Some(7),
            input,
            packet: Some(3),
            file_offset: None,
            detail,
            summary: summary.into(),
        }
    }

    #[test]
    fn parked_evidence_serialises_exactly_like_kept_evidence() {
        let spill = SpillFile::new().unwrap();
        let a = vec![item(None, "one"), item(Some(2), "two ✓")];
        let b = vec![item(Some(5), "three")];
        let kept_a = serde_json::to_string_pretty(&Evidence::from(a.clone())).unwrap();
        let kept_b = serde_json::to_string_pretty(&Evidence::from(b.clone())).unwrap();
        let pa = spill.park(&a).unwrap();
        let pb = spill.park(&b).unwrap();
        assert!(pa.is_parked() && pa.is_empty());
        assert_eq!((pa.count(), pa.first_input()), (2, Some(2)));
        assert_eq!(pb.first_input(), Some(5));
        assert_eq!(&*pa.load(), &a[..]);
        // Read back in any order.
        assert_eq!(serde_json::to_string_pretty(&pb).unwrap(), kept_b);
        assert_eq!(serde_json::to_string_pretty(&pa).unwrap(), kept_a);
    }
}
