//! `boucle::stream`: `iter`, `unfold`, `generator` and the `StreamExt`
//! combinators, and their interplay with any `futures_core::Stream`.

mod common;
use common::secs;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};

use boucle::stream::{self, Stream, StreamExt};

fn run<F: Future>(f: F) -> F::Output {
    common::run_virtual(2, f)
}

// ------------------------------------------------------------------- iter

#[test]
fn iter_yields_the_items_in_order_then_none() {
    run(async {
        let mut s = stream::iter(vec!['a', 'b']);
        assert_eq!(s.size_hint(), (2, Some(2)));
        assert_eq!(s.next().await, Some('a'));
        assert_eq!(s.next().await, Some('b'));
        assert_eq!(s.next().await, None);
        assert_eq!(s.next().await, None);
    });
}

#[test]
fn a_long_iter_stream_still_lets_other_tasks_run() {
    let seen = run(async {
        let progress = Rc::new(Cell::new(0));
        let p = progress.clone();
        let reader = boucle::spawn(async move {
            let mut s = stream::iter(0..1000);
            while s.next().await.is_some() {
                p.set(p.get() + 1);
            }
        });
        let p = progress.clone();
        let other = boucle::spawn(async move { p.get() });
        reader.await.unwrap();
        other.await.unwrap()
    });
    assert_eq!(seen, 128);
}

// ----------------------------------------------------------------- unfold

#[test]
fn unfold_runs_an_async_step_per_item_until_none() {
    let (items, t) = run(async {
        let start = boucle::now();
        let items: Vec<u64> = stream::unfold(1u64, |n| async move {
            if n > 4 {
                return None;
            }
            boucle::sleep(secs(n)).await;
            Some((n * 10, n + 1))
        })
        .collect()
        .await;
        (items, boucle::now() - start)
    });
    assert_eq!(items, [10, 20, 30, 40]);
    assert_eq!(t, secs(1 + 2 + 3 + 4));
}

#[test]
fn unfold_stays_ended_after_none() {
    run(async {
        let mut s = pin!(stream::unfold(0, |n| async move {
            (n < 1).then_some((n, n + 1))
        }));
        assert_eq!(s.next().await, Some(0));
        assert_eq!(s.next().await, None);
        assert_eq!(s.next().await, None);
    });
}

// -------------------------------------------------------------- generator

#[test]
fn a_generator_yields_its_values_in_order_then_ends() {
    let got = run(async {
        let mut g = stream::generator(|co| async move {
            co.yield_(1).await;
            co.yield_(2).await;
            co.yield_(3).await;
        });
        let mut got = Vec::new();
        while let Some(v) = g.next().await {
            got.push(v);
        }
        assert_eq!(g.next().await, None); // stays ended
        got
    });
    assert_eq!(got, [1, 2, 3]);
}

#[test]
fn a_generator_runs_its_body_only_as_far_as_values_are_asked_for() {
    run(async {
        let log = RefCell::new(Vec::new());
        let mut g = stream::generator(|co| {
            let log = &log;
            async move {
                for i in 0..3 {
                    log.borrow_mut().push(format!("make {i}"));
                    co.yield_(i).await;
                }
                log.borrow_mut().push("end".to_string());
            }
        });
        assert!(log.borrow().is_empty()); // nothing before the first ask
        assert_eq!(g.next().await, Some(0));
        assert_eq!(*log.borrow(), ["make 0"]);
        assert_eq!(g.next().await, Some(1));
        assert_eq!(*log.borrow(), ["make 0", "make 1"]);
        drop(g); // the rest is never made
        assert_eq!(log.borrow().len(), 2);
    });
}

#[test]
fn a_generator_can_await_between_yields() {
    let stamps = run(async {
        let start = boucle::now();
        let g = stream::generator(|co| async move {
            for d in [2, 1, 3] {
                boucle::sleep(secs(d)).await;
                co.yield_(boucle::now()).await;
            }
        });
        let stamps: Vec<_> = g.collect().await;
        stamps.into_iter().map(|t| t - start).collect::<Vec<_>>()
    });
    assert_eq!(stamps, [secs(2), secs(3), secs(6)]);
}

#[test]
fn dropping_a_generator_mid_way_runs_its_body_cleanup() {
    struct Cleanup(Rc<Cell<bool>>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    run(async {
        let cleaned = Rc::new(Cell::new(false));
        let c = cleaned.clone();
        let mut g = stream::generator(move |co| async move {
            let _guard = Cleanup(c);
            for i in 0.. {
                co.yield_(i).await;
            }
        });
        assert_eq!(g.next().await, Some(0));
        assert!(!cleaned.get());
        drop(g);
        assert!(cleaned.get());
    });
}

#[test]
fn concurrent_yields_in_one_body_come_out_one_at_a_time() {
    let got = run(async {
        let g = stream::generator(|co| async move {
            let co = &co;
            boucle::gather!(co.yield_("a"), co.yield_("b"));
            co.yield_("c").await;
        });
        g.collect::<Vec<_>>().await
    });
    assert_eq!(got, ["a", "b", "c"]);
}

// -------------------------------------------------------------- StreamExt

#[test]
fn map_filter_take_and_collect_compose() {
    let v = run(async {
        stream::iter(1..=100)
            .filter(|x| x % 3 == 0)
            .map(|x| x * 2)
            .take(4)
            .collect::<Vec<_>>()
            .await
    });
    assert_eq!(v, [6, 12, 18, 24]);
}

#[test]
fn collect_fills_any_extendable_collection() {
    let s = run(async { stream::iter(["as", "yn", "c"]).collect::<String>().await });
    assert_eq!(s, "async");
}

#[test]
fn take_stops_polling_after_n_items() {
    run(async {
        let made = Cell::new(0);
        let g = stream::generator(|co| {
            let made = &made;
            async move {
                for i in 0..10 {
                    made.set(made.get() + 1);
                    co.yield_(i).await;
                }
            }
        });
        let mut t = g.take(2);
        assert_eq!(t.size_hint().1, Some(2));
        assert_eq!(t.next().await, Some(0));
        assert_eq!(t.next().await, Some(1));
        assert_eq!(t.next().await, None);
        assert_eq!(made.get(), 2);
    });
}

#[test]
fn take_zero_is_empty_and_take_more_than_there_is_ends_with_the_stream() {
    run(async {
        let none: Vec<i32> = stream::iter(0..5).take(0).collect().await;
        assert!(none.is_empty());
        let all: Vec<i32> = stream::iter(0..3).take(10).collect().await;
        assert_eq!(all, [0, 1, 2]);
    });
}

#[test]
fn for_each_awaits_each_call_before_the_next_item() {
    let log = run(async {
        let log = RefCell::new(Vec::new());
        let start = boucle::now();
        stream::iter([3u64, 1, 2])
            .for_each(|d| {
                let log = &log;
                async move {
                    boucle::sleep(secs(d)).await;
                    log.borrow_mut().push((d, boucle::now() - start));
                }
            })
            .await;
        log.into_inner()
    });
    assert_eq!(log, [(3, secs(3)), (1, secs(4)), (2, secs(6))]);
}

/// A hand-written `futures_core::Stream`, as another crate would write it.
struct Countdown(u32);

impl Stream for Countdown {
    type Item = u32;
    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<u32>> {
        if self.0 == 0 {
            return Poll::Ready(None);
        }
        self.0 -= 1;
        Poll::Ready(Some(self.0 + 1))
    }
}

#[test]
fn the_combinators_work_on_any_futures_core_stream() {
    let v = run(async { Countdown(4).map(|x| x * 100).collect::<Vec<_>>().await });
    assert_eq!(v, [400, 300, 200, 100]);
}

#[test]
fn boucle_streams_are_futures_core_streams() {
    async fn total<S: Stream<Item = u32> + Unpin>(mut s: S) -> u32 {
        let mut t = 0;
        while let Some(x) = s.next().await {
            t += x;
        }
        t
    }
    let t = run(async {
        let q = boucle::sync::Queue::new(0);
        for i in 1..=3 {
            q.put_nowait(i).unwrap();
        }
        q.shutdown(false);
        let from_iter = total(stream::iter([10, 20])).await;
        let from_queue = total(q.stream()).await;
        let from_gen = total(stream::generator(|co| async move {
            co.yield_(100).await;
        }))
        .await;
        from_iter + from_queue + from_gen
    });
    assert_eq!(t, 30 + 6 + 100);
}

#[test]
fn as_completed_composes_with_stream_ext() {
    let v = run(async {
        let jobs = [3u64, 1, 2].map(|d| async move {
            boucle::sleep(secs(d)).await;
            d
        });
        boucle::as_completed(jobs)
            .map(|r| r.unwrap() * 10)
            .collect::<Vec<_>>()
            .await
    });
    assert_eq!(v, [10, 20, 30]);
}
