//! One file's size, line count and SHA-256, in one blocking job.
//!
//! The whole file is read and hashed by one job on the blocking pool (the
//! batching `boucle::fs` does for its own reads, taken to its end: one
//! thread hop per file, none per read). Hashing is CPU work, so it must not
//! run on the loop thread, and the pool's threads let it use every core.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Bytes one `read(2)` asks for.
const READ_SIZE: usize = 256 * 1024;

/// What a processed file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub bytes: u64,
    pub lines: u64,
    pub sha256: [u8; 32],
}

thread_local! {
    /// Each pool thread reads into its own buffer, reused file after file.
    static BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_SIZE]);
}

/// The kind of a file that is not regular, for messages.
pub fn special_kind(t: std::fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Reads `path` to its end. Opened `O_NONBLOCK` and checked with `fstat`
/// before any read, so a FIFO (or a file replaced by one meanwhile) is an
/// error, never a hang.
pub fn hash_file(path: &Path) -> io::Result<Summary> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("skipped: {}", special_kind(meta.file_type())),
        ));
    }
    BUF.with(|buf| hash_reader(file, &mut buf.borrow_mut()))
}

fn hash_reader(mut file: File, buf: &mut [u8]) -> io::Result<Summary> {
    let mut hasher = Sha256::new();
    let (mut bytes, mut lines) = (0u64, 0u64);
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        hasher.update(chunk);
        lines += count_newlines(chunk);
        bytes += n as u64;
    }
    Ok(Summary {
        bytes,
        lines,
        sha256: hasher.finalize().into(),
    })
}

/// `\n` bytes in `chunk` (what `wc -l` counts), eight bytes at a time.
fn count_newlines(chunk: &[u8]) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut words = chunk.chunks_exact(8);
    let mut n = 0u64;
    for w in &mut words {
        let x = u64::from_ne_bytes(w.try_into().expect("8 bytes")) ^ (LO * b'\n' as u64);
        // A zero byte of x is a newline of the chunk: exact count per word.
        let zero = !(((x & !HI) + !HI) | x) & HI;
        n += u64::from(zero.count_ones());
    }
    n + words.remainder().iter().filter(|&&b| b == b'\n').count() as u64
}

/// Lower-case hex, as sha256sum prints it.
pub fn hex(hash: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in hash {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_counted_exactly() {
        for len in 0..40 {
            for pos in 0..len {
                let mut v = vec![b'a'; len];
                v[pos] = b'\n';
                if pos + 3 < len {
                    v[pos + 3] = b'\n';
                }
                let want = v.iter().filter(|&&b| b == b'\n').count() as u64;
                assert_eq!(count_newlines(&v), want, "len {len} pos {pos}");
            }
        }
        // Bytes next to 0x0a that a carry could confuse.
        let v = [0x0b, 0x0a, 0x09, 0x8a, 0x0a, 0x0a, 0xff, 0x00, 0x0a];
        assert_eq!(count_newlines(&v), 4);
    }

    #[test]
    fn the_hash_of_abc_is_the_known_one() {
        let h: [u8; 32] = Sha256::digest(b"abc").into();
        assert_eq!(
            hex(&h),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
