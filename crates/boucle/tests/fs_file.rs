//! `boucle::fs::File`: reads, writes and seeks against a model, write-back
//! errors, the trait impls, and the free functions on real files.

use std::io::{ErrorKind, SeekFrom};

use boucle::fs::{self, File, OpenOptions};
use futures_util::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("boucle-fs-")
        .tempdir()
        .unwrap()
}

#[test]
fn free_functions_round_trip() {
    let dir = tmp();
    let d = dir.path().to_path_buf();
    boucle::run(async move {
        fs::create_dir_all(d.join("a/b/c")).await.unwrap();
        let f = d.join("a/b/c/x.txt");
        fs::write(&f, "bonjour").await.unwrap();
        assert_eq!(fs::read(&f).await.unwrap(), b"bonjour");
        assert_eq!(fs::read_to_string(&f).await.unwrap(), "bonjour");
        assert_eq!(fs::metadata(&f).await.unwrap().len(), 7);
        assert_eq!(fs::copy(&f, d.join("y.txt")).await.unwrap(), 7);
        fs::rename(d.join("y.txt"), d.join("z.txt")).await.unwrap();
        assert_eq!(fs::read(d.join("z.txt")).await.unwrap(), b"bonjour");
        fs::symlink(&f, d.join("link")).await.unwrap();
        assert!(fs::symlink_metadata(d.join("link"))
            .await
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::metadata(d.join("link")).await.unwrap().is_file());
        assert_eq!(
            fs::canonicalize(d.join("link")).await.unwrap(),
            std::fs::canonicalize(&f).unwrap()
        );
        fs::remove_file(d.join("z.txt")).await.unwrap();
        assert!(!fs::try_exists(d.join("z.txt")).await.unwrap());
        fs::remove_dir_all(d.join("a")).await.unwrap();
        assert!(!d.join("a").exists());
    });
}

#[test]
fn errors_name_the_path_and_keep_the_kind() {
    let dir = tmp();
    let d = dir.path().to_path_buf();
    boucle::run(async move {
        let missing = d.join("no-such-file");
        let cases = [
            fs::read(&missing).await.map(drop).unwrap_err(),
            fs::metadata(&missing).await.map(drop).unwrap_err(),
            File::open(&missing).await.map(drop).unwrap_err(),
            fs::remove_file(&missing).await.unwrap_err(),
            fs::read_dir(&missing).await.map(drop).unwrap_err(),
            fs::canonicalize(&missing).await.map(drop).unwrap_err(),
        ];
        for e in cases {
            assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
            let text = e.to_string();
            assert!(text.contains("no-such-file"), "{text}");
            assert!(text.contains("No such file"), "{text}");
            let os = std::error::Error::source(e.get_ref().unwrap()).unwrap();
            assert!(os.to_string().contains("os error 2"), "{os}");
        }
        let e = fs::rename(&missing, d.join("elsewhere")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("no-such-file") && e.to_string().contains("elsewhere"));
        fs::create_dir(d.join("dir")).await.unwrap();
        let e = fs::create_dir(d.join("dir")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = fs::read(d.join("dir")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::IsADirectory, "{e}");
        assert!(e.to_string().contains("dir"), "{e}");
        fs::write(d.join("bad.txt"), [0xff, 0xfe]).await.unwrap();
        let e = fs::read_to_string(d.join("bad.txt")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert!(e.to_string().contains("bad.txt"), "{e}");
    });
}

/// Random reads, writes and seeks on a boucle `File` and on an in-memory
/// model: every result and the final contents agree.
#[test]
fn reads_writes_and_seeks_agree_with_a_model() {
    let dir = tmp();
    let path = dir.path().join("model.bin");
    for seed in 0..12u64 {
        let path = path.clone();
        boucle::run(async move {
            let mut rng = fastrand_like(seed);
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .await
                .unwrap();
            let mut model = std::io::Cursor::new(Vec::<u8>::new());
            for step in 0..300 {
                let sizes = [1usize, 7, 100, 4096, 70_000, 300_000];
                let size = sizes[(rng() % sizes.len() as u64) as usize];
                match rng() % 4 {
                    0 | 1 => {
                        let data: Vec<u8> = (0..size).map(|i| (i as u64 ^ rng()) as u8).collect();
                        f.write_all(&data).await.unwrap();
                        std::io::Write::write_all(&mut model, &data).unwrap();
                    }
                    2 => {
                        let mut got = vec![0u8; size];
                        let mut want = vec![0u8; size];
                        let mut n = 0;
                        // Fill as far as the file allows (reads may be short).
                        while n < size {
                            let k = f.read(&mut got[n..]).await.unwrap();
                            if k == 0 {
                                break;
                            }
                            n += k;
                        }
                        let m = std::io::Read::read(&mut model, &mut want).unwrap();
                        let m = m + std::io::Read::read(&mut model, &mut want[m..]).unwrap();
                        assert_eq!(n, m, "seed {seed} step {step}: bytes read");
                        let first_diff = got[..n].iter().zip(&want[..m]).position(|(a, b)| a != b);
                        assert_eq!(first_diff, None, "seed {seed} step {step}: bytes differ");
                    }
                    _ => {
                        let len = model.get_ref().len() as u64;
                        let pos = match rng() % 3 {
                            0 => SeekFrom::Start(rng() % (len + 1)),
                            1 => SeekFrom::End(-((rng() % (len + 1)) as i64)),
                            _ => SeekFrom::Current(0),
                        };
                        let got = f.seek(pos).await.unwrap();
                        let want = std::io::Seek::seek(&mut model, pos).unwrap();
                        assert_eq!(got, want, "seed {seed} step {step}: {pos:?}");
                    }
                }
            }
            f.flush().await.unwrap();
            drop(f);
            let on_disk = std::fs::read(&path).unwrap();
            assert_eq!(on_disk.len(), model.get_ref().len(), "seed {seed}: length");
            assert!(on_disk == *model.get_ref(), "seed {seed}: contents differ");
        });
    }
}

/// A tiny xorshift: the tests need no RNG crate.
fn fastrand_like(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

#[test]
fn the_futures_io_traits_work() {
    let dir = tmp();
    let path = dir.path().join("traits.txt");
    boucle::run(async move {
        let mut f = File::create(&path).await.unwrap();
        AsyncWriteExt::write_all(&mut f, b"0123456789")
            .await
            .unwrap();
        AsyncWriteExt::close(&mut f).await.unwrap();
        let mut f = File::open(&path).await.unwrap();
        assert_eq!(
            AsyncSeekExt::seek(&mut f, SeekFrom::End(-3)).await.unwrap(),
            7
        );
        let mut s = String::new();
        AsyncReadExt::read_to_string(&mut f, &mut s).await.unwrap();
        assert_eq!(s, "789");
        assert_eq!(f.stream_position().await.unwrap(), 10);
    });
}

#[test]
fn a_failing_background_write_surfaces_on_the_next_call_and_on_flush() {
    boucle::run(async {
        // Every write to /dev/full fails with ENOSPC.
        let mut f = OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .await
            .unwrap();
        f.write_all(b"small").await.unwrap(); // buffered: no error yet
        let e = f.flush().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StorageFull, "{e}");
        assert!(e.to_string().contains("/dev/full"), "{e}");
        // A full buffer goes out in the background; the error comes back
        // from a later write or the flush, never lost.
        let big = vec![7u8; 600 * 1024];
        let mut seen = None;
        for _ in 0..4 {
            if let Err(e) = f.write_all(&big).await {
                seen = Some(e);
                break;
            }
        }
        let e = match seen {
            Some(e) => e,
            None => f.flush().await.unwrap_err(),
        };
        assert_eq!(e.kind(), ErrorKind::StorageFull, "{e}");
    });
}

#[test]
fn sync_all_set_len_and_metadata_see_buffered_writes() {
    let dir = tmp();
    let path = dir.path().join("len.bin");
    boucle::run(async move {
        let mut f = File::create_new(&path).await.unwrap();
        f.write_all(&[1u8; 1000]).await.unwrap();
        assert_eq!(
            f.metadata().await.unwrap().len(),
            1000,
            "metadata flushes first"
        );
        f.set_len(10).await.unwrap();
        f.sync_all().await.unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 10);
        assert_eq!(
            File::create_new(&path).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
    });
}

#[test]
fn dropping_a_file_writes_its_buffer_back() {
    let dir = tmp();
    let path = dir.path().join("dropped.txt");
    let p = path.clone();
    boucle::run(async move {
        let mut f = File::create(&p).await.unwrap();
        // A full chunk in flight plus a partial one buffered.
        f.write_all(&vec![b'x'; 300 * 1024]).await.unwrap();
        drop(f);
    });
    // run() waited for the write-back before returning.
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 300 * 1024);
    // Dropped outside any loop: written on this thread.
    let rt = boucle::Runtime::new().unwrap();
    let f = rt.block_on(async {
        let mut f = File::create(&path).await.unwrap();
        f.write_all(b"after").await.unwrap();
        f
    });
    drop(rt);
    drop(f);
    assert_eq!(std::fs::read(&path).unwrap(), b"after");
}

#[test]
fn read_to_end_of_a_large_file() {
    let dir = tmp();
    let path = dir.path().join("big.bin");
    let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    boucle::run(async move {
        let mut f = File::open(&path).await.unwrap();
        let mut head = [0u8; 3];
        f.read_exact(&mut head).await.unwrap();
        let mut rest = Vec::new();
        assert_eq!(f.read_to_end(&mut rest).await.unwrap(), data.len() - 3);
        assert_eq!(head[..], data[..3]);
        assert!(rest == data[3..]);
        let e = f.read_exact(&mut head).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof);
    });
}

/// The child side of `an_error_after_the_drop_is_printed_not_lost`.
#[test]
#[ignore = "helper: started by an_error_after_the_drop_is_printed_not_lost"]
fn drop_error_helper() {
    if std::env::var_os("BOUCLE_FS_DROP_CHILD").is_none() {
        return;
    }
    boucle::run(async {
        let mut f = OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .await
            .unwrap();
        f.write_all(b"lost?").await.unwrap();
        drop(f); // the write-back fails with ENOSPC after the drop
    });
}

#[test]
fn an_error_after_the_drop_is_printed_not_lost() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "drop_error_helper", "--ignored", "--nocapture"])
        .env("BOUCLE_FS_DROP_CHILD", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("boucle::fs: a write to /dev/full failed after its File was dropped"),
        "{stderr}"
    );
}
