//! Where the loop finds its unfinished tasks: tasks in the task slab have no
//! registry entry (the slab's blocks are scanned), others do. `all_tasks`,
//! the alive count and shutdown must see every one of them, whichever memory
//! holds it, and nothing that has finished or been freed.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use boucle::Runtime;

fn runtime(slab: bool) -> Runtime {
    Runtime::builder()
        .virtual_time(true)
        .task_slab(slab)
        .build()
        .unwrap()
}

/// Counts its drops: proves a future's cleanup ran, and ran once.
struct DropCount(Rc<Cell<u32>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// A future too large for the slab (its blocks hold at most 512 bytes).
async fn big(flag: DropCount) {
    let ballast = [7u8; 1024];
    std::future::pending::<()>().await;
    drop((flag, ballast));
}

#[test]
fn all_tasks_lists_slab_and_heap_tasks_in_spawn_order() {
    for slab in [true, false] {
        let rt = runtime(slab);
        rt.block_on(async {
            let drops = Rc::new(Cell::new(0));
            let mut ids = Vec::new();
            let mut handles = Vec::new();
            for i in 0..3_000u32 {
                let t = if i % 7 == 0 {
                    boucle::spawn(big(DropCount(drops.clone())))
                } else {
                    let flag = DropCount(drops.clone());
                    boucle::spawn(async move {
                        boucle::sleep(Duration::from_secs(u64::from(i % 3) + 1)).await;
                        drop(flag);
                    })
                };
                ids.push(t.id());
                handles.push(t);
            }
            let listed: Vec<_> = boucle::all_tasks().iter().map(|t| t.id).collect();
            assert_eq!(listed, ids, "slab {slab}: every task, in spawn order");
            assert_eq!(rt.metrics().tasks_alive, 3_000);
            // The sleepers of 1 s finish; the others stay.
            boucle::sleep(Duration::from_millis(1500)).await;
            let left: Vec<_> = ids
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 7 == 0 || i % 3 != 0)
                .map(|(_, id)| *id)
                .collect();
            let listed: Vec<_> = boucle::all_tasks().iter().map(|t| t.id).collect();
            assert_eq!(listed, left, "slab {slab}: finished tasks leave the list");
            assert_eq!(rt.metrics().tasks_alive, left.len() as u64);
            assert_eq!(drops.get(), 3_000 - left.len() as u32);
            for h in &handles {
                h.cancel();
            }
            boucle::yield_now().await;
            assert!(boucle::all_tasks().is_empty(), "slab {slab}");
            assert_eq!(drops.get(), 3_000, "slab {slab}: each future dropped once");
        });
    }
}

#[test]
fn shutdown_cancels_every_unfinished_task_once() {
    for slab in [true, false] {
        let drops = Rc::new(Cell::new(0));
        let late = Rc::new(Cell::new(0));
        let rt = runtime(slab);
        let d = drops.clone();
        let l = late.clone();
        let rt_ref = &rt;
        rt.block_on(async move {
            for i in 0..5_000u32 {
                let flag = DropCount(d.clone());
                match i % 4 {
                    // Detached and never woken: nothing but the loop holds it.
                    0 => drop(boucle::spawn(async move {
                        std::future::pending::<()>().await;
                        drop(flag);
                    })),
                    1 => drop(boucle::spawn(big(flag))),
                    2 => drop(boucle::spawn(async move {
                        boucle::sleep(Duration::from_secs(3600)).await;
                        drop(flag);
                    })),
                    // Its destructor spawns a task while the loop shuts
                    // down: that one is cancelled too.
                    _ => {
                        let late = l.clone();
                        let respawn = Respawn(Some(DropCount(late)));
                        drop(boucle::spawn(async move {
                            let _respawn = respawn;
                            std::future::pending::<()>().await;
                            drop(flag);
                        }));
                    }
                }
            }
            boucle::yield_now().await;
            assert_eq!(rt_ref.metrics().tasks_alive, 5_000);
        });
        assert_eq!(drops.get(), 0, "slab {slab}: block_on leaves tasks alive");
        drop(rt);
        assert_eq!(drops.get(), 5_000, "slab {slab}: every future dropped once");
        assert_eq!(late.get(), 1_250, "slab {slab}: tasks spawned in drop too");
    }
}

/// Spawns a task holding its flag when dropped (on the loop, at shutdown).
struct Respawn(Option<DropCount>);

impl Drop for Respawn {
    fn drop(&mut self) {
        let flag = self.0.take();
        drop(boucle::spawn(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        }));
    }
}

/// Sends its waker to another thread, then completes.
struct SendWaker(Option<mpsc::Sender<Waker>>);

impl Future for SendWaker {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if let Some(tx) = self.0.take() {
            tx.send(cx.waker().clone()).unwrap();
        }
        Poll::Ready(7)
    }
}

#[test]
fn a_task_freed_by_another_thread_is_not_listed_and_its_block_comes_back() {
    let rt = runtime(true);
    rt.block_on(async {
        let (tx, rx) = mpsc::channel();
        let t = boucle::spawn(SendWaker(Some(tx)));
        assert_eq!(t.await.unwrap(), 7);
        // The last count of the finished task is the waker: its memory is
        // handed back from the other thread, and reclaimed at a later turn.
        let waker = rx.recv().unwrap();
        std::thread::spawn(move || drop(waker)).join().unwrap();
        assert!(boucle::all_tasks().is_empty());
        let tasks: Vec<_> = (0..100u32)
            .map(|i| boucle::spawn(async move { i }))
            .collect();
        assert_eq!(boucle::all_tasks().len(), 100);
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), i as u32);
        }
        assert!(boucle::all_tasks().is_empty());
        assert_eq!(rt.metrics().tasks_alive, 0);
    });
}
