//! The futures ecosystem on boucle: `futures::select!`, `join!`, stream and
//! future combinators from futures-util and futures-lite, and async-channel.
//! boucle has no `select!` of its own: these work as they are, because
//! boucle's wakers are plain `std::task::Waker`s.

use std::time::Duration;

use futures::{FutureExt, StreamExt};

fn rt() -> boucle::Runtime {
    boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap()
}

#[test]
fn futures_select_picks_the_first_ready_branch() {
    let winner = rt().block_on(async {
        let slow = boucle::sleep(Duration::from_secs(5)).fuse();
        let fast = boucle::sleep(Duration::from_secs(1)).fuse();
        futures::pin_mut!(slow, fast);
        futures::select! {
            () = slow => "slow",
            () = fast => "fast",
        }
    });
    assert_eq!(winner, "fast");
}

#[test]
fn futures_select_in_a_loop_with_a_task_and_an_interval() {
    let (ticks, value) = rt().block_on(async {
        let start = boucle::now();
        let mut work = boucle::spawn(async {
            boucle::sleep(Duration::from_millis(3500)).await;
            "done"
        })
        .fuse();
        let mut ticks = boucle::time::interval(Duration::from_secs(1)).fuse();
        let mut seen = Vec::new();
        loop {
            futures::select! {
                t = ticks.next() => seen.push(t.unwrap() - start),
                v = work => break (seen, v.unwrap()),
            }
        }
    });
    assert_eq!(value, "done");
    assert_eq!(
        ticks,
        (0..4).map(Duration::from_secs).collect::<Vec<_>>(),
        "ticks at 0, 1, 2 and 3 s before the work ends at 3.5 s"
    );
}

#[test]
fn futures_join_and_buffer_unordered() {
    let (pair, sizes) = rt().block_on(async {
        let pair = futures::join!(
            async {
                boucle::sleep(Duration::from_secs(2)).await;
                2
            },
            async {
                boucle::sleep(Duration::from_secs(1)).await;
                1
            }
        );
        let start = boucle::now();
        // At most two "downloads" at a time, results in completion order.
        let sizes: Vec<u64> = futures::stream::iter([3u64, 1, 2, 1])
            .map(|d| async move {
                boucle::sleep(Duration::from_secs(d)).await;
                d
            })
            .buffer_unordered(2)
            .collect()
            .await;
        assert_eq!(boucle::now() - start, Duration::from_secs(4));
        (pair, sizes)
    });
    assert_eq!(pair, (2, 1));
    // 1 ends at 1 s; 3 (armed at 0 s) and 2 (armed at 1 s) both end at 3 s,
    // in arming order; the last 1 ends at 4 s.
    assert_eq!(sizes, [1, 3, 2, 1]);
}

#[test]
fn futures_lite_combinators() {
    let out = rt().block_on(async {
        let first = futures_lite::future::or(
            async {
                boucle::sleep(Duration::from_secs(3)).await;
                'a'
            },
            async {
                boucle::sleep(Duration::from_secs(1)).await;
                'b'
            },
        )
        .await;
        let zipped = futures_lite::future::zip(async { 1 }, async { 2 }).await;
        let evens =
            futures_lite::StreamExt::filter(futures_lite::stream::iter(0..10), |n| n % 2 == 0);
        let counted = futures_lite::StreamExt::count(evens).await;
        (first, zipped, counted)
    });
    assert_eq!(out, ('b', (1, 2), 5));
}

#[test]
fn async_channel_between_tasks_and_from_a_thread() {
    let total = boucle::run(async {
        let (tx, rx) = async_channel::bounded::<u64>(4);
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let tx = tx.clone();
                boucle::spawn(async move {
                    for i in 0..100 {
                        tx.send(p * 1000 + i).await.unwrap();
                    }
                })
            })
            .collect();
        // A plain thread sends too: async-channel's wakers cross threads.
        let from_thread = {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    tx.send_blocking(1_000_000 + i).unwrap();
                }
            })
        };
        drop(tx);
        let mut total = 0u64;
        let mut n = 0;
        while let Ok(v) = rx.recv().await {
            total += v;
            n += 1;
        }
        for p in producers {
            p.await.unwrap();
        }
        from_thread.join().unwrap();
        assert_eq!(n, 500);
        total
    });
    let expected: u64 = (0..4u64)
        .flat_map(|p| (0..100).map(move |i| p * 1000 + i))
        .chain((0..100).map(|i| 1_000_000 + i))
        .sum();
    assert_eq!(total, expected);
}
