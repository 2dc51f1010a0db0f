//! A database image: the main file as SQLite would read it, with committed
//! WAL frames overlaid, plus the page images that are *not* part of that
//! state (stale, historic and uncommitted WAL frames, main-file pages the WAL
//! supersedes, rollback-journal before-images). The carver reads only this.

use super::format::{DbHeader, MAGIC};
use super::journal::{self, Journal};
use super::source::Source;
use super::wal::{self, FrameClass, WalScan};
use rustc_hash::FxHashMap;

/// Which file a page image or record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileRole {
    Main,
    Wal,
    Journal,
}

impl FileRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FileRole::Main => "db",
            FileRole::Wal => "wal",
            FileRole::Journal => "journal",
        }
    }
}

/// A byte position in one of the family's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: FileRole,
    pub offset: u64,
}

/// Why a page image is outside the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// WAL frame of an earlier generation (older salts).
    WalStale,
    /// Committed WAL frame superseded by a later commit for the same page.
    WalHistoric,
    /// Valid WAL frame after the last commit.
    WalUncommitted,
    /// WAL frame with current salts after the point SQLite stops reading.
    WalInvalid,
    /// Main-file page replaced by a committed WAL frame (not yet checkpointed).
    PreCheckpoint,
    /// Rollback-journal before-image.
    Journal,
}

impl Version {
    pub fn place(self) -> &'static str {
        match self {
            Version::WalStale | Version::WalInvalid => "wal-stale",
            Version::WalHistoric => "wal-historic",
            Version::WalUncommitted => "wal-uncommitted",
            Version::PreCheckpoint => "pre-checkpoint",
            Version::Journal => "journal",
        }
    }
}

/// A page image outside the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherPage {
    pub pgno: u32,
    pub version: Version,
    pub loc: Loc,
    pub frame: Option<u32>,
}

pub struct Image {
    pub main: Source,
    pub wal: Option<(Source, WalScan)>,
    pub journal: Option<(Source, Journal)>,
    /// Header of page 1 as currently visible (from the WAL if it holds page 1).
    pub header: DbHeader,
    pub page_size: usize,
    pub usable: usize,
    /// Pages in the current state (WAL commit size, else the header or file length).
    pub page_count: u32,
    /// Pages to walk: the larger of `page_count` and the main file's length.
    pub walk_pages: u32,
    overlay: FxHashMap<u32, u64>,
    pub warnings: Vec<(FileRole, Option<u64>, String)>,
}

impl Image {
    /// Opens a family. Fails when the main file is not a plaintext SQLite database.
    pub fn open(
        main: Source,
        wal_src: Option<Source>,
        journal_src: Option<Source>,
    ) -> Result<Image, String> {
        let head = main.read_vec(0, 100);
        if head.get(..16) != Some(&MAGIC[..]) {
            return Err("not a plaintext SQLite database (no magic)".into());
        }
        let mut header = DbHeader::parse(&head).ok_or("SQLite header with an invalid page size")?;
        let page_size = header.page_size as usize;
        let mut warnings = Vec::new();
        let mut overlay = FxHashMap::default();
        let mut wal = None;
        let mut db_pages = None;
        if let Some(src) = wal_src {
            match wal::scan(&src) {
                Some(scan) if scan.header.page_size as usize == page_size => {
                    for f in scan.current_pages() {
                        overlay.insert(f.pgno, f.offset + wal::FRAME_HEADER as u64);
                    }
                    db_pages = scan.db_pages;
                    if let Some((i, why)) = scan.stop
                        && (i as usize) < scan.frames.len()
                    {
                        warnings.push((
                            FileRole::Wal,
                            Some(scan.frames[i as usize].offset),
                            format!("WAL readers stop at frame {i}: {why}"),
                        ));
                    }
                    wal = Some((src, scan));
                }
                Some(scan) => warnings.push((
                    FileRole::Wal,
                    None,
                    format!(
                        "WAL page size {} differs from the database's {page_size}; WAL ignored for the current state",
                        scan.header.page_size
                    ),
                )),
                None if !src.is_empty() => warnings.push((
                    FileRole::Wal,
                    Some(0),
                    "not a WAL file (bad magic or page size)".into(),
                )),
                None => {}
            }
        }
        if let Some(&off) = overlay.get(&1)
            && let Some((src, _)) = &wal
        {
            let p1 = src.read_vec(off, 100);
            if let Some(h) = DbHeader::parse(&p1) {
                header = h;
            }
        }
        let file_pages = (main.len() / page_size as u64).min(u64::from(u32::MAX)) as u32;
        let extra = main.len() % page_size as u64;
        if extra != 0 {
            warnings.push((
                FileRole::Main,
                Some(main.len() - extra),
                format!(
                    "file length {} is not a multiple of the page size {page_size}: {extra} trailing bytes (truncated or appended to)",
                    main.len()
                ),
            ));
        }
        let page_count = match db_pages {
            Some(n) => n,
            None if header.page_count > 0 && header.version_valid_for == header.change_counter => {
                header.page_count
            }
            None => file_pages,
        };
        if db_pages.is_none() && header.page_count > 0 && header.page_count != file_pages {
            warnings.push((
                FileRole::Main,
                Some(28),
                format!(
                    "header says {} pages, the file holds {file_pages}",
                    header.page_count
                ),
            ));
        }
        let wal_frames = wal.as_ref().map_or(0, |(_, s): &(Source, WalScan)| {
            s.frames.len().min(u32::MAX as usize) as u32
        });
        let usable = header.usable();
        if usable < 480 {
            return Err(format!(
                "usable page size {usable} is below SQLite's minimum"
            ));
        }
        let journal = journal_src.and_then(|src| {
            let j = journal::scan(&src, Some(header.page_size))?;
            (j.page_size as usize == page_size).then_some((src, j))
        });
        Ok(Image {
            main,
            wal,
            journal,
            header,
            page_size,
            usable,
            page_count,
            // Pages beyond the file exist only as WAL frames: never trust a
            // header or commit-frame size beyond what the files can hold.
            walk_pages: page_count
                .max(file_pages)
                .min(file_pages.saturating_add(wal_frames)),
            overlay,
            warnings,
        })
    }

    /// Where the current image of a page lives.
    pub fn loc(&self, pgno: u32) -> Loc {
        match self.overlay.get(&pgno) {
            Some(&off) => Loc {
                file: FileRole::Wal,
                offset: off,
            },
            None => Loc {
                file: FileRole::Main,
                offset: u64::from(pgno.saturating_sub(1)) * self.page_size as u64,
            },
        }
    }

    /// Reads the current image of a page into `buf` (`page_size` bytes).
    pub fn page(&self, pgno: u32, buf: &mut [u8]) -> Option<Loc> {
        if pgno == 0 {
            return None;
        }
        let loc = self.loc(pgno);
        self.read(loc, buf).then_some(loc)
    }

    /// Reads `buf.len()` bytes at a location.
    pub fn read(&self, loc: Loc, buf: &mut [u8]) -> bool {
        match loc.file {
            FileRole::Main => self.main.read_at(loc.offset, buf),
            FileRole::Wal => self
                .wal
                .as_ref()
                .is_some_and(|(s, _)| s.read_at(loc.offset, buf)),
            FileRole::Journal => self
                .journal
                .as_ref()
                .is_some_and(|(s, _)| s.read_at(loc.offset, buf)),
        }
    }

    /// Whether the WAL replaces this page.
    pub fn in_wal(&self, pgno: u32) -> bool {
        self.overlay.contains_key(&pgno)
    }

    /// Every page image outside the current state.
    pub fn other_pages(&self) -> Vec<OtherPage> {
        let mut out = Vec::new();
        if let Some((_, scan)) = &self.wal {
            for f in &scan.frames {
                let version = match f.class {
                    FrameClass::Current => continue,
                    FrameClass::Historic => Version::WalHistoric,
                    FrameClass::Uncommitted => Version::WalUncommitted,
                    FrameClass::Stale => Version::WalStale,
                    FrameClass::Invalid => Version::WalInvalid,
                };
                out.push(OtherPage {
                    pgno: f.pgno,
                    version,
                    loc: Loc {
                        file: FileRole::Wal,
                        offset: f.offset + wal::FRAME_HEADER as u64,
                    },
                    frame: Some(f.index),
                });
            }
            let file_pages = (self.main.len() / self.page_size as u64) as u32;
            let mut pre: Vec<u32> = self
                .overlay
                .keys()
                .copied()
                .filter(|&p| p >= 1 && p <= file_pages)
                .collect();
            pre.sort_unstable();
            for pgno in pre {
                out.push(OtherPage {
                    pgno,
                    version: Version::PreCheckpoint,
                    loc: Loc {
                        file: FileRole::Main,
                        offset: u64::from(pgno - 1) * self.page_size as u64,
                    },
                    frame: None,
                });
            }
        }
        if let Some((_, j)) = &self.journal {
            for p in &j.pages {
                out.push(OtherPage {
                    pgno: p.pgno,
                    version: Version::Journal,
                    loc: Loc {
                        file: FileRole::Journal,
                        offset: p.offset,
                    },
                    frame: None,
                });
            }
        }
        out
    }
}
