//! Streams made from an iterator ([`iter`]) or from a state and an async
//! step function ([`unfold`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

/// A stream yielding the items of an iterator, made by [`iter`].
#[must_use = "streams do nothing unless polled"]
#[derive(Clone)]
pub struct Iter<I> {
    iter: I,
}

/// A stream of the items of `iter` (an `async for` over a plain iterable).
///
/// Each item is ready at once; the stream spends the cooperative budget,
/// so a long iteration still lets other tasks run now and then.
///
/// # Examples
///
/// ```
/// use boucle::stream::{self, StreamExt};
/// boucle::run(async {
///     let v: Vec<i32> = stream::iter(1..=3).map(|x| x * 10).collect().await;
///     assert_eq!(v, [10, 20, 30]);
/// });
/// ```
pub fn iter<I: IntoIterator>(iter: I) -> Iter<I::IntoIter> {
    Iter {
        iter: iter.into_iter(),
    }
}

impl<I: Iterator> Stream for Iter<I> {
    type Item = I::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<I::Item>> {
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(self.get_mut().iter.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

// The iterator is never pinned.
impl<I> Unpin for Iter<I> {}

impl<I: fmt::Debug> fmt::Debug for Iter<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("iter", &self.iter).finish()
    }
}

pin_project_lite::pin_project! {
    /// A stream made by [`unfold`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Unfold<S, F, Fut> {
        state: Option<S>,
        f: F,
        #[pin]
        pending: Option<Fut>,
    }
}

/// A stream from a state and an async step: `f(state)` gives
/// `Some((item, next_state))` for each item, `None` to end.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle::stream::{self, StreamExt};
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// let ticks: Vec<u32> = rt.block_on(async {
///     stream::unfold(0u32, |n| async move {
///         if n == 3 {
///             return None;
///         }
///         boucle::sleep(Duration::from_secs(1)).await;
///         Some((n, n + 1))
///     })
///     .collect()
///     .await
/// });
/// assert_eq!(ticks, [0, 1, 2]);
/// ```
pub fn unfold<S, F, Fut, Item>(init: S, f: F) -> Unfold<S, F, Fut>
where
    F: FnMut(S) -> Fut,
    Fut: Future<Output = Option<(Item, S)>>,
{
    Unfold {
        state: Some(init),
        f,
        pending: None,
    }
}

impl<S, F, Fut, Item> Stream for Unfold<S, F, Fut>
where
    F: FnMut(S) -> Fut,
    Fut: Future<Output = Option<(Item, S)>>,
{
    type Item = Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let mut this = self.project();
        if let Some(state) = this.state.take() {
            this.pending.set(Some((this.f)(state)));
        }
        let Some(fut) = this.pending.as_mut().as_pin_mut() else {
            return Poll::Ready(None); // ended
        };
        let step = std::task::ready!(fut.poll(cx));
        this.pending.set(None);
        Poll::Ready(step.map(|(item, next)| {
            *this.state = Some(next);
            item
        }))
    }
}

impl<S: fmt::Debug, F, Fut> fmt::Debug for Unfold<S, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unfold")
            .field("state", &self.state)
            .field("running", &self.pending.is_some())
            .finish()
    }
}
