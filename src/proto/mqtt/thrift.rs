//! A walker over Thrift compact-protocol structs (the encoding of MQTToT's
//! connect payload and of many of its publish payloads).
//!
//! It reports every scalar and binary field with its field-id path, and
//! map entries whose key and value are both binary as pairs. Nesting depth,
//! element counts and lengths are checked against the bytes available, so
//! hostile input ends in an error value, never a panic or a large allocation.

/// One value met while walking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Bool(bool),
    /// byte, i16, i32 and i64 fields.
    Int(i64),
    Double(f64),
    Binary(&'a [u8]),
    /// A `map<binary, binary>` entry.
    Pair(&'a [u8], &'a [u8]),
}

/// Why a walk stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    Truncated,
    BadType(u8),
    TooDeep,
}

const MAX_DEPTH: usize = 16;

struct Walker<'a, F> {
    b: &'a [u8],
    pos: usize,
    path: Vec<i16>,
    f: F,
}

/// Walks one struct at the start of `data`; returns the bytes it used.
pub fn walk_struct<'a>(data: &'a [u8], f: impl FnMut(&[i16], Value<'a>)) -> Result<usize, Error> {
    let mut w = Walker {
        b: data,
        pos: 0,
        path: Vec::new(),
        f,
    };
    w.structure(0)?;
    Ok(w.pos)
}

impl<'a, F: FnMut(&[i16], Value<'a>)> Walker<'a, F> {
    fn byte(&mut self) -> Result<u8, Error> {
        let b = *self.b.get(self.pos).ok_or(Error::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.byte()?;
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error::Truncated)
    }

    fn zigzag(&mut self) -> Result<i64, Error> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn bytes(&mut self, n: u64) -> Result<&'a [u8], Error> {
        let n = usize::try_from(n).map_err(|_| Error::Truncated)?;
        let end = self.pos.checked_add(n).ok_or(Error::Truncated)?;
        let s = self.b.get(self.pos..end).ok_or(Error::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn structure(&mut self, depth: usize) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(Error::TooDeep);
        }
        let mut last: i16 = 0;
        loop {
            let h = self.byte()?;
            let ty = h & 0x0f;
            if ty == 0 {
                return Ok(());
            }
            let delta = (h >> 4) as i16;
            let id = if delta != 0 {
                last.wrapping_add(delta)
            } else {
                self.zigzag()? as i16
            };
            last = id;
            self.path.push(id);
            let r = match ty {
                1 | 2 => {
                    self.emit(Value::Bool(ty == 1));
                    Ok(())
                }
                _ => self.value(ty, depth),
            };
            self.path.pop();
            r?;
        }
    }

    fn emit(&mut self, v: Value<'a>) {
        (self.f)(&self.path, v);
    }

    fn value(&mut self, ty: u8, depth: usize) -> Result<(), Error> {
        match ty {
            // Booleans inside lists, sets and maps take one byte.
            1 | 2 => {
                let b = self.byte()?;
                self.emit(Value::Bool(b == 1));
            }
            3 => {
                let b = self.byte()? as i8;
                self.emit(Value::Int(b as i64));
            }
            4..=6 => {
                let v = self.zigzag()?;
                self.emit(Value::Int(v));
            }
            7 => {
                let s = self.bytes(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                self.emit(Value::Double(f64::from_le_bytes(a)));
            }
            8 => {
                let n = self.varint()?;
                let s = self.bytes(n)?;
                self.emit(Value::Binary(s));
            }
            9 | 10 => {
                let h = self.byte()?;
                let et = h & 0x0f;
                let size = match h >> 4 {
                    15 => self.varint()?,
                    n => n as u64,
                };
                // Every element takes at least one byte.
                if size > (self.b.len() - self.pos) as u64 {
                    return Err(Error::Truncated);
                }
                for _ in 0..size {
                    self.value(et, depth + 1)?;
                }
            }
            11 => {
                let size = self.varint()?;
                if size == 0 {
                    return Ok(());
                }
                if size > (self.b.len() - self.pos) as u64 {
                    return Err(Error::Truncated);
                }
                let kv = self.byte()?;
                let (kt, vt) = (kv >> 4, kv & 0x0f);
                for _ in 0..size {
                    if kt == 8 && vt == 8 {
                        let kn = self.varint()?;
                        let k = self.bytes(kn)?;
                        let vn = self.varint()?;
                        let v = self.bytes(vn)?;
                        self.emit(Value::Pair(k, v));
                    } else {
                        self.value(kt, depth + 1)?;
                        self.value(vt, depth + 1)?;
                    }
                }
            }
            12 => self.structure(depth + 1)?,
            t => return Err(Error::BadType(t)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_lists_maps_and_nesting() {
        // 1: binary "cid", 4: struct { 1: i64 42, 2: binary "UA" }, 5: true,
        // 6: list<i32> [1, -1], 10: map<binary,binary> {"k": "v"}
        let b =
            b"\x18\x03cid\x3c\x16\x54\x18\x02UA\x00\x11\x19\x25\x02\x01\x4b\x01\x88\x01k\x01v\x00";
        let mut got = Vec::new();
        let used = walk_struct(b, |p, v| got.push((p.to_vec(), format!("{v:?}")))).unwrap();
        assert_eq!(used, b.len());
        assert_eq!(
            got,
            vec![
                (vec![1], "Binary([99, 105, 100])".to_string()),
                (vec![4, 1], "Int(42)".to_string()),
                (vec![4, 2], "Binary([85, 65])".to_string()),
                (vec![5], "Bool(true)".to_string()),
                (vec![6], "Int(1)".to_string()),
                (vec![6], "Int(-1)".to_string()),
                (vec![10], "Pair([107], [118])".to_string()),
            ]
        );
    }

    #[test]
    fn hostile_input_is_an_error() {
        assert_eq!(walk_struct(b"\x18\x7f", |_, _| {}), Err(Error::Truncated));
        assert_eq!(
            walk_struct(b"\x19\xf8\xff\xff\xff\x0f", |_, _| {}),
            Err(Error::Truncated)
        );
        assert_eq!(walk_struct(b"\x1d", |_, _| {}), Err(Error::BadType(13)));
        let deep = [0x1cu8; 64];
        assert_eq!(walk_struct(&deep, |_, _| {}), Err(Error::TooDeep));
        let mut x: u32 = 99;
        for n in 0..2000 {
            let v: Vec<u8> = (0..n % 40)
                .map(|_| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (x >> 24) as u8
                })
                .collect();
            let _ = walk_struct(&v, |_, _| {});
        }
    }
}
