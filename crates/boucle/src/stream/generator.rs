//! `generator`: a stream written as an async block that yields (Python's
//! async generators, `async def f(): ... yield x`).
//!
//! The body and the stream share one slot (`Rc<Cell<Option<T>>>`):
//! `co.yield_(x)` puts `x` in the slot and suspends; the stream, which
//! polls the body, finds the slot full and returns the value. The body
//! resumes on the next `poll_next`, so values are produced on demand, one
//! at a time, as Python's `__anext__` does.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_core::Stream;

/// The handle a [`generator`] body yields through.
pub struct Co<T> {
    slot: Rc<Cell<Option<T>>>,
}

impl<T> Co<T> {
    /// Hands `value` to the stream's consumer and suspends until the next
    /// value is asked for (Python's `yield value`).
    ///
    /// Await it inside the generator body only (not in a task it spawned):
    /// only the body is driven by the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::stream::{self, StreamExt};
    /// boucle::run(async {
    ///     let words = stream::generator(|co| async move {
    ///         for w in "async for in rust".split(' ') {
    ///             co.yield_(w).await;
    ///         }
    ///     });
    ///     assert_eq!(words.collect::<Vec<_>>().await, ["async", "for", "in", "rust"]);
    /// });
    /// ```
    pub fn yield_(&self, value: T) -> Yield<'_, T> {
        Yield {
            co: self,
            value: Some(value),
        }
    }
}

impl<T> fmt::Debug for Co<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Co")
    }
}

/// The future of [`Co::yield_`].
#[must_use = "nothing is yielded unless you .await it"]
pub struct Yield<'a, T> {
    co: &'a Co<T>,
    value: Option<T>,
}

// The value is moved, never pinned.
impl<T> Unpin for Yield<'_, T> {}

impl<T> Future for Yield<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(value) = this.value.take() else {
            // Polled again: the stream took the value and wants the next.
            return Poll::Ready(());
        };
        match this.co.slot.take() {
            // Another yield (in a `join`, say) filled the slot first: wait
            // for the stream to take that one.
            Some(earlier) => {
                this.co.slot.set(Some(earlier));
                this.value = Some(value);
            }
            None => this.co.slot.set(Some(value)),
        }
        // No waker needed: the stream returns the value now and polls the
        // body again when the next one is asked for.
        Poll::Pending
    }
}

impl<T> fmt::Debug for Yield<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yield")
            .field("yielded", &self.value.is_none())
            .finish()
    }
}

/// A stream made by [`generator`].
#[must_use = "streams do nothing unless polled"]
pub struct Generator<T, Fut> {
    slot: Rc<Cell<Option<T>>>,
    /// Boxed once, so the stream is `Unpin` and `.next().await` works on it
    /// without `pin!`.
    body: Option<Pin<Box<Fut>>>,
}

/// A stream whose items are yielded by an async body (the Rust stand-in for
/// Python's async generators). The body gets a [`Co`] handle and calls
/// `co.yield_(value).await` for each item; the stream ends when the body
/// returns.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle::stream::{self, StreamExt};
///
/// // async def countdown(n):
/// //     while n > 0:
/// //         await asyncio.sleep(1); yield n; n -= 1
/// fn countdown(mut n: u32) -> impl futures_core::Stream<Item = u32> {
///     stream::generator(move |co| async move {
///         while n > 0 {
///             boucle::sleep(Duration::from_secs(1)).await;
///             co.yield_(n).await;
///             n -= 1;
///         }
///     })
/// }
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let mut s = std::pin::pin!(countdown(3));
///     let mut seen = Vec::new();
///     while let Some(n) = s.next().await {
///         seen.push(n);
///     }
///     assert_eq!(seen, [3, 2, 1]);
/// });
/// ```
pub fn generator<T, F, Fut>(body: F) -> Generator<T, Fut>
where
    F: FnOnce(Co<T>) -> Fut,
    Fut: Future<Output = ()>,
{
    let slot = Rc::new(Cell::new(None));
    let co = Co { slot: slot.clone() };
    Generator {
        slot,
        body: Some(Box::pin(body(co))),
    }
}

impl<T, Fut: Future<Output = ()>> Stream for Generator<T, Fut> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        match body.as_mut().poll(cx) {
            Poll::Ready(()) => {
                // Dropping the body now runs its cleanup before the end.
                this.body = None;
                Poll::Ready(this.slot.take())
            }
            Poll::Pending => match this.slot.take() {
                Some(value) => Poll::Ready(Some(value)),
                None => Poll::Pending,
            },
        }
    }
}

impl<T, Fut> futures_core::FusedStream for Generator<T, Fut>
where
    Fut: Future<Output = ()>,
{
    fn is_terminated(&self) -> bool {
        self.body.is_none()
    }
}

impl<T, Fut> fmt::Debug for Generator<T, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("finished", &self.body.is_none())
            .finish()
    }
}
