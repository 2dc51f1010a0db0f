//! Rollback journals (`-journal`): the before-images of every page a
//! transaction changed (storage.md §2.10). In PERSIST mode, or when copied
//! mid-transaction, the header is zeroed; records are then found by sector
//! alignment and a checksum nonce that must agree across records.

use super::format::be32;
use super::source::Source;

pub const MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalPage {
    pub pgno: u32,
    /// Offset of the page image in the journal file.
    pub offset: u64,
    pub checksum_ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    /// The header magic was present (a live, synced journal).
    pub magic: bool,
    pub page_size: u32,
    pub sector_size: u32,
    pub original_pages: u32,
    pub pages: Vec<JournalPage>,
}

fn cksum(page: &[u8]) -> u32 {
    let mut sum: u32 = 0;
    let mut i = page.len() as i64 - 200;
    while i > 0 {
        sum = sum.wrapping_add(u32::from(page[i as usize]));
        i -= 200;
    }
    sum
}

/// Reads a journal. `db_page_size` is used when the header was zeroed.
pub fn scan(src: &Source, db_page_size: Option<u32>) -> Option<Journal> {
    let head = src.read_vec(0, 28);
    let magic = head.get(..8) == Some(&MAGIC[..]);
    let candidates: Vec<(u32, u32, Option<u32>, u32)> = if magic {
        let nrec = be32(&head, 8)?;
        let nonce = be32(&head, 12)?;
        let orig = be32(&head, 16)?;
        let sector = be32(&head, 20)?;
        let psz = be32(&head, 24)?;
        if !(512..=65536).contains(&psz)
            || !psz.is_power_of_two()
            || !(32..=65536).contains(&sector)
        {
            return None;
        }
        let _ = nrec;
        vec![(psz, sector, Some(nonce), orig)]
    } else {
        let psz = db_page_size?;
        [512u32, 1024, 2048, 4096, 8192, 16384, 32768, 65536]
            .iter()
            .map(|&s| (psz, s, None, 0))
            .collect()
    };
    let mut best: Option<Journal> = None;
    for (psz, sector, nonce, orig) in candidates {
        let rec = 8 + psz as u64;
        let mut at = u64::from(sector);
        let mut pages = Vec::new();
        let mut implied: Option<u32> = nonce;
        let mut page = vec![0u8; psz as usize];
        let mut pg = [0u8; 4];
        let mut ck = [0u8; 4];
        while at + rec <= src.len() && pages.len() < 1 << 20 {
            if !src.read_at(at, &mut pg)
                || !src.read_at(at + 4, &mut page)
                || !src.read_at(at + 4 + u64::from(psz), &mut ck)
            {
                break;
            }
            let pgno = u32::from_be_bytes(pg);
            let stored = u32::from_be_bytes(ck);
            let sum = cksum(&page);
            let ok = match implied {
                Some(n) => n.wrapping_add(sum) == stored,
                None => {
                    implied = Some(stored.wrapping_sub(sum));
                    true
                }
            };
            if pgno == 0 || (!ok && nonce.is_none()) {
                break;
            }
            pages.push(JournalPage {
                pgno,
                offset: at + 4,
                checksum_ok: ok,
            });
            at += rec;
        }
        // Without a header, one record proves nothing: require two that agree.
        if nonce.is_none() && pages.len() < 2 {
            continue;
        }
        if best.as_ref().is_none_or(|b| pages.len() > b.pages.len()) {
            best = Some(Journal {
                magic,
                page_size: psz,
                sector_size: sector,
                original_pages: orig,
                pages,
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(with_magic: bool, sector: usize, psz: usize, nonce: u32, n: u32) -> Vec<u8> {
        let mut j = vec![0u8; sector];
        if with_magic {
            j[..8].copy_from_slice(&MAGIC);
            j[8..12].copy_from_slice(&n.to_be_bytes());
            j[12..16].copy_from_slice(&nonce.to_be_bytes());
            j[16..20].copy_from_slice(&10u32.to_be_bytes());
            j[20..24].copy_from_slice(&(sector as u32).to_be_bytes());
            j[24..28].copy_from_slice(&(psz as u32).to_be_bytes());
        }
        for p in 1..=n {
            let page: Vec<u8> = (0..psz).map(|i| (i as u32 * p) as u8).collect();
            j.extend_from_slice(&p.to_be_bytes());
            j.extend_from_slice(&page);
            j.extend_from_slice(&nonce.wrapping_add(cksum(&page)).to_be_bytes());
        }
        j
    }

    #[test]
    fn synced_journal_with_header() {
        let j = scan(&Source::Mem(journal(true, 512, 1024, 0xdead_beef, 3)), None).unwrap();
        assert!(j.magic);
        assert_eq!(j.pages.len(), 3);
        assert!(j.pages.iter().all(|p| p.checksum_ok));
        assert_eq!(j.pages[0].offset, 516);
    }

    #[test]
    fn zeroed_header_is_recovered_by_nonce_agreement() {
        let j = scan(&Source::Mem(journal(false, 4096, 1024, 77, 4)), Some(1024)).unwrap();
        assert!(!j.magic);
        assert_eq!(j.sector_size, 4096);
        assert_eq!(
            j.pages.iter().map(|p| p.pgno).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        // Without the database page size nothing can be said.
        assert!(scan(&Source::Mem(journal(false, 512, 1024, 77, 4)), None).is_none());
    }
}
