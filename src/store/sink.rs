//! Collects a store's evidence under the per-subject cap, with quotas per
//! category so that one kind (thousands of deleted rows) never crowds out
//! another (the one live message that makes the store `exposed`).

use crate::evidence::canary::CanarySet;
use crate::evidence::content::{classify, is_human_text, is_message_text};
use crate::evidence::{Evidence, EvidenceKind, Layer, Origin, SubjectId};
use crate::proto::dissector::{Collector, Limits, push_capped};
use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// A layer whose name is only known at run time (`message.text_data`).
pub fn named(name: String) -> Layer {
    Layer {
        name: Cow::Owned(name),
        protection: crate::evidence::Protection::None,
    }
}

pub struct Sink<'a> {
    pub id: u32,
    pub canaries: &'a CanarySet,
    out: Collector,
    cap: usize,
    sample: usize,
    used: FxHashMap<String, u32>,
    /// Items dropped by quotas (the cap's own drops are in `out.omitted`).
    dropped: u64,
}

impl<'a> Sink<'a> {
    pub fn new(id: u32, canaries: &'a CanarySet) -> Sink<'a> {
        let l = Limits::default();
        Sink {
            id,
            canaries,
            out: Collector::default(),
            cap: l.max_evidence_per_subject,
            sample: l.sample_bytes,
            used: FxHashMap::default(),
            dropped: 0,
        }
    }

    /// Adds an item unless its category has used its quota.
    pub fn push(
        &mut self,
        kind: EvidenceKind,
        layers: Vec<Layer>,
        offset: Option<u64>,
        origin: Origin,
        category: String,
        quota: u32,
    ) {
        let n = self.used.entry(category).or_default();
        if *n >= quota {
            self.dropped += 1;
            return;
        }
        *n += 1;
        push_capped(
            &mut self.out,
            Evidence {
                kind,
                subject: SubjectId::Store(self.id),
                layers,
                dir: None,
                offset,
                origin,
            },
            self.cap,
        );
    }

    /// Scans a value for canaries; returns the number of hits.
    pub fn canaries(&mut self, bytes: &[u8], layers: &[Layer], origin: &Origin) -> usize {
        if self.canaries.is_empty() || bytes.is_empty() {
            return 0;
        }
        let mut hits = Vec::new();
        self.canaries.scan_once(bytes, |h| hits.push(h));
        let n = hits.len();
        for h in hits {
            let cat = format!(
                "canary:{}:{}",
                h.canary,
                crate::evidence::provenance::chain(layers)
            );
            self.push(
                EvidenceKind::Canary {
                    canary: h.canary,
                    encoding: h.encoding,
                    context: h.context,
                },
                layers.to_vec(),
                Some(h.offset),
                origin.clone(),
                cat,
                4,
            );
        }
        n
    }

    /// Reports message-like text in a field; returns whether it was text.
    /// A `declared` field (an app profile's message column) is judged as a
    /// message field; anything else must read as running text.
    #[allow(clippy::too_many_arguments)]
    pub fn content(
        &mut self,
        field: &str,
        text: &[u8],
        declared: bool,
        layers: &[Layer],
        origin: &Origin,
        quota: u32,
    ) -> bool {
        let text_like = if declared {
            is_message_text(text)
        } else {
            is_human_text(text)
        };
        if !text_like {
            return false;
        }
        let class = classify(text).class;
        self.push(
            EvidenceKind::Content {
                field: Cow::Owned(field.to_string()),
                class: if class == crate::evidence::PayloadClass::Short {
                    crate::evidence::PayloadClass::Text
                } else {
                    class
                },
                len: text.len() as u64,
                sample: text[..text.len().min(self.sample)].to_vec(),
            },
            layers.to_vec(),
            None,
            origin.clone(),
            format!(
                "content:{field}:{}",
                crate::evidence::provenance::chain(layers)
            ),
            quota,
        );
        true
    }

    pub fn meta(&mut self, key: &'static str, value: String, layers: Vec<Layer>, origin: Origin) {
        self.push(
            EvidenceKind::Metadata {
                key: Cow::Borrowed(key),
                value,
            },
            layers,
            None,
            origin,
            format!("meta:{key}"),
            2,
        );
    }

    pub fn retention(
        &mut self,
        place: &'static str,
        detail: String,
        layers: Vec<Layer>,
        offset: Option<u64>,
        origin: Origin,
    ) {
        self.push(
            EvidenceKind::Retention {
                place: Cow::Borrowed(place),
                detail,
            },
            layers,
            offset,
            origin,
            format!("retention:{place}"),
            8,
        );
    }

    pub fn anomaly(&mut self, code: &'static str, detail: String, origin: Origin) {
        self.push(
            EvidenceKind::Anomaly {
                code: Cow::Borrowed(code),
                detail,
            },
            vec![Layer::plain("sqlite")],
            None,
            origin,
            format!("anomaly:{code}"),
            4,
        );
    }

    pub fn finish(self) -> (Vec<Evidence>, u64) {
        (self.out.evidence, self.out.omitted + self.dropped)
    }
}
