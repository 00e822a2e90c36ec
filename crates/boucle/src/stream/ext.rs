//! `StreamExt`: the combinators of `async for`, and the futures that drive
//! a stream (`next`, `collect`, `for_each`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::adapters::{Filter, Map, Take};

/// Combinators for any `futures_core::Stream` (boucle's streams, queues and
/// channels, and those of the futures ecosystem).
///
/// `while let Some(x) = stream.next().await { ... }` is Python's
/// `async for x in stream: ...`. `map` and `filter` take plain closures
/// (as `tokio-stream`'s do); `for_each` takes an async one (as `futures`'
/// does). If you also import `futures::StreamExt`, call these as
/// `boucle::stream::StreamExt::map(s, f)` to pick one.
///
/// # Examples
///
/// ```
/// use boucle::stream::{self, StreamExt};
///
/// boucle::run(async {
///     // [x * x async for x in aiter(range(10)) if x % 2 == 0][:3]
///     let squares: Vec<u32> = stream::iter(0..10)
///         .filter(|x| x % 2 == 0)
///         .map(|x| x * x)
///         .take(3)
///         .collect()
///         .await;
///     assert_eq!(squares, [0, 4, 16]);
/// });
/// ```
pub trait StreamExt: Stream {
    /// The next item, or `None` at the end (Python's `anext`).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::stream::{self, StreamExt};
    /// boucle::run(async {
    ///     let mut s = stream::iter([1, 2]);
    ///     assert_eq!(s.next().await, Some(1));
    ///     assert_eq!(s.next().await, Some(2));
    ///     assert_eq!(s.next().await, None);
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// As cancel-safe as the stream's `poll_next`: for boucle's streams, an
    /// item is taken only when it is returned.
    fn next(&mut self) -> Next<'_, Self>
    where
        Self: Unpin,
    {
        Next { stream: self }
    }

    /// Each item passed through `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::stream::{self, StreamExt};
    /// boucle::run(async {
    ///     let v: Vec<String> = stream::iter([1, 2]).map(|x| x.to_string()).collect().await;
    ///     assert_eq!(v, ["1", "2"]);
    /// });
    /// ```
    fn map<U, F>(self, f: F) -> Map<Self, F>
    where
        Self: Sized,
        F: FnMut(Self::Item) -> U,
    {
        Map::new(self, f)
    }

    /// Only the items for which `predicate` is true.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::stream::{self, StreamExt};
    /// boucle::run(async {
    ///     let odd: Vec<u8> = stream::iter(0..6).filter(|x| x % 2 == 1).collect().await;
    ///     assert_eq!(odd, [1, 3, 5]);
    /// });
    /// ```
    fn filter<F>(self, predicate: F) -> Filter<Self, F>
    where
        Self: Sized,
        F: FnMut(&Self::Item) -> bool,
    {
        Filter::new(self, predicate)
    }

    /// At most the first `n` items; the stream is not polled after the
    /// `n`-th.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::stream::{self, StreamExt};
    /// boucle::run(async {
    ///     let first: Vec<u32> = stream::iter(1..).take(3).collect().await;
    ///     assert_eq!(first, [1, 2, 3]);
    /// });
    /// ```
    fn take(self, n: usize) -> Take<Self>
    where
        Self: Sized,
    {
        Take::new(self, n)
    }

    /// Every item, gathered into a collection (`Vec`, `String`, ...): an
    /// async comprehension.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::stream::{self, StreamExt};
    /// boucle::run(async {
    ///     let s: String = stream::iter(['o', 'k']).collect().await;
    ///     assert_eq!(s, "ok");
    /// });
    /// ```
    fn collect<C>(self) -> Collect<Self, C>
    where
        Self: Sized,
        C: Default + Extend<Self::Item>,
    {
        Collect {
            stream: self,
            items: C::default(),
        }
    }

    /// Runs the async closure `f` on each item in turn, each call finishing
    /// before the next item is asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use boucle::stream::{self, StreamExt};
    /// boucle::run(async {
    ///     let seen = RefCell::new(Vec::new());
    ///     stream::iter(["a", "b"])
    ///         .for_each(|s| {
    ///             let seen = &seen;
    ///             async move {
    ///                 boucle::yield_now().await;
    ///                 seen.borrow_mut().push(s);
    ///             }
    ///         })
    ///         .await;
    ///     assert_eq!(seen.into_inner(), ["a", "b"]);
    /// });
    /// ```
    fn for_each<F, Fut>(self, f: F) -> ForEach<Self, F, Fut>
    where
        Self: Sized,
        F: FnMut(Self::Item) -> Fut,
        Fut: Future<Output = ()>,
    {
        ForEach {
            stream: self,
            f,
            pending: None,
        }
    }
}

impl<S: Stream + ?Sized> StreamExt for S {}

/// The future of [`StreamExt::next`].
#[must_use = "futures do nothing unless you .await them"]
pub struct Next<'a, S: ?Sized> {
    stream: &'a mut S,
}

impl<S: Stream + Unpin + ?Sized> Future for Next<'_, S> {
    type Output = Option<S::Item>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut *self.get_mut().stream).poll_next(cx)
    }
}

impl<S: ?Sized> fmt::Debug for Next<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Next")
    }
}

pin_project_lite::pin_project! {
    /// The future of [`StreamExt::collect`].
    #[must_use = "futures do nothing unless you .await them"]
    pub struct Collect<S, C> {
        #[pin]
        stream: S,
        items: C,
    }
}

impl<S: Stream, C: Default + Extend<S::Item>> Future for Collect<S, C> {
    type Output = C;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C> {
        let mut this = self.project();
        loop {
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) => this.items.extend(Some(item)),
                None => return Poll::Ready(std::mem::take(this.items)),
            }
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for Collect<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collect")
            .field("stream", &self.stream)
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// The future of [`StreamExt::for_each`].
    #[must_use = "futures do nothing unless you .await them"]
    pub struct ForEach<S, F, Fut> {
        #[pin]
        stream: S,
        f: F,
        #[pin]
        pending: Option<Fut>,
    }
}

impl<S, F, Fut> Future for ForEach<S, F, Fut>
where
    S: Stream,
    F: FnMut(S::Item) -> Fut,
    Fut: Future<Output = ()>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        loop {
            if let Some(fut) = this.pending.as_mut().as_pin_mut() {
                ready!(fut.poll(cx));
                this.pending.set(None);
            }
            match ready!(this.stream.as_mut().poll_next(cx)) {
                Some(item) => this.pending.set(Some((this.f)(item))),
                None => return Poll::Ready(()),
            }
        }
    }
}

impl<S: fmt::Debug, F, Fut> fmt::Debug for ForEach<S, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForEach")
            .field("stream", &self.stream)
            .field("running", &self.pending.is_some())
            .finish()
    }
}
