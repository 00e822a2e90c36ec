//! Cross-shard channels: `sync::mpsc` and `sync::oneshot` senders are
//! `Send`, so they go to other shards; each receiver is awaited on the
//! shard that holds it.

use std::time::Duration;

use boucle::runtime::{spawn_on, spawn_on_with, ShardedHandle};
use boucle::sync::{mpsc, oneshot};
use boucle::Runtime;

#[test]
fn producers_on_every_shard_feed_one_consumer_shard_through_mpsc() {
    const PER_SHARD: u64 = 5_000;
    let rt = Runtime::builder().threads(3).build().unwrap();
    let out = rt.block_on(|shard| async move {
        if shard.id() != 0 {
            return 0;
        }
        let (tx, mut rx) = mpsc::channel::<(usize, u64)>(16); // bounded: senders wait
        let shards = ShardedHandle::current();
        for s in 0..shards.len() {
            let tx = tx.clone();
            drop(shards.spawn_on_with(s, move || async move {
                let me = boucle::runtime::shard_id().unwrap();
                for i in 0..PER_SHARD {
                    tx.send((me, i)).await.unwrap();
                }
            }));
        }
        drop(tx);
        let mut next = [0u64; 3];
        let mut total = 0;
        while let Some((from, i)) = rx.recv().await {
            // FIFO per producer.
            assert_eq!(i, next[from], "from shard {from}");
            next[from] += 1;
            total += i;
        }
        assert_eq!(next, [PER_SHARD; 3]);
        total
    });
    assert_eq!(
        *out[0].as_ref().unwrap(),
        3 * PER_SHARD * (PER_SHARD - 1) / 2
    );
}

#[test]
fn oneshot_ping_pong_between_two_shards() {
    const ROUNDS: u32 = 2_000;
    let rt = Runtime::builder().threads(2).build().unwrap();
    let out = rt.block_on(|shard| async move {
        if shard.id() != 0 {
            return 0;
        }
        // Each round: send a oneshot sender to shard 1, which answers on it.
        let mut sum = 0;
        for i in 0..ROUNDS {
            let (tx, rx) = oneshot::channel();
            drop(spawn_on(1, async move {
                let _ = tx.send(i + boucle::runtime::shard_id().unwrap() as u32);
            }));
            sum += rx.await.unwrap();
        }
        sum
    });
    assert_eq!(*out[0].as_ref().unwrap(), (0..ROUNDS).sum::<u32>() + ROUNDS);
}

#[test]
fn a_receiver_on_a_stopped_shard_closes_its_senders() {
    let rt = Runtime::builder().threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let holder = rt.spawn_on_with(1, move || async move {
        let (chan_tx, mut chan_rx) = mpsc::unbounded::<u8>();
        tx.send(chan_tx).unwrap();
        // Holds the receiver until the shard stops.
        let _ = chan_rx.recv().await;
        std::future::pending::<()>().await;
    });
    let chan_tx = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    chan_tx.try_send(1).unwrap();
    let report = rt.shutdown_timeout(Duration::ZERO);
    assert!(report.all_in_time());
    assert!(holder.wait().unwrap_err().is_cancelled());
    assert!(chan_tx.is_closed());
    assert!(chan_tx.try_send(2).is_err());
}

#[test]
fn channels_cross_shards_with_virtual_time_too() {
    let rt = Runtime::builder()
        .virtual_time(true)
        .threads(2)
        .build()
        .unwrap();
    let out = rt.block_on(|shard| async move {
        if shard.id() == 1 {
            return Vec::new();
        }
        let (tx, mut rx) = mpsc::unbounded();
        let producer = spawn_on_with(1, move || async move {
            for i in 0..5u64 {
                boucle::sleep(Duration::from_secs(10)).await; // virtual: instant
                tx.send(i).await.unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        producer.await.unwrap();
        got
    });
    assert_eq!(*out[0].as_ref().unwrap(), [0, 1, 2, 3, 4]);
}
