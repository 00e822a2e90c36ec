//! Async iteration (`async for`): streams and their combinators.
//!
//! A stream is a `futures_core::Stream`, so everything here works with the
//! futures ecosystem and back. Python's forms map as follows:
//!
//! | Python | boucle |
//! |---|---|
//! | `async for x in s: ...` | `while let Some(x) = s.next().await { ... }` ([`StreamExt::next`]) |
//! | `async def gen(): yield x` | [`generator`]`(\|co\| async move { co.yield_(x).await; })` |
//! | an async iterator class with `__anext__` | [`unfold`]`(state, \|state\| async { Some((item, state)) })` |
//! | `[f(x) async for x in s if p(x)]` | `s.filter(p).map(f).collect::<Vec<_>>().await` |
//! | `aiter(iterable)` over a plain iterable | [`iter`]`(iterable)` |
//! | `async for item in queue-consumer` | [`Queue::stream`](crate::sync::queue::BaseQueue::stream), [`mpsc::Receiver`](crate::sync::mpsc::Receiver) |
//!
//! # Examples
//!
//! ```
//! use boucle::stream::{self, StreamExt};
//!
//! boucle::run(async {
//!     let mut evens = stream::generator(|co| async move {
//!         for i in 0..10 {
//!             if i % 2 == 0 {
//!                 co.yield_(i).await;
//!             }
//!         }
//!     });
//!     let mut total = 0;
//!     while let Some(i) = evens.next().await {
//!         total += i;
//!     }
//!     assert_eq!(total, 20);
//! });
//! ```

mod adapters;
mod ext;
mod generator;
mod iter;

#[doc(inline)]
pub use adapters::{Filter, Map, Take};
#[doc(inline)]
pub use ext::{Collect, ForEach, Next, StreamExt};
#[doc(inline)]
pub use futures_core::Stream;
#[doc(inline)]
pub use generator::{generator, Co, Generator, Yield};
#[doc(inline)]
pub use iter::{iter, unfold, Iter, Unfold};
