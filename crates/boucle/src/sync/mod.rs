//! Synchronization for tasks of one loop (asyncio's queues and locks), and
//! channels to reach the loop from other threads.
//!
//! | asyncio | boucle |
//! |---|---|
//! | `Queue`, `LifoQueue`, `PriorityQueue` | [`Queue`], [`LifoQueue`], [`PriorityQueue`] |
//! | `await q.put(x)` / `q.put_nowait(x)` | `q.put(x).await` / `q.put_nowait(x)` |
//! | `await q.get()` / `q.get_nowait()` | `q.get().await` / `q.get_nowait()` |
//! | `q.task_done()`, `await q.join()`, `q.shutdown()` | `q.task_done()`, `q.join().await`, `q.shutdown(false)` |
//! | `async with lock:` | `let _guard = lock.acquire().await;` ([`Lock`]) |
//! | `async with sem:` | `let _permit = sem.acquire().await;` ([`Semaphore`], [`BoundedSemaphore`]) |
//! | `await event.wait()`, `event.set()` | `event.wait().await`, `event.set()` ([`Event`]) |
//! | `async with cond: await cond.wait()` | `let g = cond.acquire().await; let g = cond.wait(g).await;` ([`Condition`]) |
//! | `await barrier.wait()` | `barrier.wait().await` ([`Barrier`]) |
//! | `loop.call_soon_threadsafe(fut.set_result, x)` | [`oneshot`], [`mpsc`] |
//! | `QueueFull`, `QueueEmpty`, `QueueShutDown` | [`QueueFull`], [`QueueEmpty`], [`QueueShutDown`] |
//!
//! Everything here except [`oneshot`] and [`mpsc`] is built on `Rc` and
//! `Cell`: handles are cheap to clone, `!Send`, and belong to one loop.
//! Waiters queue on one fair FIFO wait list (first come, first served), so
//! a task arriving later never overtakes one already waiting; a release
//! hands the lock, permit or item straight to the first waiter (in a
//! `LifoQueue` or `PriorityQueue`, a promise of the item its order picks
//! when the waiter runs).
//!
//! They cannot leave their thread:
//!
//! ```compile_fail
//! fn assert_send<T: Send>(_: T) {}
//! assert_send(boucle::sync::Queue::<u8>::new(0));
//! ```
//!
//! # Cancel safety
//!
//! Every future here may be dropped at any point (by `timeout`, by
//! `Task::cancel`, by a `select`): it leaves its wait list at once, and if
//! it had already been handed something (the lock, a permit, an item, a
//! notification), it passes it on to the next waiter. No wake-up is
//! swallowed and no queue item is lost or duplicated.
//!
//! # `async with` in Rust
//!
//! Python's asynchronous context managers become values that release on
//! `Drop`: [`LockGuard`], [`SemaphorePermit`]. The block of an
//! `async with` is the scope of the guard:
//!
//! ```
//! boucle::run(async {
//!     let lock = boucle::sync::Lock::new();
//!     {
//!         let _guard = lock.acquire().await; // async with lock:
//!         assert!(lock.locked());
//!     } // released here, even on early return or panic
//!     assert!(!lock.locked());
//! });
//! ```
//!
//! `async with asyncio.timeout(delay):` is [`boucle::timeout`](crate::timeout)
//! around an `async` block: the block is the body, and the deadline
//! cancels it (drops it) when it passes, returning [`Elapsed`](crate::Elapsed)
//! as `TimeoutError`. `Timeout.reschedule(when)` is
//! [`Timeout::reset`](crate::Timeout::reset) and `Timeout.when()` is
//! [`Timeout::deadline`](crate::Timeout::deadline); both work on the pinned
//! timeout future, so the deadline can be moved while the body runs:
//!
//! ```
//! use std::pin::pin;
//! use std::time::Duration;
//!
//! let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
//! rt.block_on(async {
//!     // async with asyncio.timeout(1): await asyncio.sleep(2)
//!     let body = async { boucle::sleep(Duration::from_secs(2)).await; "done" };
//!     assert!(boucle::timeout(Duration::from_secs(1), body).await.is_err());
//!
//!     // ... with cm.reschedule(loop.time() + 3) before the body ends
//!     let body = async { boucle::sleep(Duration::from_secs(2)).await; "done" };
//!     let mut scope = pin!(boucle::timeout(Duration::from_secs(1), body));
//!     scope.as_mut().reset(boucle::now() + Duration::from_secs(3));
//!     assert_eq!(scope.await, Ok("done"));
//! });
//! ```

mod barrier;
mod condition;
mod error;
mod event;
mod lock;
pub mod mpsc;
pub mod oneshot;
pub mod queue;
mod semaphore;
pub(crate) mod wait_list;

#[doc(inline)]
pub use barrier::{Barrier, BarrierStatistics, BarrierWait};
#[doc(inline)]
pub use condition::{Condition, ConditionStatistics, ConditionWait, WaitFor};
#[doc(inline)]
pub use error::{
    BoundedSemaphoreError, BrokenBarrierError, GetNowaitError, PutNowaitError, QueueEmpty,
    QueueFull, QueueShutDown, TaskDoneError,
};
#[doc(inline)]
pub use event::{Event, EventStatistics, EventWait};
#[doc(inline)]
pub use lock::{Acquire, Lock, LockGuard, LockStatistics};
#[doc(inline)]
pub use queue::{LifoQueue, PriorityQueue, Queue, QueueStatistics};
#[doc(inline)]
pub use semaphore::{
    BoundedSemaphore, Semaphore, SemaphoreAcquire, SemaphorePermit, SemaphoreStatistics,
};
