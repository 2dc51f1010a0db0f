//! QUIC frames inside a decrypted packet payload (RFC 9000 §19, RFC 9221).
//!
//! Frame types are varints and most frames have no length field, so an
//! unknown type ends parsing of the packet: the rest cannot be delimited.

use super::varint::Reader;

/// One frame, borrowing its data from the packet payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    Padding,
    Ping,
    Ack,
    ResetStream {
        id: u64,
        final_size: u64,
    },
    StopSending {
        id: u64,
    },
    Crypto {
        offset: u64,
        data: &'a [u8],
    },
    NewToken,
    Stream {
        id: u64,
        offset: u64,
        data: &'a [u8],
        fin: bool,
    },
    NewConnectionId {
        cid: &'a [u8],
    },
    ConnectionClose {
        /// Application close (type 0x1d) rather than transport close.
        app: bool,
        code: u64,
        reason: &'a [u8],
    },
    HandshakeDone,
    Datagram(&'a [u8]),
    /// A known frame whose fields are flow control or path state.
    Control(u64),
}

/// Why frame parsing stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameError {
    /// Offset of the frame within the payload.
    pub offset: usize,
    pub frame_type: Option<u64>,
    pub unknown: bool,
}

/// Iterates the frames of one packet payload.
pub struct Frames<'a> {
    r: Reader<'a>,
    /// gQUIC Q050/T05x: type 0x08 is a CRYPTO frame.
    gquic: bool,
    done: bool,
}

impl<'a> Frames<'a> {
    pub fn new(payload: &'a [u8]) -> Frames<'a> {
        Frames {
            r: Reader::new(payload),
            gquic: false,
            done: false,
        }
    }

    /// Google QUIC Q050/T05x Initial payloads, whose CRYPTO frame is type 0x08.
    pub fn gquic(payload: &'a [u8]) -> Frames<'a> {
        Frames {
            gquic: true,
            ..Frames::new(payload)
        }
    }

    fn next_frame(&mut self) -> Result<Frame<'a>, FrameError> {
        let start = self.r.pos();
        let r = &mut self.r;
        let err = |t: Option<u64>, unknown: bool| FrameError {
            offset: start,
            frame_type: t,
            unknown,
        };
        let t = r.varint().ok_or(err(None, false))?;
        let trunc = || err(Some(t), false);
        let skip = |n: usize, r: &mut Reader<'a>| -> Result<(), FrameError> {
            for _ in 0..n {
                r.varint().ok_or(trunc())?;
            }
            Ok(())
        };
        let f = match t {
            0x00 => {
                while r.peek() == Some(0) {
                    r.u8();
                }
                Frame::Padding
            }
            0x01 => Frame::Ping,
            0x02 | 0x03 => {
                skip(2, r)?;
                let ranges = r.varint().ok_or(trunc())?;
                skip(1, r)?;
                // Each range needs at least two bytes: a bound that stops absurd counts early.
                if ranges > r.remaining() as u64 {
                    return Err(trunc());
                }
                skip(ranges as usize * 2, r)?;
                if t == 0x03 {
                    skip(3, r)?;
                }
                Frame::Ack
            }
            0x04 => {
                let id = r.varint().ok_or(trunc())?;
                skip(1, r)?;
                let final_size = r.varint().ok_or(trunc())?;
                Frame::ResetStream { id, final_size }
            }
            0x05 => {
                let id = r.varint().ok_or(trunc())?;
                skip(1, r)?;
                Frame::StopSending { id }
            }
            0x06 => crypto(r).ok_or(trunc())?,
            0x08 if self.gquic => crypto(r).ok_or(trunc())?,
            0x07 => {
                r.varint_bytes().ok_or(trunc())?;
                Frame::NewToken
            }
            0x08..=0x0f => {
                let id = r.varint().ok_or(trunc())?;
                let offset = if t & 0x04 != 0 {
                    r.varint().ok_or(trunc())?
                } else {
                    0
                };
                let data = if t & 0x02 != 0 {
                    r.varint_bytes().ok_or(trunc())?
                } else {
                    r.rest()
                };
                Frame::Stream {
                    id,
                    offset,
                    data,
                    fin: t & 0x01 != 0,
                }
            }
            0x10 | 0x12 | 0x13 | 0x14 | 0x16 | 0x17 | 0x19 => {
                skip(1, r)?;
                Frame::Control(t)
            }
            0x11 | 0x15 => {
                skip(2, r)?;
                Frame::Control(t)
            }
            0x18 => {
                skip(2, r)?;
                let n = r.u8().ok_or(trunc())?;
                let cid = r.take(u64::from(n)).ok_or(trunc())?;
                r.take(16).ok_or(trunc())?;
                Frame::NewConnectionId { cid }
            }
            0x1a | 0x1b => {
                r.take(8).ok_or(trunc())?;
                Frame::Control(t)
            }
            0x1c | 0x1d => {
                let code = r.varint().ok_or(trunc())?;
                if t == 0x1c {
                    skip(1, r)?;
                }
                let reason = r.varint_bytes().ok_or(trunc())?;
                Frame::ConnectionClose {
                    app: t == 0x1d,
                    code,
                    reason,
                }
            }
            0x1e => Frame::HandshakeDone,
            0x30 => Frame::Datagram(r.rest()),
            0x31 => Frame::Datagram(r.varint_bytes().ok_or(trunc())?),
            // IMMEDIATE_ACK (draft-ietf-quic-ack-frequency).
            0x1f => Frame::Control(t),
            _ => return Err(err(Some(t), true)),
        };
        Ok(f)
    }
}

fn crypto<'a>(r: &mut Reader<'a>) -> Option<Frame<'a>> {
    let offset = r.varint()?;
    let data = r.varint_bytes()?;
    Some(Frame::Crypto { offset, data })
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.r.is_empty() {
            return None;
        }
        let f = self.next_frame();
        if f.is_err() {
            self.done = true;
        }
        Some(f)
    }
}

/// Whether a stream is unidirectional (second bit of the id set).
pub fn unidirectional(id: u64) -> bool {
    id & 2 != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::keylog::hex;

    #[test]
    fn parses_a_typical_1rtt_payload() {
        // ACK, STREAM(id 0, off, len, fin) "ping", PADDING, PING.
        let p = hex("0200000000 0e0004 0470696e67 0000 01"
            .replace(' ', "")
            .as_str())
        .unwrap();
        let frames: Vec<_> = Frames::new(&p).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            frames,
            vec![
                Frame::Ack,
                Frame::Stream {
                    id: 0,
                    offset: 4,
                    data: b"ping",
                    fin: false
                },
                Frame::Padding,
                Frame::Ping
            ]
        );
    }

    #[test]
    fn crypto_close_and_unknown_frames() {
        let p = hex("0600036162631d0504626f6f6d").unwrap();
        let frames: Vec<_> = Frames::new(&p).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            frames[0],
            Frame::Crypto {
                offset: 0,
                data: b"abc"
            }
        );
        assert_eq!(
            frames[1],
            Frame::ConnectionClose {
                app: true,
                code: 5,
                reason: b"boom"
            }
        );
        let mut it = Frames::new(&[0x01, 0x40, 0x99, 0x00]);
        assert_eq!(it.next(), Some(Ok(Frame::Ping)));
        let e = it.next().unwrap().unwrap_err();
        assert!(e.unknown);
        assert_eq!(e.offset, 1);
        assert_eq!(it.next(), None);
        // gQUIC Q050: 0x08 is CRYPTO.
        let g: Vec<_> = Frames::gquic(&[0x08, 0x00, 0x01, 0x43]).collect();
        assert_eq!(
            g,
            vec![Ok(Frame::Crypto {
                offset: 0,
                data: b"C"
            })]
        );
    }

    #[test]
    fn stream_without_length_takes_the_rest_and_truncation_is_an_error() {
        let p = [0x09, 0x04, b'h', b'i'];
        let f: Vec<_> = Frames::new(&p).collect();
        assert_eq!(
            f,
            vec![Ok(Frame::Stream {
                id: 4,
                offset: 0,
                data: b"hi",
                fin: true
            })]
        );
        let p = hex("02ff").unwrap();
        assert!(Frames::new(&p).next().unwrap().is_err());
        let ack_bomb = hex("02000080ffffff00").unwrap();
        assert!(Frames::new(&ack_bomb).next().unwrap().is_err());
        assert!(unidirectional(2) && !unidirectional(4));
    }
}
