//! `sync::oneshot` and `sync::mpsc`: values from real threads (and from
//! `to_thread` jobs) into the loop, closing from either side, fairness and
//! cancellation of waiting senders.

use std::future::Future;
use std::thread;
use std::time::Duration;

use boucle::stream::StreamExt;
use boucle::sync::{mpsc, oneshot};

/// Real time (threads are involved); a lost wake-up fails after 10 s
/// instead of hanging. No test sleeps for real.
fn run<F: Future>(f: F) -> F::Output {
    boucle::run(async {
        boucle::timeout(Duration::from_secs(10), f)
            .await
            .expect("lost wake-up: the loop waited 10 s")
    })
}

fn virtual_run<F: Future>(f: F) -> F::Output {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(f)
}

fn assert_send<T: Send>(_: &T) {}

// ---------------------------------------------------------------- oneshot

#[test]
fn oneshot_carries_a_value_from_a_thread_to_a_task() {
    let v = run(async {
        let (tx, rx) = oneshot::channel();
        assert_send(&tx);
        assert_send(&rx);
        let worker = thread::spawn(move || tx.send(String::from("from the thread")));
        let v = rx.await;
        worker.join().unwrap().unwrap();
        v
    });
    assert_eq!(v.as_deref(), Ok("from the thread"));
}

#[test]
fn oneshot_hands_back_the_result_of_to_thread_work() {
    let v = run(async {
        let (tx, rx) = oneshot::channel();
        let job = boucle::to_thread(move || {
            let sum: u64 = (1..=1000).sum();
            tx.send(sum).is_ok()
        });
        let v = rx.await.unwrap();
        assert!(job.await.unwrap());
        v
    });
    assert_eq!(v, 500_500);
}

#[test]
fn oneshot_receiver_gets_recv_error_when_the_sender_is_dropped() {
    let r = run(async {
        let (tx, rx) = oneshot::channel::<u8>();
        thread::spawn(move || drop(tx));
        rx.await
    });
    assert_eq!(r, Err(oneshot::RecvError));
    assert_eq!(
        oneshot::RecvError.to_string(),
        "oneshot sender dropped without sending"
    );
}

#[test]
fn oneshot_send_fails_with_the_value_once_the_receiver_is_gone() {
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(5), Err(5));
}

#[test]
fn oneshot_close_refuses_later_sends_but_keeps_an_earlier_value() {
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert_eq!(tx.send(1), Err(1));
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));

    let (tx, mut rx) = oneshot::channel();
    tx.send(2).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn oneshot_try_recv_reports_empty_then_the_value_then_closed() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Empty));
    tx.send('x').unwrap();
    assert_eq!(rx.try_recv(), Ok('x'));
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
}

#[test]
fn a_oneshot_receiver_survives_a_timeout_and_is_awaited_again() {
    virtual_run(async {
        let (tx, mut rx) = oneshot::channel();
        assert!(boucle::timeout(Duration::from_secs(1), &mut rx)
            .await
            .is_err());
        tx.send(3).unwrap();
        assert_eq!(rx.await, Ok(3));
    });
}

// ------------------------------------------------------------------- mpsc

#[test]
fn mpsc_gathers_values_from_many_threads_then_ends() {
    let mut got = run(async {
        let (tx, mut rx) = mpsc::channel(8);
        assert_send(&tx);
        assert_send(&rx);
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..500 {
                        tx.send_blocking(t * 1000 + i).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        for t in threads {
            t.join().unwrap();
        }
        got
    });
    // Each thread's values arrive in its own order.
    for t in 0..4 {
        let mine: Vec<_> = got.iter().copied().filter(|v| v / 1000 == t).collect();
        assert_eq!(mine, (0..500).map(|i| t * 1000 + i).collect::<Vec<_>>());
    }
    got.sort_unstable();
    assert_eq!(got.len(), 2000);
}

#[test]
fn mpsc_receives_results_of_to_thread_jobs() {
    let mut got = run(async {
        let (tx, rx) = mpsc::unbounded();
        let jobs: Vec<_> = (0..8u32)
            .map(|n| {
                let tx = tx.clone();
                boucle::to_thread(move || tx.send_blocking(n * n).unwrap())
            })
            .collect();
        drop(tx);
        let got: Vec<u32> = rx.collect().await;
        for j in jobs {
            j.await.unwrap();
        }
        got
    });
    got.sort_unstable();
    assert_eq!(got, [0, 1, 4, 9, 16, 25, 36, 49]);
}

#[test]
fn a_bounded_mpsc_makes_a_thread_wait_until_the_loop_receives() {
    let got = run(async {
        let (tx, mut rx) = mpsc::channel(1);
        let t = thread::spawn(move || {
            for i in 0..100 {
                tx.send_blocking(i).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            assert!(rx.len() <= 1, "more than the capacity was buffered");
            got.push(v);
            boucle::yield_now().await;
        }
        t.join().unwrap();
        got
    });
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[test]
fn mpsc_try_send_and_try_recv_report_full_empty_and_disconnected() {
    let (tx, mut rx) = mpsc::channel(1);
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));
    tx.try_send(1).unwrap();
    let full = tx.try_send(2).unwrap_err();
    assert!(matches!(full, mpsc::TrySendError::Full(2)));
    assert_eq!(full.to_string(), "channel full");
    assert_eq!(rx.try_recv(), Ok(1));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
}

#[test]
fn mpsc_sends_fail_with_the_value_once_the_receiver_is_dropped() {
    let (tx, rx) = mpsc::channel(2);
    tx.try_send(1).unwrap();
    drop(rx);
    assert!(tx.is_closed());
    assert!(matches!(tx.try_send(2), Err(mpsc::TrySendError::Closed(2))));
    assert_eq!(tx.send_blocking(3).unwrap_err().into_inner(), 3);
}

#[test]
fn a_thread_blocked_in_send_blocking_is_released_when_the_receiver_goes() {
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let t = thread::spawn(move || {
        started_tx.send(()).unwrap();
        tx.send_blocking(1) // blocks: the channel is full
    });
    started_rx.recv().unwrap();
    thread::sleep(Duration::from_millis(20));
    drop(rx);
    assert_eq!(t.join().unwrap().unwrap_err().into_inner(), 1);
}

#[test]
fn mpsc_close_refuses_new_values_but_delivers_the_buffered_ones() {
    virtual_run(async {
        let (tx, mut rx) = mpsc::unbounded();
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        rx.close();
        assert!(tx.send(3).await.is_err());
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None); // a sender lives, but closed
    });
}

#[test]
fn mpsc_senders_waiting_on_the_loop_are_served_in_arrival_order() {
    let got = virtual_run(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).await.unwrap();
        let tasks: Vec<_> = (1..=4)
            .map(|i| {
                let tx = tx.clone();
                boucle::spawn(async move { tx.send(i).await.unwrap() })
            })
            .collect();
        drop(tx);
        boucle::yield_now().await;
        let got: Vec<i32> = (&mut rx).take(5).collect().await;
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(rx.recv().await, None);
        got
    });
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn a_cancelled_waiting_send_sends_nothing_and_passes_its_place_on() {
    virtual_run(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).await.unwrap();
        let (ta, tb) = (tx.clone(), tx.clone());
        let a = boucle::spawn(async move { ta.send(1).await });
        let b = boucle::spawn(async move { tb.send(2).await });
        boucle::yield_now().await;
        assert_eq!(rx.try_recv(), Ok(0)); // the place goes to a...
        a.cancel(); // ...which is dropped before it sends
        assert!(a.await.is_err());
        assert!(b.await.unwrap().is_ok());
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));
    });
}

#[test]
fn send_blocking_on_the_loop_thread_panics_with_advice() {
    let r = std::panic::catch_unwind(|| {
        virtual_run(async {
            let (tx, _rx) = mpsc::unbounded();
            let _ = tx.send_blocking(1);
        })
    });
    let msg = r.unwrap_err();
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_else(|| {
        msg.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default()
    });
    assert!(msg.contains("use `send(v).await`"), "{msg}");
}

#[test]
#[should_panic(expected = "capacity above 0")]
fn an_mpsc_channel_of_capacity_zero_panics() {
    let _ = mpsc::channel::<u8>(0);
}

#[test]
fn mpsc_receiver_is_a_stream_that_ends_when_the_senders_are_gone() {
    let got = virtual_run(async {
        let (tx, rx) = mpsc::channel(4);
        let producer = boucle::spawn(async move {
            for i in 0..6 {
                tx.send(i).await.unwrap();
            }
        });
        let got = rx.map(|x| x * 2).collect::<Vec<_>>().await;
        producer.await.unwrap();
        got
    });
    assert_eq!(got, [0, 2, 4, 6, 8, 10]);
}
