//! The page carver: recovers deleted records from raw pages without SQLite.
//!
//! Passes, each bounded in memory (one page buffer, a role byte and an owner
//! per page, and the candidate list):
//! 1. **Structure**: read the schema from the `sqlite_master` b-tree, walk
//!    every b-tree's interior pages, the freelist and the pointer maps, so
//!    each page gets a role (live leaf of table T, freelist trunk/leaf, ...).
//!    Deleted schema rows on the schema pages give back dropped tables.
//! 2. **Carve**: walk every page in file order; on live table leaves carve
//!    freeblocks (first 4 bytes overwritten: storage.md §2.6 reconstruction)
//!    and the unallocated gap; on freelist and orphan pages carve every cell.
//!    Then the page images outside the current state (stale/historic/
//!    uncommitted WAL frames, pre-checkpoint main pages, journal images).
//! 3. **Exclude**: hash every live row and drop candidates equal to one, so a
//!    relocated or stale copy of a live row is never reported as deleted.

use super::format::{
    self, Class, Overflow, PageHeader, PageKind, TextEncoding, Value, ValueRef, be16, be32,
    decode_value, record_header, serial_size, varint,
};
use super::image::{FileRole, Image, Loc, OtherPage, Version};
use super::schema::{Affinity, Column, SchemaRow, Table, parse_create_table};
use crate::evidence::canary::{CanarySet, Hit};
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use std::hash::Hasher;

/// Where a carved record or raw hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// A freeblock inside a live b-tree page.
    Freeblock,
    /// The unallocated gap between the cell pointers and the cell content.
    Unallocated,
    /// A freelist leaf or trunk page.
    Freelist,
    /// A page in no b-tree and not on the freelist.
    OrphanPage,
    WalStale,
    WalHistoric,
    WalUncommitted,
    PreCheckpoint,
    Journal,
}

impl Place {
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Freeblock => "freeblock",
            Place::Unallocated => "unallocated",
            Place::Freelist => "freelist",
            Place::OrphanPage => "orphan-page",
            Place::WalStale => "wal-stale",
            Place::WalHistoric => "wal-historic",
            Place::WalUncommitted => "wal-uncommitted",
            Place::PreCheckpoint => "pre-checkpoint",
            Place::Journal => "journal",
        }
    }

    /// Whether content found here was deleted or superseded. Orphan pages
    /// are unreachable (usually damage), not evidence of deletion.
    pub fn is_residue(self) -> bool {
        self != Place::OrphanPage
    }

    fn of_version(v: Version) -> Place {
        match v {
            Version::WalStale | Version::WalInvalid => Place::WalStale,
            Version::WalHistoric => Place::WalHistoric,
            Version::WalUncommitted => Place::WalUncommitted,
            Version::PreCheckpoint => Place::PreCheckpoint,
            Version::Journal => Place::Journal,
        }
    }
}

/// A recovered record.
#[derive(Debug, Clone, PartialEq)]
pub struct Carved {
    pub place: Place,
    /// Table the record was attributed to, when the schema allows.
    pub table: Option<String>,
    /// Table owning the page it was found on (residue in the gap may predate it).
    pub page_table: Option<String>,
    /// Column names of that table, in record order (shared by its records).
    pub columns: std::sync::Arc<[String]>,
    pub rowid: Option<i64>,
    pub values: Vec<Value>,
    /// Where the cell starts.
    pub loc: Loc,
    pub pgno: u32,
    pub frame: Option<u32>,
    /// The record header was partly overwritten and rebuilt from the schema.
    pub reconstructed: bool,
    /// The payload was reassembled from freed overflow pages.
    pub overflow: bool,
    /// Further places holding the same values (same table).
    pub copies: u32,
}

/// A canary found in raw free space outside any decoded record.
#[derive(Debug, Clone)]
pub struct RawHit {
    pub place: Place,
    pub loc: Loc,
    pub pgno: u32,
    pub hit: Hit,
}

/// Counters that describe what the carver saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub pages: u64,
    pub table_leaves: u64,
    pub freelist_trunks: u64,
    pub freelist_leaves: u64,
    pub orphan_pages: u64,
    pub freeblocks: u64,
    pub freeblock_bytes: u64,
    /// Freeblocks whose bytes after the 4-byte header are all zero.
    pub freeblocks_zeroed: u64,
    pub gap_bytes: u64,
    /// Freelist leaf pages that are entirely zero.
    pub freelist_zeroed: u64,
    pub other_pages: u64,
    pub candidates: u64,
    pub live_copies_dropped: u64,
    pub duplicates: u64,
    pub corrupt_pages: u64,
}

pub struct CarveOptions {
    /// Candidates kept in memory at most (the rest are counted).
    pub max_candidates: usize,
    /// Largest payload reassembled from overflow pages.
    pub max_payload: usize,
}

impl Default for CarveOptions {
    fn default() -> Self {
        CarveOptions {
            max_candidates: 100_000,
            max_payload: 4 << 20,
        }
    }
}

#[derive(Debug, Default)]
pub struct CarveReport {
    pub records: Vec<Carved>,
    pub raw_hits: Vec<RawHit>,
    pub stats: Stats,
    pub tables: Vec<Table>,
    /// Tables whose schema row was deleted but recovered from free space.
    pub dropped: Vec<Table>,
    pub schema: Vec<SchemaRow>,
    /// `(file, offset, message)`: corrupt pages are skipped and named here.
    pub warnings: Vec<(FileRole, Option<u64>, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Unknown,
    TableLeaf,
    TableInterior,
    IndexLeaf,
    IndexInterior,
    Overflow,
    FreeTrunk,
    FreeLeaf,
    PtrMap,
    Reserved,
    Corrupt,
}

/// Type expectations for one table's records.
#[derive(Debug, Clone)]
struct Profile {
    name: String,
    root: u32,
    columns: std::sync::Arc<[String]>,
    /// Allowed storage classes per column (bits of [`Class::bit`]).
    allowed: Vec<u8>,
    /// Exact serial types seen in live rows for small types (bit t for t < 12),
    /// bit 12 text, bit 13 blob.
    seen: Vec<u16>,
    rowid_alias: Option<usize>,
    not_null: Vec<bool>,
    sampled: u32,
}

impl Profile {
    fn new(t: &Table) -> Profile {
        let allowed = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if Some(i) == t.rowid_alias {
                    Class::Null.bit()
                } else {
                    allowed_for(c)
                }
            })
            .collect();
        Profile {
            name: t.name.clone(),
            root: t.root,
            columns: t
                .columns
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
                .into(),
            allowed,
            seen: vec![0; t.columns.len()],
            rowid_alias: t.rowid_alias,
            not_null: t.columns.iter().map(|c| c.not_null).collect(),
            sampled: 0,
        }
    }

    fn ncols(&self) -> usize {
        self.allowed.len()
    }

    fn learn(&mut self, types: &[u64]) {
        if types.len() > self.ncols() {
            return;
        }
        self.sampled += 1;
        for (i, &t) in types.iter().enumerate() {
            self.allowed[i] |= Class::of(t).bit();
            self.seen[i] |= seen_bit(t);
        }
    }

    fn compatible(&self, types: &[u64], from: usize) -> bool {
        types.len() + from == self.ncols()
            && types
                .iter()
                .enumerate()
                .all(|(i, &t)| self.allowed[from + i] & Class::of(t).bit() != 0)
    }
}

fn seen_bit(t: u64) -> u16 {
    match t {
        0..=11 => 1 << t,
        t if t % 2 == 1 => 1 << 12,
        _ => 1 << 13,
    }
}

fn allowed_for(c: &Column) -> u8 {
    let null = if c.not_null { 0 } else { Class::Null.bit() };
    null | match c.affinity {
        Affinity::Integer => Class::Int.bit(),
        Affinity::Real => Class::Real.bit() | Class::Int.bit(),
        Affinity::Text => Class::Text.bit(),
        Affinity::Numeric => Class::Int.bit() | Class::Real.bit() | Class::Text.bit(),
        Affinity::Blob => 0x1f,
    }
}

fn master_table() -> Table {
    let col = |n: &str, a: Affinity| Column {
        name: n.into(),
        decl: String::new(),
        affinity: a,
        not_null: false,
    };
    Table {
        name: "sqlite_master".into(),
        root: 1,
        columns: vec![
            col("type", Affinity::Text),
            col("name", Affinity::Text),
            col("tbl_name", Affinity::Text),
            col("rootpage", Affinity::Integer),
            col("sql", Affinity::Text),
        ],
        rowid_alias: None,
        without_rowid: false,
        module: None,
        module_args: Vec::new(),
    }
}

/// A candidate record before live-row exclusion.
struct Cand {
    rec: Carved,
    profile: Option<usize>,
    /// Cell byte range `[loc.offset, loc.offset + len)`.
    len: u64,
    hash: u64,
}

/// A record whose payload continues on overflow pages, resolved after pass 2.
struct Pending {
    rec: Carved,
    profile: Option<usize>,
    /// Profile whose types the record must fit (may differ from the
    /// reported table, which can be unknown).
    decode_with: Option<usize>,
    len: u64,
    /// The local part of the payload (starting at the record header).
    local: Vec<u8>,
    payload_len: u64,
    first_overflow: u32,
}

struct Carver<'a> {
    img: &'a Image,
    canaries: Option<&'a CanarySet>,
    opts: &'a CarveOptions,
    enc: TextEncoding,
    usable: usize,
    ov: Overflow,
    role: Vec<Role>,
    owner: Vec<u32>,
    profiles: Vec<Profile>,
    /// Profiles from this index on are dropped tables.
    first_dropped: usize,
    /// Profile index by root page.
    by_root: FxHashMap<u32, usize>,
    cands: Vec<Cand>,
    pending: Vec<Pending>,
    raw: Vec<RawHit>,
    stats: Stats,
    warnings: Vec<(FileRole, Option<u64>, String)>,
    tables: Vec<Table>,
    dropped: Vec<Table>,
    schema: Vec<SchemaRow>,
}

/// Carves every deleted record and raw canary hit from a database image.
pub fn carve(img: &Image, canaries: Option<&CanarySet>, opts: &CarveOptions) -> CarveReport {
    let n = img.walk_pages as usize + 1;
    let mut c = Carver {
        img,
        canaries: canaries.filter(|c| !c.is_empty()),
        opts,
        enc: img.header.encoding,
        usable: img.usable,
        ov: Overflow::table_leaf(img.usable),
        role: vec![Role::Unknown; n],
        owner: vec![u32::MAX; n],
        profiles: Vec::new(),
        first_dropped: usize::MAX,
        by_root: FxHashMap::default(),
        cands: Vec::new(),
        pending: Vec::new(),
        raw: Vec::new(),
        stats: Stats::default(),
        warnings: Vec::new(),
        tables: Vec::new(),
        dropped: Vec::new(),
        schema: Vec::new(),
    };
    c.structure();
    c.carve_pages();
    c.carve_other_pages();
    c.resolve_overflow();
    c.exclude_live();
    c.finish()
}

impl<'a> Carver<'a> {
    fn warn(&mut self, pgno: u32, msg: String) {
        let loc = self.img.loc(pgno);
        if self.warnings.len() < 1000 {
            self.warnings.push((loc.file, Some(loc.offset), msg));
        }
    }

    fn walk_pages(&self) -> u32 {
        self.img.walk_pages
    }

    fn hdr_at(pgno: u32) -> usize {
        if pgno == 1 { 100 } else { 0 }
    }

    // ---------------------------------------------------------------- pass 1

    fn structure(&mut self) {
        let psz = self.img.page_size;
        let mut buf = vec![0u8; psz];
        // The lock-byte page and pointer maps.
        let lock = (0x4000_0000u64 / psz as u64 + 1) as usize;
        if lock < self.role.len() {
            self.role[lock] = Role::Reserved;
        }
        if self.img.header.largest_root != 0 {
            let per = self.usable / 5 + 1;
            let mut p = 2usize;
            while p < self.role.len() {
                self.role[p] = Role::PtrMap;
                p += per;
            }
        }
        // Schema rows from the sqlite_master tree.
        let master = master_table();
        let mp = Profile::new(&master);
        self.profiles.push(mp);
        self.by_root.insert(1, 0);
        self.tables.push(master);
        let mut schema_leaves = Vec::new();
        self.walk_tree(1, 0, true, &mut buf, &mut schema_leaves);
        for &leaf in &schema_leaves {
            if self.img.page(leaf, &mut buf).is_none() {
                continue;
            }
            let Some(h) = PageHeader::parse(&buf, Self::hdr_at(leaf), self.usable) else {
                continue;
            };
            for at in h.cell_ptrs(&buf, self.usable).collect::<Vec<_>>() {
                if let Some(vals) = self.live_row(&buf, at)
                    && let Some(row) = schema_row(&vals)
                {
                    self.schema.push(row);
                }
            }
        }
        // Every other b-tree.
        let rows = self.schema.clone();
        for row in &rows {
            if row.rootpage == 0 || row.rootpage as usize >= self.role.len() {
                continue;
            }
            let table = if row.kind == "table" {
                parse_create_table(&row.sql, row.rootpage)
            } else {
                None
            };
            let (pi, is_table) = match table {
                Some(t) if t.module.is_none() && !t.without_rowid => {
                    let pi = self.profiles.len();
                    self.profiles.push(Profile::new(&t));
                    self.by_root.insert(row.rootpage, pi);
                    self.tables.push(t);
                    (pi as u32, true)
                }
                Some(t) => {
                    self.tables.push(t);
                    (u32::MAX, false)
                }
                None => (u32::MAX, false),
            };
            let mut leaves = Vec::new();
            self.walk_tree(row.rootpage, pi, is_table, &mut buf, &mut leaves);
            if is_table {
                self.sample_profile(pi as usize, &leaves, &mut buf);
            }
        }
        for t in &rows {
            if t.kind == "table"
                && let Some(t) = parse_create_table(&t.sql, t.rootpage)
                && t.module.is_some()
                && !self.tables.iter().any(|x| x.name == t.name)
            {
                self.tables.push(t);
            }
        }
        self.freelist(&mut buf);
        self.recover_dropped_schema(&schema_leaves, &mut buf);
    }

    /// Walks a b-tree from its root, assigning roles; collects leaf page numbers.
    fn walk_tree(
        &mut self,
        root: u32,
        owner: u32,
        table: bool,
        buf: &mut [u8],
        leaves: &mut Vec<u32>,
    ) {
        let mut stack = vec![root];
        while let Some(p) = stack.pop() {
            let pi = p as usize;
            if p == 0 || pi >= self.role.len() {
                let name = self.tree_name(owner);
                self.warn(
                    root,
                    format!("b-tree of {name} points to page {p}, outside the database"),
                );
                continue;
            }
            if self.role[pi] != Role::Unknown {
                if self.role[pi] != Role::Reserved && self.role[pi] != Role::PtrMap {
                    self.warn(p, format!("page {p} is referenced twice; skipped"));
                }
                continue;
            }
            if self.img.page(p, buf).is_none() {
                self.role[pi] = Role::Corrupt;
                self.warn(p, format!("page {p} cannot be read"));
                continue;
            }
            let Some(h) = PageHeader::parse(buf, Self::hdr_at(p), self.usable) else {
                self.role[pi] = Role::Corrupt;
                self.stats.corrupt_pages += 1;
                let name = self.tree_name(owner);
                self.warn(
                    p,
                    format!("page {p} of {name} has no valid b-tree header; skipped"),
                );
                continue;
            };
            if h.kind.is_table() != table {
                self.role[pi] = Role::Corrupt;
                self.stats.corrupt_pages += 1;
                self.warn(
                    p,
                    format!("page {p} has the wrong b-tree type for its tree; skipped"),
                );
                continue;
            }
            self.owner[pi] = owner;
            self.role[pi] = match h.kind {
                PageKind::LeafTable => Role::TableLeaf,
                PageKind::InteriorTable => Role::TableInterior,
                PageKind::LeafIndex => Role::IndexLeaf,
                PageKind::InteriorIndex => Role::IndexInterior,
            };
            if h.kind.is_leaf() {
                leaves.push(p);
                continue;
            }
            let mut kids: Vec<u32> = h
                .cell_ptrs(buf, self.usable)
                .filter_map(|at| format::interior_child(buf, at))
                .collect();
            kids.push(h.right_child);
            // Balanced tree: when one child is a leaf, so are its siblings;
            // claim them without reading (pass 2 checks their headers).
            let first = kids[0];
            let mut child = vec![0u8; buf.len()];
            let first_is_leaf = (first as usize) < self.role.len()
                && self.img.page(first, &mut child).is_some()
                && child.get(Self::hdr_at(first)).copied() == Some(if table { 13 } else { 10 });
            if first_is_leaf {
                for k in kids {
                    let ki = k as usize;
                    if k == 0 || ki >= self.role.len() {
                        self.warn(
                            p,
                            format!("page {p} points to page {k}, outside the database"),
                        );
                        continue;
                    }
                    if self.role[ki] != Role::Unknown {
                        self.warn(k, format!("page {k} is referenced twice; skipped"));
                        continue;
                    }
                    self.role[ki] = if table {
                        Role::TableLeaf
                    } else {
                        Role::IndexLeaf
                    };
                    self.owner[ki] = owner;
                    leaves.push(k);
                }
            } else {
                stack.extend(kids.into_iter().rev());
            }
        }
    }

    fn tree_name(&self, owner: u32) -> String {
        self.profiles
            .get(owner as usize)
            .map_or_else(|| "an index".to_string(), |p| format!("table {}", p.name))
    }

    /// Learns observed serial types from a few leaves of a table.
    fn sample_profile(&mut self, pi: usize, leaves: &[u32], buf: &mut [u8]) {
        let (mut seen, mut misfit) = (0u32, 0u32);
        for &leaf in leaves.iter().take(4) {
            if self.img.page(leaf, buf).is_none() {
                continue;
            }
            let Some(h) = PageHeader::parse(buf, Self::hdr_at(leaf), self.usable) else {
                continue;
            };
            if h.kind != PageKind::LeafTable {
                continue;
            }
            for at in h.cell_ptrs(buf, self.usable).take(64) {
                if let Some(cell) = format::leaf_cell(buf, at, self.usable, &self.ov)
                    && let Some(local) = buf.get(cell.payload_at..cell.payload_at + cell.local)
                    && let Some((types, _)) = record_header(local, 4096)
                {
                    seen += 1;
                    // Affinity is only a preference (an INTEGER column may
                    // hold text), so only structural contradictions count:
                    // more columns than declared, a value in the rowid
                    // alias, NULL in a NOT NULL column.
                    let prof = &self.profiles[pi];
                    let contradicts = types.len() > prof.ncols()
                        || prof
                            .rowid_alias
                            .is_some_and(|a| types.get(a).is_some_and(|&t| t != 0))
                        || types
                            .iter()
                            .zip(&prof.not_null)
                            .any(|(&t, &nn)| nn && t == 0);
                    if contradicts {
                        misfit += 1;
                    } else {
                        self.profiles[pi].learn(&types);
                    }
                }
            }
        }
        if seen > 0 && misfit * 2 > seen {
            let (name, root) = (self.profiles[pi].name.clone(), self.profiles[pi].root);
            self.warn(
                root,
                format!("rows under table {name}'s root page {root} do not fit its schema ({misfit} of {seen} sampled): root page pointers switched or damaged?"),
            );
        }
    }

    fn freelist(&mut self, buf: &mut [u8]) {
        let mut trunk = self.img.header.first_trunk;
        let expected = self.img.header.freelist_count;
        let mut seen = 0u32;
        let mut hops = 0u32;
        while trunk != 0 {
            let ti = trunk as usize;
            hops += 1;
            if ti >= self.role.len() || hops > self.walk_pages() {
                self.warn(1, format!("freelist trunk pointer {trunk} is out of range"));
                break;
            }
            if self.role[ti] != Role::Unknown {
                self.warn(
                    trunk,
                    format!("freelist trunk page {trunk} is also in use; freelist walk stopped"),
                );
                break;
            }
            if self.img.page(trunk, buf).is_none() {
                break;
            }
            self.role[ti] = Role::FreeTrunk;
            seen += 1;
            let next = be32(buf, 0).unwrap_or(0);
            let n = be32(buf, 4).unwrap_or(0) as usize;
            if n > (self.usable - 8) / 4 {
                self.warn(
                    trunk,
                    format!("freelist trunk page {trunk} claims {n} leaves; page skipped"),
                );
                break;
            }
            for i in 0..n {
                let leaf = be32(buf, 8 + 4 * i).unwrap_or(0) as usize;
                if leaf == 0 || leaf >= self.role.len() {
                    continue;
                }
                if self.role[leaf] == Role::Unknown {
                    self.role[leaf] = Role::FreeLeaf;
                    seen += 1;
                }
            }
            trunk = next;
        }
        if seen != expected {
            self.warn(
                1,
                format!("freelist holds {seen} pages, the header says {expected}"),
            );
        }
    }

    /// Deleted `sqlite_master` rows on the schema pages name dropped tables.
    fn recover_dropped_schema(&mut self, schema_leaves: &[u32], buf: &mut [u8]) {
        let before = self.cands.len();
        let raw_before = self.raw.len();
        for &leaf in schema_leaves {
            let Some(loc) = self.img.page(leaf, buf) else {
                continue;
            };
            let at = At {
                p: leaf,
                loc,
                hint: Some(0),
                place: Place::Freeblock,
                frame: None,
                owned: true,
            };
            self.carve_btree_free(buf, at);
        }
        for c in &self.cands[before..] {
            let Some(row) = schema_row(&c.rec.values) else {
                continue;
            };
            if row.kind != "table" || self.tables.iter().any(|t| t.name == row.name) {
                continue;
            }
            if let Some(t) = parse_create_table(&row.sql, row.rootpage)
                && t.module.is_none()
                && !t.without_rowid
                && !self.dropped.iter().any(|d| d.name == t.name)
            {
                self.dropped.push(t);
            }
        }
        // Pass 2 carves the schema pages again with everything else.
        self.cands.truncate(before);
        self.raw.truncate(raw_before);
        self.stats = Stats::default();
        self.first_dropped = self.profiles.len();
        for t in self.dropped.clone() {
            let pi = self.profiles.len();
            self.profiles.push(Profile::new(&t));
            if t.root != 0 && !self.by_root.contains_key(&t.root) {
                self.by_root.insert(t.root, pi);
            }
        }
    }

    // ---------------------------------------------------------------- pass 2

    fn carve_pages(&mut self) {
        let psz = self.img.page_size;
        let mut buf = vec![0u8; psz];
        for p in 1..=self.walk_pages() {
            let pi = p as usize;
            let role = self.role[pi];
            if matches!(role, Role::Reserved | Role::PtrMap | Role::Corrupt) {
                continue;
            }
            let Some(loc) = self.img.page(p, &mut buf) else {
                self.warn(p, format!("page {p} cannot be read (file truncated)"));
                break;
            };
            self.stats.pages += 1;
            match role {
                Role::TableLeaf => {
                    self.stats.table_leaves += 1;
                    let owner = self.owner[pi];
                    self.live_leaf(&buf, p, loc, owner);
                }
                Role::IndexLeaf | Role::IndexInterior | Role::TableInterior => {
                    if let Some(h) = PageHeader::parse(&buf, Self::hdr_at(p), self.usable) {
                        if h.kind.is_leaf() != (role == Role::IndexLeaf)
                            && role != Role::TableInterior
                        {
                            self.stats.corrupt_pages += 1;
                            self.warn(
                                p,
                                format!("page {p} is not the leaf its parent claims; skipped"),
                            );
                            continue;
                        }
                        self.free_regions_raw(&buf, p, loc, &h);
                    }
                }
                Role::FreeLeaf => {
                    self.stats.freelist_leaves += 1;
                    if buf.iter().all(|&b| b == 0) {
                        self.stats.freelist_zeroed += 1;
                        continue;
                    }
                    self.dead_page(&buf, p, loc, Place::Freelist, None);
                }
                Role::FreeTrunk => {
                    self.stats.freelist_trunks += 1;
                    let n = be32(&buf, 4).unwrap_or(0) as usize;
                    let start = (8 + 4 * n).min(self.usable);
                    let end = self.usable;
                    self.raw_scan(&buf[start..end], Place::Freelist, shift(loc, start), p);
                    let at = At {
                        p,
                        loc,
                        hint: None,
                        place: Place::Freelist,
                        frame: None,
                        owned: false,
                    };
                    self.scan_region(&buf, start, end, false, at);
                }
                Role::Unknown | Role::Overflow => {
                    if let Some(h) = PageHeader::parse(&buf, 0, self.usable)
                        && h.kind == PageKind::LeafTable
                        && p > 1
                    {
                        self.stats.orphan_pages += 1;
                        self.dead_page(&buf, p, loc, Place::OrphanPage, None);
                    }
                }
                Role::Reserved | Role::PtrMap | Role::Corrupt => {}
            }
        }
    }

    /// Carves the free space of a live table leaf and marks live overflow chains.
    fn live_leaf(&mut self, buf: &[u8], p: u32, loc: Loc, owner: u32) {
        let Some(h) = PageHeader::parse(buf, Self::hdr_at(p), self.usable) else {
            self.stats.corrupt_pages += 1;
            self.warn(p, format!("page {p} has no valid b-tree header; skipped"));
            return;
        };
        if h.kind != PageKind::LeafTable {
            self.stats.corrupt_pages += 1;
            self.warn(
                p,
                format!("page {p} is not the table leaf its parent claims; skipped"),
            );
            return;
        }
        self.check_live_cells(buf, p, &h);
        let hint = (owner != u32::MAX).then_some(owner as usize);
        let at = At {
            p,
            loc,
            hint,
            place: Place::Freeblock,
            frame: None,
            owned: true,
        };
        self.carve_btree_free(buf, at);
    }

    /// Checks every live cell of a table leaf and marks its overflow chain
    /// (so freed-page carving never reads it). Manipulated or damaged cells
    /// are named: pointers outside the content area, overlapping cells,
    /// records whose serial types disagree with the cell, broken overflow
    /// chains, text hiding bytes after a NUL.
    fn check_live_cells(&mut self, buf: &[u8], p: u32, h: &PageHeader) {
        let mut problems: Vec<String> = Vec::new();
        let ptrs: Vec<usize> = h.cell_ptrs(buf, self.usable).collect();
        if ptrs.len() < h.cells as usize {
            problems.push(format!(
                "{} of {} cell pointers point outside the page",
                h.cells as usize - ptrs.len(),
                h.cells
            ));
        }
        let mut spans = Vec::with_capacity(ptrs.len());
        for (i, &at) in ptrs.iter().enumerate() {
            let Some(cell) = format::leaf_cell(buf, at, self.usable, &self.ov) else {
                problems.push(format!("cell {i} at offset {at} runs past the page end"));
                continue;
            };
            if at < h.content_start {
                problems.push(format!(
                    "cell pointer {i} ({at}) points below the cell content area ({})",
                    h.content_start
                ));
            }
            spans.push((at, at + cell.size));
            let local = &buf[cell.payload_at..cell.payload_at + cell.local];
            match record_header(local, 4096) {
                None => problems.push(format!(
                    "record header of the cell at offset {at} is malformed"
                )),
                Some((types, hlen)) => {
                    match format::body_len(&types) {
                        Some(b) if b.checked_add(hlen as u64) == Some(cell.payload_len) => {}
                        Some(b) => problems.push(format!(
                            "record at offset {at}: its serial types need {} bytes, the cell says {}",
                            b.saturating_add(hlen as u64),
                            cell.payload_len
                        )),
                        None => problems.push(format!("record at offset {at} has a reserved serial type")),
                    }
                    let mut off = hlen;
                    for t in types {
                        let n = serial_size(t).unwrap_or(0) as usize;
                        if t >= 13
                            && t % 2 == 1
                            && self.enc == TextEncoding::Utf8
                            && let Some(v) = local.get(off..off.saturating_add(n).min(local.len()))
                            && let Some(z) = memchr::memchr(0, v)
                            && v[z..].iter().any(|&b| b != 0)
                        {
                            problems.push(format!(
                                "text at offset {} hides {} bytes after a NUL",
                                cell.payload_at + off,
                                v.len() - z - 1
                            ));
                        }
                        off = off.saturating_add(n);
                    }
                }
            }
            if cell.overflow != 0
                && let Err(why) =
                    self.mark_overflow(cell.overflow, cell.payload_len - cell.local as u64)
            {
                problems.push(format!("overflow chain of the cell at offset {at}: {why}"));
            }
        }
        spans.sort_unstable();
        // Cells, freeblocks and fragment bytes must account for the whole
        // content area; a hole means a freeblock was unlinked to hide it.
        let (blocks, chain_ok) = h.freeblocks(buf, self.usable);
        if chain_ok {
            let area = self.usable.saturating_sub(h.content_start);
            let covered: usize = spans.iter().map(|(a, b)| b - a).sum::<usize>()
                + blocks.iter().map(|(_, n)| n).sum::<usize>()
                + h.fragmented as usize;
            if covered < area {
                problems.push(format!(
                    "{} bytes of the content area are neither cells nor freeblocks (the header counts {} fragmented)",
                    area - covered,
                    h.fragmented
                ));
            }
        }
        if let Some(w) = spans.windows(2).find(|w| w[1].0 < w[0].1) {
            problems.push(format!(
                "cells at offsets {} and {} overlap (manipulated cell pointers?)",
                w[0].0, w[1].0
            ));
        }
        let n = problems.len();
        for msg in problems.into_iter().take(3) {
            self.warn(p, format!("page {p}: {msg}"));
        }
        if n > 3 {
            self.warn(p, format!("page {p}: {} more cell problems", n - 3));
        }
    }

    fn mark_overflow(&mut self, first: u32, remaining: u64) -> Result<(), String> {
        let per = (self.usable - 4) as u64;
        let mut n = remaining.div_ceil(per);
        let mut pg = first;
        let mut b = [0u8; 4];
        while n > 0 {
            let pi = pg as usize;
            if pg == 0 {
                return Err(format!("ends {n} page(s) early"));
            }
            if pi >= self.role.len() {
                return Err(format!("points to page {pg}, outside the database"));
            }
            if !matches!(self.role[pi], Role::Unknown) {
                return Err(format!("page {pg} is already in use ({:?})", self.role[pi]));
            }
            self.role[pi] = Role::Overflow;
            let loc = self.img.loc(pg);
            if !self.img.read(loc, &mut b) {
                return Err(format!("page {pg} cannot be read"));
            }
            pg = u32::from_be_bytes(b);
            n -= 1;
        }
        if pg != 0 {
            return Err(format!("continues past its payload to page {pg}"));
        }
        Ok(())
    }

    /// Freeblocks and the gap of a b-tree page; `hint` is the owning profile.
    fn carve_btree_free(&mut self, buf: &[u8], at: At) {
        let Some(h) = PageHeader::parse(buf, Self::hdr_at(at.p), self.usable) else {
            return;
        };
        let (blocks, ok) = h.freeblocks(buf, self.usable);
        if !ok {
            let p = at.p;
            self.warn(
                p,
                format!("page {p}: freeblock chain is broken; carved up to the break"),
            );
        }
        // Gap residue may predate the page's current table (a table dropped
        // and its page reused): it is never attributed by ownership alone.
        let gap_at = At {
            place: if at.place == Place::Freeblock {
                Place::Unallocated
            } else {
                at.place
            },
            // The schema pages only ever hold schema rows.
            owned: at.hint == Some(0),
            ..at
        };
        let gap = (h.ptr_end(), h.content_start.min(self.usable));
        if gap.1 > gap.0 {
            self.stats.gap_bytes += (gap.1 - gap.0) as u64;
            self.raw_scan(&buf[gap.0..gap.1], gap_at.place, shift(at.loc, gap.0), at.p);
            self.scan_region(buf, gap.0, gap.1, false, gap_at);
        }
        for (off, size) in blocks {
            if at.place == Place::Freeblock {
                self.stats.freeblocks += 1;
                self.stats.freeblock_bytes += size as u64;
                if buf[off + 4..off + size].iter().all(|&b| b == 0) {
                    self.stats.freeblocks_zeroed += 1;
                    continue;
                }
            }
            self.raw_scan(
                &buf[off + 4..off + size],
                at.place,
                shift(at.loc, off + 4),
                at.p,
            );
            self.scan_region(buf, off, off + size, true, at);
        }
    }

    /// Raw canary scan of free bytes only (index and interior pages).
    fn free_regions_raw(&mut self, buf: &[u8], p: u32, loc: Loc, h: &PageHeader) {
        if self.canaries.is_none() {
            return;
        }
        let (blocks, _) = h.freeblocks(buf, self.usable);
        let gap = (h.ptr_end(), h.content_start.min(self.usable));
        if gap.1 > gap.0 {
            self.raw_scan(&buf[gap.0..gap.1], Place::Unallocated, shift(loc, gap.0), p);
        }
        for (at, size) in blocks {
            self.raw_scan(
                &buf[at + 4..at + size],
                Place::Freeblock,
                shift(loc, at + 4),
                p,
            );
        }
    }

    /// A page no b-tree uses any more: every cell is deleted content.
    fn dead_page(&mut self, buf: &[u8], p: u32, loc: Loc, place: Place, frame: Option<u32>) {
        let hdr = if p == 1 { 100 } else { 0 };
        match PageHeader::parse(buf, hdr, self.usable) {
            Some(h) if h.kind == PageKind::LeafTable => {
                let hint = self.page_hint(buf, &h, p);
                let at = At {
                    p,
                    loc,
                    hint,
                    place,
                    frame,
                    owned: true,
                };
                for off in h.cell_ptrs(buf, self.usable).collect::<Vec<_>>() {
                    self.intact_at(buf, off, self.usable, at, true);
                }
                self.carve_btree_free(buf, at);
            }
            Some(h) => self.free_regions_raw(buf, p, loc, &h),
            None if place == Place::Freelist => {
                // Old overflow page or index page content: raw canary scan only.
                self.raw_scan(&buf[..self.usable], place, loc, p);
            }
            None => {}
        }
    }

    /// The table a freed leaf page most likely belonged to: the dropped table
    /// rooted here, else the single profile compatible with its cells.
    fn page_hint(&self, buf: &[u8], h: &PageHeader, p: u32) -> Option<usize> {
        if let Some(&pi) = self.by_root.get(&p)
            && self.owner.get(p as usize).is_none_or(|&o| o == u32::MAX)
        {
            return Some(pi);
        }
        let mut votes: FxHashMap<usize, u32> = FxHashMap::default();
        for at in h.cell_ptrs(buf, self.usable).take(16) {
            let Some(cell) = format::leaf_cell(buf, at, self.usable, &self.ov) else {
                continue;
            };
            let Some(local) = buf.get(cell.payload_at..cell.payload_at + cell.local) else {
                continue;
            };
            let Some((types, _)) = record_header(local, 4096) else {
                continue;
            };
            let fits: Vec<usize> = (1..self.profiles.len())
                .filter(|&i| self.profiles[i].compatible(&types, 0))
                .collect();
            if fits.len() == 1 {
                *votes.entry(fits[0]).or_default() += 1;
            }
        }
        if votes.len() == 1 {
            votes.keys().next().copied()
        } else {
            None
        }
    }

    // ------------------------------------------------------- record carving

    /// Scans `[from, to)` for intact cells and for cells behind a freeblock
    /// header (the region's own when `starts_with_freeblock`, or a stale one
    /// merged into the gap or a larger freeblock), byte by byte.
    fn scan_region(
        &mut self,
        buf: &[u8],
        from: usize,
        to: usize,
        starts_with_freeblock: bool,
        at: At,
    ) {
        let mut pos = from;
        let mut expect_fb = starts_with_freeblock;
        while pos + 4 <= to {
            let fb_end = if expect_fb {
                Some(to)
            } else {
                self.stale_freeblock(buf, pos, to)
            };
            if let Some(fb_end) = fb_end {
                if let Some((hyp, pi)) = self.best_hypothesis(&buf[pos..fb_end], pos, at.hint) {
                    let len = hyp.cell_len;
                    let next_stale = hyp.next_stale;
                    self.emit_hypothesis(buf, pos, hyp, pi, at);
                    pos += len;
                    expect_fb = next_stale;
                    continue;
                }
                if expect_fb {
                    expect_fb = false;
                    pos += 4;
                    continue;
                }
            }
            if buf[pos] >= 2
                && let Some(len) = self.intact_at(buf, pos, to, at, false)
            {
                pos += len;
                continue;
            }
            pos += 1;
        }
    }

    /// Whether 4 bytes at `pos` look like the header of a freeblock that was
    /// later merged into the gap or into a larger freeblock: returns its end.
    /// Part of such a freeblock may since have been reused from its end, so
    /// its recorded size may reach past `to`.
    fn stale_freeblock(&self, buf: &[u8], pos: usize, to: usize) -> Option<usize> {
        let next = be16(buf, pos)? as usize;
        let size = be16(buf, pos + 2)? as usize;
        if size < 6 || pos + size > self.usable {
            return None;
        }
        if next != 0 && (next < pos + size || next >= self.usable) {
            return None;
        }
        Some((pos + size).min(to))
    }

    /// The table to report for a record decoded with profile `pi`.
    fn report_table(
        &self,
        types: &[u64],
        pi: Option<usize>,
        at: At,
        via_pointer: bool,
    ) -> Option<Option<usize>> {
        let owner = self.attribute(types, pi.or(at.hint), via_pointer)?;
        Some(match owner {
            // Ownership alone does not attribute residue that may predate it.
            Some(o) if !at.owned && Some(o) == at.hint => None,
            other => other,
        })
    }

    fn page_table(&self, at: At) -> Option<String> {
        at.hint.map(|h| self.profiles[h].name.clone())
    }

    fn emit_hypothesis(&mut self, buf: &[u8], pos: usize, hyp: Hyp, pi: usize, at: At) {
        let owner = self.report_table(&hyp.types, Some(pi), at, false).flatten();
        let rec = Carved {
            place: at.place,
            table: owner.map(|o| self.profiles[o].name.clone()),
            page_table: self.page_table(at),
            columns: owner
                .map(|o| self.profiles[o].columns.clone())
                .unwrap_or_default(),
            rowid: None,
            values: hyp.values,
            loc: shift(at.loc, pos),
            pgno: at.p,
            frame: at.frame,
            reconstructed: true,
            overflow: hyp.overflow.is_some(),
            copies: 0,
        };
        if let Some((payload_len, local_from, local_to, first)) = hyp.overflow {
            self.pending.push(Pending {
                rec,
                profile: owner,
                decode_with: Some(pi),
                len: hyp.cell_len as u64,
                local: buf[pos + local_from..pos + local_to].to_vec(),
                payload_len,
                first_overflow: first,
            });
        } else {
            self.push(rec, owner, hyp.cell_len as u64);
        }
    }

    /// The best unambiguous reconstruction of the record at the start of a
    /// freeblock, over the hinted table or every table.
    fn best_hypothesis(
        &self,
        region: &[u8],
        page_off: usize,
        hint: Option<usize>,
    ) -> Option<(Hyp, usize)> {
        let profiles: Vec<usize> = match hint {
            Some(h) => vec![h],
            None => (1..self.profiles.len()).collect(),
        };
        let mut best: Option<(Hyp, usize)> = None;
        let mut ambiguous = false;
        for pi in profiles {
            for hyp in self.hypotheses(region, page_off, pi) {
                match &best {
                    Some((bh, _)) if hyp.score == bh.score => {
                        if bh.values != hyp.values || bh.cell_len != hyp.cell_len {
                            ambiguous = true;
                        }
                    }
                    Some((bh, _)) if hyp.score < bh.score => {}
                    _ => {
                        best = Some((hyp, pi));
                        ambiguous = false;
                    }
                }
            }
        }
        if ambiguous { None } else { best }
    }

    /// Tries an intact cell at `off`; on success records it and returns its size.
    fn intact_at(
        &mut self,
        buf: &[u8],
        off: usize,
        end: usize,
        at: At,
        via_pointer: bool,
    ) -> Option<usize> {
        let cell = format::leaf_cell(buf, off, end, &self.ov)?;
        if cell.rowid <= 0
            || cell.payload_len < 2
            || cell.payload_len > self.opts.max_payload as u64
        {
            return None;
        }
        let local = buf.get(cell.payload_at..cell.payload_at + cell.local)?;
        let (types, hlen) = record_header(local, 2000)?;
        let body = format::body_len(&types)?;
        if (hlen as u64).checked_add(body) != Some(cell.payload_len) {
            return None;
        }
        let decode_with = self.attribute(&types, at.hint, via_pointer)?;
        let owner = self
            .report_table(&types, decode_with, at, via_pointer)
            .flatten();
        let mut rec = Carved {
            place: at.place,
            table: owner.map(|o| self.profiles[o].name.clone()),
            page_table: self.page_table(at),
            columns: owner
                .map(|o| self.profiles[o].columns.clone())
                .unwrap_or_default(),
            rowid: Some(cell.rowid),
            values: Vec::new(),
            loc: shift(at.loc, off),
            pgno: at.p,
            frame: at.frame,
            reconstructed: false,
            overflow: cell.overflow != 0,
            copies: 0,
        };
        if cell.overflow != 0 {
            self.pending.push(Pending {
                rec,
                profile: owner,
                decode_with,
                len: cell.size as u64,
                local: local.to_vec(),
                payload_len: cell.payload_len,
                first_overflow: cell.overflow,
            });
            return Some(cell.size);
        }
        rec.values = self.decode(&types, &local[hlen..], decode_with)?;
        self.push(rec, owner, cell.size as u64);
        Some(cell.size)
    }

    /// Which profile a fully typed record belongs to. `Some(None)` means
    /// "keep, unattributed"; `None` means "reject". The page's own table wins
    /// unless a dropped table of the same shape could have left the record.
    fn attribute(
        &self,
        types: &[u64],
        hint: Option<usize>,
        via_pointer: bool,
    ) -> Option<Option<usize>> {
        let fits: Vec<usize> = (1..self.profiles.len())
            .filter(|&i| self.profiles[i].compatible(types, 0))
            .collect();
        if let Some(h) = hint
            && self.profiles[h].compatible(types, 0)
        {
            let rival = fits.iter().any(|&f| f != h && f >= self.first_dropped);
            return Some(if rival { None } else { Some(h) });
        }
        match fits.len() {
            1 => Some(Some(fits[0])),
            0 if !via_pointer => None,
            _ => Some(None),
        }
    }

    /// Decodes a body; rejects implausible values (invalid text, NaN).
    fn decode(&self, types: &[u64], body: &[u8], pi: Option<usize>) -> Option<Vec<Value>> {
        let mut out = Vec::with_capacity(types.len());
        let mut at = 0usize;
        for &t in types {
            let n = serial_size(t)? as usize;
            let v = decode_value(t, body.get(at..at.checked_add(n)?)?)?;
            at += n;
            out.push(match v {
                ValueRef::Null => Value::Null,
                ValueRef::Int(i) => Value::Int(i),
                ValueRef::Real(r) => {
                    if !r.is_finite() {
                        return None;
                    }
                    Value::Real(r)
                }
                ValueRef::Text(b) => {
                    let s = self.enc.decode(b)?;
                    if !plausible_text(&s) {
                        return None;
                    }
                    Value::Text(s)
                }
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        if at != body.len() {
            return None;
        }
        if let Some(pi) = pi
            && let Some(a) = self.profiles[pi].rowid_alias
            && !matches!(out.get(a), Some(Value::Null))
        {
            return None;
        }
        Some(out)
    }

    fn push(&mut self, rec: Carved, profile: Option<usize>, len: u64) {
        self.stats.candidates += 1;
        if self.cands.len() >= self.opts.max_candidates {
            return;
        }
        let hash = value_hash(&rec.values);
        self.cands.push(Cand {
            rec,
            profile,
            len,
            hash,
        });
    }

    /// Rebuilds the first record of a freeblock whose first 4 bytes (payload
    /// length, rowid, header length, maybe the first serial type) were
    /// overwritten, for one table profile.
    fn hypotheses(&self, region: &[u8], page_off: usize, pi: usize) -> Vec<Hyp> {
        let prof = &self.profiles[pi];
        let n = prof.ncols();
        let mut out = Vec::new();
        if n == 0 {
            return out;
        }
        for lost in 0..=1usize {
            let hs: &[usize] = if lost == 0 {
                &[4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
            } else {
                &[4, 5]
            };
            for &h in hs {
                if h >= region.len() {
                    break;
                }
                if lost == 0 && !varint_tails_ok(region, h) {
                    continue;
                }
                if lost == 1 && h == 5 && region[4] >= 0x80 {
                    continue;
                }
                // The surviving serial types.
                let mut types = Vec::with_capacity(n);
                let mut at = h;
                let mut ok = true;
                for _ in lost..n {
                    match varint(&region[at..]) {
                        Some((t, k)) if serial_size(t).is_some() => {
                            types.push(t);
                            at += k;
                        }
                        _ => {
                            ok = false;
                            break;
                        }
                    }
                }
                if !ok || !prof.compatible(&types, lost) {
                    continue;
                }
                let types_end = at;
                let Some(known) = format::body_len(&types) else {
                    continue;
                };
                let mut hlen_checked = false;
                if lost == 0 && h > 4 {
                    let hl = region[h - 1] as usize;
                    if region[h - 1] >= 0x80 || hl != types_end - (h - 1) {
                        continue;
                    }
                    hlen_checked = true;
                }
                let lost_types: Vec<u64> = if lost == 0 {
                    vec![u64::MAX]
                } else {
                    self.lost_type_candidates(prof, region.len(), types_end, known)
                };
                for t0 in lost_types {
                    let mut all = Vec::with_capacity(n);
                    if t0 != u64::MAX {
                        all.push(t0);
                    }
                    all.extend_from_slice(&types);
                    let body = known.saturating_add(if t0 == u64::MAX {
                        0
                    } else {
                        serial_size(t0).unwrap_or(0)
                    });
                    let cell_len = (types_end as u64).saturating_add(body);
                    if cell_len <= region.len() as u64 {
                        let cell_len = cell_len as usize;
                        let Some(values) =
                            self.decode(&all, &region[types_end..cell_len], Some(pi))
                        else {
                            continue;
                        };
                        let fit = self.fit(region, page_off, cell_len, pi);
                        if fit == 0 {
                            continue;
                        }
                        let exact = t0 != u64::MAX && prof.seen[0] & seen_bit(t0) != 0;
                        out.push(Hyp {
                            score: fit * 10 + i32::from(hlen_checked) * 5 + i32::from(exact),
                            types: all,
                            values,
                            cell_len,
                            overflow: None,
                            next_stale: fit == 2,
                        });
                    } else if lost == 0 && h >= 5 {
                        // Payload spills to overflow pages: the record starts at the
                        // header-length byte; the local part ends with the page number.
                        let rec_start = h - 1;
                        let payload = ((types_end - rec_start) as u64).saturating_add(body);
                        let local = self.ov.local(payload);
                        if (local as u64) >= payload {
                            continue;
                        }
                        let end = rec_start + local + 4;
                        if end > region.len() || types_end > rec_start + local {
                            continue;
                        }
                        let first = be32(region, rec_start + local).unwrap_or(0);
                        if first == 0 || first > self.walk_pages() {
                            continue;
                        }
                        let fit = self.fit(region, page_off, end, pi);
                        if fit == 0 {
                            continue;
                        }
                        out.push(Hyp {
                            score: fit * 10 + i32::from(hlen_checked) * 5,
                            types: all,
                            values: Vec::new(),
                            cell_len: end,
                            overflow: Some((payload, rec_start, rec_start + local, first)),
                            next_stale: fit == 2,
                        });
                    }
                }
            }
        }
        out
    }

    /// Serial types the overwritten first column may have had.
    fn lost_type_candidates(
        &self,
        prof: &Profile,
        region_len: usize,
        types_end: usize,
        known: u64,
    ) -> Vec<u64> {
        if prof.rowid_alias == Some(0) {
            return vec![0];
        }
        let allowed = prof.allowed[0];
        let seen = prof.seen[0];
        let mut out = Vec::new();
        let small: &[u64] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        for &t in small {
            if allowed & Class::of(t).bit() == 0 {
                continue;
            }
            // Size-0 types (NULL, 0, 1) cannot be told apart by length: keep
            // only those seen in live rows.
            if matches!(t, 0 | 8 | 9) && prof.sampled > 0 && seen & seen_bit(t) == 0 {
                continue;
            }
            if t == 6
                && allowed & Class::Real.bit() != 0
                && seen & seen_bit(6) == 0
                && seen & seen_bit(7) != 0
            {
                continue;
            }
            if t == 7 && seen & seen_bit(7) == 0 && seen & seen_bit(6) != 0 {
                continue;
            }
            out.push(t);
        }
        // Text or blob filling the rest of the freeblock exactly.
        let rest = region_len as u64
            - (types_end as u64)
                .saturating_add(known)
                .min(region_len as u64);
        if rest > 0 {
            if allowed & Class::Text.bit() != 0 {
                out.push(13 + 2 * rest);
            }
            if allowed & Class::Blob.bit() != 0 {
                out.push(12 + 2 * rest);
            }
        }
        out
    }

    /// How well a record of `len` bytes fills a freeblock: 3 exact or followed
    /// by another intact cell, 2 followed by the stale header of a freeblock
    /// merged into this one, 1 within a fragment, 0 otherwise.
    fn fit(&self, region: &[u8], page_off: usize, len: usize, pi: usize) -> i32 {
        let rest = region.len() - len;
        if rest == 0 {
            return 3;
        }
        if rest < 4 {
            return 1;
        }
        if let Some(cell) = format::leaf_cell(region, len, region.len(), &self.ov)
            && cell.rowid > 0
            && let Some(local) = region.get(cell.payload_at..cell.payload_at + cell.local)
            && let Some((types, hlen)) = record_header(local, 2000)
            && format::body_len(&types)
                .is_some_and(|b| b.checked_add(hlen as u64) == Some(cell.payload_len))
            && self.profiles[pi].compatible(&types, 0)
        {
            return 3;
        }
        let next = be16(region, len).unwrap_or(1) as usize;
        let size = be16(region, len + 2).unwrap_or(0) as usize;
        let here = page_off + len;
        if size >= 4
            && here + size <= self.usable
            && (next == 0 || next >= here + size)
            && next < self.usable
        {
            return 2;
        }
        0
    }

    /// Reads a live row's values (for the schema); follows overflow pages.
    fn live_row(&self, buf: &[u8], at: usize) -> Option<Vec<Value>> {
        let cell = format::leaf_cell(buf, at, self.usable, &self.ov)?;
        let local = buf.get(cell.payload_at..cell.payload_at + cell.local)?;
        let payload = if cell.overflow != 0 {
            self.read_overflow(local, cell.payload_len, cell.overflow, false)?
        } else {
            local.to_vec()
        };
        let (types, hlen) = record_header(&payload, 4096)?;
        decode_lenient(&types, payload.get(hlen..)?, self.enc)
    }

    /// Reassembles a payload from an overflow chain. With `freed_only`, every
    /// chain page must be free (not part of any live structure).
    fn read_overflow(
        &self,
        local: &[u8],
        total: u64,
        first: u32,
        freed_only: bool,
    ) -> Option<Vec<u8>> {
        if total > self.opts.max_payload as u64 {
            return None;
        }
        let mut out = Vec::with_capacity(total as usize);
        out.extend_from_slice(local);
        let mut pg = first;
        let mut page = vec![0u8; self.img.page_size];
        let mut hops = 0u32;
        while (out.len() as u64) < total {
            let pi = pg as usize;
            if pg == 0 || pi >= self.role.len() || hops > self.walk_pages() {
                return None;
            }
            if freed_only && !matches!(self.role[pi], Role::FreeLeaf | Role::Unknown) {
                return None;
            }
            self.img.page(pg, &mut page)?;
            let want = ((total - out.len() as u64) as usize).min(self.usable - 4);
            out.extend_from_slice(page.get(4..4 + want)?);
            pg = be32(&page, 0)?;
            hops += 1;
        }
        Some(out)
    }

    fn resolve_overflow(&mut self) {
        for pd in std::mem::take(&mut self.pending) {
            let Some(payload) =
                self.read_overflow(&pd.local, pd.payload_len, pd.first_overflow, true)
            else {
                continue;
            };
            let Some((types, hlen)) = record_header(&payload, 2000) else {
                continue;
            };
            if pd
                .decode_with
                .is_some_and(|pi| !self.profiles[pi].compatible(&types, 0))
            {
                continue;
            }
            let Some(values) = self.decode(&types, &payload[hlen..], pd.decode_with) else {
                continue;
            };
            let mut rec = pd.rec;
            rec.values = values;
            self.push(rec, pd.profile, pd.len);
        }
    }

    // ------------------------------------------------------- other versions

    fn carve_other_pages(&mut self) {
        let others: Vec<OtherPage> = self.img.other_pages();
        let mut buf = vec![0u8; self.img.page_size];
        for o in others {
            if !self.img.read(o.loc, &mut buf) {
                continue;
            }
            self.stats.other_pages += 1;
            let place = Place::of_version(o.version);
            let hdr = if o.pgno == 1 { 100 } else { 0 };
            let Some(h) = PageHeader::parse(&buf, hdr, self.usable) else {
                continue;
            };
            if h.kind != PageKind::LeafTable {
                continue;
            }
            let hint = match self.owner.get(o.pgno as usize) {
                Some(&ow) if ow != u32::MAX => Some(ow as usize),
                _ => self.page_hint(&buf, &h, o.pgno),
            };
            let here = At {
                p: o.pgno,
                loc: o.loc,
                hint,
                place,
                frame: o.frame,
                owned: true,
            };
            for at in h.cell_ptrs(&buf, self.usable).collect::<Vec<_>>() {
                self.intact_at(&buf, at, self.usable, here, true);
            }
            self.carve_btree_free(&buf, here);
        }
    }

    // ---------------------------------------------------------------- pass 3

    /// Drops candidates equal to a live row of the current state.
    fn exclude_live(&mut self) {
        if self.cands.is_empty() {
            return;
        }
        let wanted: FxHashSet<u64> = self.cands.iter().map(|c| c.hash).collect();
        // A carved cell whose rowid is live in the same table with other
        // values is an older version of that row or the leftover of an
        // earlier table that owned the page: its table is uncertain.
        let rowids: FxHashSet<(usize, i64)> = self
            .cands
            .iter()
            .filter_map(|c| Some((c.profile?, c.rec.rowid?)))
            .collect();
        let mut live_rowids: FxHashSet<(usize, i64)> = FxHashSet::default();
        let need_overflow = self.cands.iter().any(|c| c.rec.overflow);
        let mut live: FxHashSet<u64> = FxHashSet::default();
        let mut buf = vec![0u8; self.img.page_size];
        for p in 1..=self.walk_pages() {
            if self.role[p as usize] != Role::TableLeaf {
                continue;
            }
            if self.img.page(p, &mut buf).is_none() {
                continue;
            }
            let Some(h) = PageHeader::parse(&buf, Self::hdr_at(p), self.usable) else {
                continue;
            };
            if h.kind != PageKind::LeafTable {
                continue;
            }
            let owner = self.owner[p as usize] as usize;
            for at in h.cell_ptrs(&buf, self.usable).collect::<Vec<_>>() {
                let Some(cell) = format::leaf_cell(&buf, at, self.usable, &self.ov) else {
                    continue;
                };
                if rowids.contains(&(owner, cell.rowid)) {
                    live_rowids.insert((owner, cell.rowid));
                }
                if cell.overflow != 0 && !need_overflow {
                    continue;
                }
                let Some(local) = buf.get(cell.payload_at..cell.payload_at + cell.local) else {
                    continue;
                };
                let hsh = if cell.overflow != 0 {
                    self.read_overflow(local, cell.payload_len, cell.overflow, false)
                        .and_then(|p| record_hash(&p, self.enc))
                } else {
                    record_hash(local, self.enc)
                };
                if let Some(hsh) = hsh
                    && wanted.contains(&hsh)
                {
                    live.insert(hsh);
                }
            }
        }
        let before = self.cands.len();
        self.cands.retain(|c| !live.contains(&c.hash));
        for c in &mut self.cands {
            if let (Some(pi), Some(r)) = (c.profile, c.rec.rowid)
                && live_rowids.contains(&(pi, r))
            {
                c.profile = None;
                c.rec.table = None;
                c.rec.columns = Vec::new().into();
            }
        }
        self.stats.live_copies_dropped = (before - self.cands.len()) as u64;
    }

    fn raw_scan(&mut self, bytes: &[u8], place: Place, loc: Loc, pgno: u32) {
        let Some(cs) = self.canaries else { return };
        let mut hits = Vec::new();
        cs.scan_once(bytes, |h| hits.push(h));
        for mut hit in hits {
            let at = shift(loc, hit.offset as usize);
            hit.offset = at.offset;
            self.raw.push(RawHit {
                place,
                loc: at,
                pgno,
                hit,
            });
        }
    }

    fn finish(mut self) -> CarveReport {
        // Raw hits inside any carved record (kept or dropped as a live copy)
        // are reported through the record, or not at all.
        let ranges: Vec<(FileRole, u64, u64)> = self
            .cands
            .iter()
            .map(|c| {
                (
                    c.rec.loc.file,
                    c.rec.loc.offset,
                    c.rec.loc.offset + c.len.max(1),
                )
            })
            .collect();
        let live_ranges = std::mem::take(&mut self.raw);
        self.raw = live_ranges
            .into_iter()
            .filter(|h| {
                !ranges
                    .iter()
                    .any(|&(f, a, b)| f == h.loc.file && h.loc.offset >= a && h.loc.offset < b)
            })
            .collect();
        // One record per (table, values): later places count as copies.
        let mut seen: FxHashMap<(Option<usize>, u64), usize> = FxHashMap::default();
        let mut records: Vec<Carved> = Vec::new();
        let mut cands = std::mem::take(&mut self.cands);
        cands.sort_by_key(|c| (c.rec.place, c.rec.loc.file as u8, c.rec.loc.offset));
        for c in cands {
            match seen.get(&(c.profile, c.hash)) {
                Some(&i) => {
                    records[i].copies += 1;
                    self.stats.duplicates += 1;
                }
                None => {
                    seen.insert((c.profile, c.hash), records.len());
                    records.push(c.rec);
                }
            }
        }
        CarveReport {
            records,
            raw_hits: self.raw,
            stats: self.stats,
            tables: self.tables,
            dropped: self.dropped,
            schema: self.schema,
            warnings: self.warnings,
        }
    }
}

/// Where the record being carved sits.
#[derive(Debug, Clone, Copy)]
struct At {
    p: u32,
    loc: Loc,
    /// The table owning the page (live owner, or inferred for freed pages).
    hint: Option<usize>,
    place: Place,
    frame: Option<u32>,
    /// Cells here belonged to the page's owner (pointer cells, chained
    /// freeblocks); gap residue may predate it.
    owned: bool,
}

/// One hypothesis for a freeblock's first record.
struct Hyp {
    score: i32,
    types: Vec<u64>,
    values: Vec<Value>,
    cell_len: usize,
    /// `(payload_len, local_from, local_to, first overflow page)`.
    overflow: Option<(u64, usize, usize, u32)>,
    /// The record is followed by the stale header of an earlier freeblock.
    next_stale: bool,
}

/// The bytes between the overwritten 4-byte header and the header-length
/// byte at `h - 1` are the tails of the payload-length and rowid varints:
/// the byte at `h - 2` ends the rowid and at most one earlier byte ends the
/// payload length.
fn varint_tails_ok(region: &[u8], h: usize) -> bool {
    if h < 6 {
        return true;
    }
    let Some(&last) = region.get(h - 2) else {
        return false;
    };
    if last >= 0x80 {
        return false;
    }
    let ends = region[4..h - 2].iter().filter(|&&b| b < 0x80).count();
    ends <= 1
}

fn shift(loc: Loc, by: usize) -> Loc {
    Loc {
        file: loc.file,
        offset: loc.offset + by as u64,
    }
}

/// Text that could have been written by an application: no control
/// characters besides tab and line breaks.
fn plausible_text(s: &str) -> bool {
    s.chars()
        .all(|c| !(c.is_control() && c != '\t' && c != '\n' && c != '\r') && c != '\u{fffd}')
}

fn decode_lenient(types: &[u64], body: &[u8], enc: TextEncoding) -> Option<Vec<Value>> {
    let mut out = Vec::with_capacity(types.len());
    let mut at = 0usize;
    for &t in types {
        let n = serial_size(t)? as usize;
        let v = decode_value(t, body.get(at..at.checked_add(n)?)?)?;
        at += n;
        out.push(match v {
            ValueRef::Null => Value::Null,
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(b) => Value::Text(
                enc.decode(b)
                    .unwrap_or_else(|| String::from_utf8_lossy(b).into_owned()),
            ),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        });
    }
    Some(out)
}

fn schema_row(v: &[Value]) -> Option<SchemaRow> {
    let text = |i: usize| match v.get(i) {
        Some(Value::Text(s)) => Some(s.clone()),
        Some(Value::Null) => Some(String::new()),
        _ => None,
    };
    if v.len() != 5 {
        return None;
    }
    let kind = text(0)?;
    if !["table", "index", "view", "trigger"].contains(&kind.as_str()) {
        return None;
    }
    let rootpage = match v.get(3) {
        Some(Value::Int(i)) => u32::try_from(*i).ok()?,
        Some(Value::Null) => 0,
        _ => return None,
    };
    Some(SchemaRow {
        kind,
        name: text(1)?,
        tbl_name: text(2)?,
        rootpage,
        sql: text(4)?,
    })
}

/// Hashes a row value by value, the same way from decoded values and from
/// raw record bytes (an integral REAL equals the INTEGER it was stored as).
struct RowHash(FxHasher);

impl RowHash {
    fn new(n: usize) -> RowHash {
        let mut h = FxHasher::default();
        h.write_usize(n);
        RowHash(h)
    }
    fn null(&mut self) {
        self.0.write_u8(0);
    }
    fn int(&mut self, i: i64) {
        self.0.write_u8(1);
        self.0.write_i64(i);
    }
    fn real(&mut self, r: f64) {
        if r.fract() == 0.0 && r.abs() < 9.0e15 {
            self.int(r as i64);
        } else {
            self.0.write_u8(2);
            self.0.write_u64(r.to_bits());
        }
    }
    fn bytes(&mut self, tag: u8, b: &[u8]) {
        self.0.write_u8(tag);
        self.0.write_usize(b.len());
        self.0.write(b);
    }
    fn finish(self) -> u64 {
        self.0.finish()
    }
}

/// A hash of a row's values, independent of how they were stored.
pub fn value_hash(values: &[Value]) -> u64 {
    let mut h = RowHash::new(values.len());
    for v in values {
        match v {
            Value::Null => h.null(),
            Value::Int(i) => h.int(*i),
            Value::Real(r) => h.real(*r),
            Value::Text(s) => h.bytes(3, s.as_bytes()),
            Value::Blob(b) => h.bytes(4, b),
        }
    }
    h.finish()
}

/// The same hash straight from a record's bytes, without building values.
fn record_hash(payload: &[u8], enc: TextEncoding) -> Option<u64> {
    let (types, hlen) = record_header(payload, 4096)?;
    let mut h = RowHash::new(types.len());
    let mut at = hlen;
    for t in types {
        let n = serial_size(t)? as usize;
        match decode_value(t, payload.get(at..at.checked_add(n)?)?)? {
            ValueRef::Null => h.null(),
            ValueRef::Int(i) => h.int(i),
            ValueRef::Real(r) => h.real(r),
            ValueRef::Text(b) => match enc {
                TextEncoding::Utf8 => h.bytes(3, b),
                _ => h.bytes(3, enc.decode(b)?.as_bytes()),
            },
            ValueRef::Blob(b) => h.bytes(4, b),
        }
        at += n;
    }
    Some(h.finish())
}

/// Facts about the file's hygiene, from the header and the carver's counters.
pub fn secure_delete_inference(s: &Stats, records: usize) -> &'static str {
    let zeroed = s.freeblocks_zeroed + s.freelist_zeroed;
    let intact = s.freeblocks - s.freeblocks_zeroed + (s.freelist_leaves - s.freelist_zeroed);
    if records > 0 || (intact > 0 && zeroed == 0) {
        "off"
    } else if zeroed > 0 {
        "on"
    } else {
        "unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::source::Source;
    use rusqlite::Connection;

    /// Builds a database with real SQLite and returns its bytes.
    fn db(sql: &str) -> Vec<u8> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.db");
        let c = Connection::open(&p).unwrap();
        c.execute_batch(sql).unwrap();
        drop(c);
        std::fs::read(&p).unwrap()
    }

    fn run(bytes: Vec<u8>) -> CarveReport {
        let img = Image::open(Source::Mem(bytes), None, None).unwrap();
        carve(&img, None, &CarveOptions::default())
    }

    fn texts(r: &CarveReport) -> Vec<String> {
        r.records
            .iter()
            .flat_map(|c| c.values.iter())
            .filter_map(|v| match v {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    const MESSAGES: &str = "PRAGMA page_size=4096; PRAGMA secure_delete=OFF; PRAGMA auto_vacuum=NONE;
        CREATE TABLE message (_id INTEGER PRIMARY KEY AUTOINCREMENT, chat_row_id INTEGER NOT NULL, key_id TEXT NOT NULL, text_data TEXT);";

    #[test]
    fn deleted_messages_come_back_from_freeblocks_with_their_table() {
        let mut sql = MESSAGES.to_string();
        for i in 1..=40 {
            sql.push_str(&format!(
                "INSERT INTO message(chat_row_id, key_id, text_data) VALUES (1, 'K{i}', 'message number {i} with some words');"
            ));
        }
        sql.push_str("DELETE FROM message WHERE _id IN (7, 8, 21, 33);");
        let r = run(db(&sql));
        let mut got = texts(&r);
        got.retain(|t| t.starts_with("message number"));
        got.sort();
        assert_eq!(
            got,
            [
                "message number 21 with some words",
                "message number 33 with some words",
                "message number 7 with some words",
                "message number 8 with some words"
            ]
        );
        assert!(
            r.records
                .iter()
                .all(|c| c.table.as_deref() == Some("message"))
        );
        assert!(r.records.iter().all(|c| c.place.is_residue()));
    }

    #[test]
    fn secure_delete_leaves_nothing_and_live_rows_are_never_reported() {
        let mut sql = MESSAGES.replace("secure_delete=OFF", "secure_delete=ON");
        for i in 1..=20 {
            sql.push_str(&format!(
                "INSERT INTO message(chat_row_id, key_id, text_data) VALUES (1, 'K{i}', 'row {i}');"
            ));
        }
        sql.push_str("DELETE FROM message WHERE _id % 3 = 0;");
        let r = run(db(&sql));
        assert!(texts(&r).is_empty(), "{:?}", texts(&r));
        assert!(r.stats.freeblocks_zeroed > 0);
        assert_eq!(secure_delete_inference(&r.stats, 0), "on");
    }

    #[test]
    fn freed_pages_and_relocated_live_copies() {
        // Rows large enough to spread over many pages; deleting most of them
        // frees whole pages (freelist), and rebalancing copies live rows.
        let mut sql = MESSAGES.to_string();
        for i in 1..=200 {
            sql.push_str(&format!(
                "INSERT INTO message(chat_row_id, key_id, text_data) VALUES (1, 'K{i}', 'payload {i} {}');",
                "x".repeat(300)
            ));
        }
        sql.push_str("DELETE FROM message WHERE _id > 20 AND _id < 190;");
        let r = run(db(&sql));
        assert!(r.stats.freelist_leaves > 0);
        let live: std::collections::HashSet<String> = (1..=20)
            .chain(190..=200)
            .map(|i| format!("payload {i} {}", "x".repeat(300)))
            .collect();
        let got = texts(&r);
        assert!(
            got.iter().all(|t| !live.contains(t)),
            "a live row was reported as deleted"
        );
        assert!(got.len() > 100, "{}", got.len());
    }

    #[test]
    fn a_dropped_table_is_named_from_its_deleted_schema_row() {
        let sql = "PRAGMA page_size=4096; PRAGMA secure_delete=OFF;
            CREATE TABLE keep (a TEXT);
            CREATE TABLE gone (who TEXT NOT NULL, what TEXT);
            INSERT INTO gone VALUES ('alice', 'a secret plan'), ('bob', 'another one');
            DROP TABLE gone;";
        let r = run(db(sql));
        assert_eq!(
            r.dropped
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["gone"]
        );
        let rows: Vec<_> = r
            .records
            .iter()
            .filter(|c| c.table.as_deref() == Some("gone"))
            .collect();
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn a_corrupt_page_is_skipped_and_named() {
        let mut sql = MESSAGES.to_string();
        for i in 1..=300 {
            sql.push_str(&format!(
                "INSERT INTO message(chat_row_id, key_id, text_data) VALUES (1, 'K{i}', 'text {i} {}');",
                "y".repeat(100)
            ));
        }
        let mut b = db(&sql);
        // Page 4 is a leaf of `message` (page 2 is its interior root here);
        // break its type byte.
        let at = 3 * 4096;
        b[at] = 0x42;
        let r = run(b);
        assert!(
            r.warnings.iter().any(|w| w.2.contains("page 4")),
            "{:?}",
            r.warnings
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        #[test]
        fn flipped_bytes_never_panic(flips in proptest::collection::vec((0usize..20480, proptest::prelude::any::<u8>()), 1..40)) {
            static BASE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
            let base = BASE.get_or_init(|| {
                let mut sql = MESSAGES.to_string();
                for i in 1..=60 {
                    sql.push_str(&format!("INSERT INTO message(chat_row_id, key_id, text_data) VALUES (1, 'K{i}', 'words {i} {}');", "z".repeat(i)));
                }
                sql.push_str("DELETE FROM message WHERE _id % 4 = 1;");
                db(&sql)
            });
            let mut b = base.clone();
            for (at, v) in flips {
                if at >= 100 && at < b.len() {
                    b[at] = v;
                }
            }
            let _ = run(b);
        }
    }
}
