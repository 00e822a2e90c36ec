//! `gather!`: await several futures concurrently, results as a tuple.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project_lite::pin_project! {
    /// A future and, once it completed, its output (used by `gather!`).
    #[doc(hidden)]
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    pub enum MaybeDone<F: Future> {
        Future { #[pin] future: F },
        Done { output: F::Output },
        Gone,
    }
}

impl<F: Future> MaybeDone<F> {
    #[doc(hidden)]
    pub fn new(future: F) -> Self {
        MaybeDone::Future { future }
    }

    /// Polls the future if it is still running; true once it has an output.
    #[doc(hidden)]
    pub fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let output = match self.as_mut().project() {
            MaybeDoneProj::Future { future } => match future.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return false,
            },
            MaybeDoneProj::Done { .. } => return true,
            MaybeDoneProj::Gone => panic!("boucle: gather! polled after completion"),
        };
        self.project_replace(MaybeDone::Done { output });
        true
    }

    /// Takes the output out.
    #[doc(hidden)]
    pub fn take_output(self: Pin<&mut Self>) -> F::Output {
        match self.project_replace(MaybeDone::Gone) {
            MaybeDoneReplace::Done { output } => output,
            _ => panic!("boucle: gather! output taken twice"),
        }
    }
}

/// Runs the futures concurrently in the current task and returns their
/// outputs as a tuple, in argument order (asyncio's `gather(a, b, c)`; used
/// like `tokio::join!`: it awaits inside). The futures are polled in
/// argument order each time the task is woken. Arguments may be anything
/// `IntoFuture`, [`Task`](crate::Task) handles included.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// let out = rt.block_on(async {
///     boucle::gather!(
///         async { boucle::sleep(Duration::from_secs(2)).await; "Résultat 1" },
///         async { boucle::sleep(Duration::from_secs(1)).await; "Résultat 2" },
///     )
/// });
/// assert_eq!(out, ("Résultat 1", "Résultat 2"));
/// ```
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__gather_impl!(@munch [] $($fut,)+)
    };
}

/// Implementation detail of `gather!`: each step binds one future to an
/// identifier made by its own expansion, so the names are distinct.
#[doc(hidden)]
#[macro_export]
macro_rules! __gather_impl {
    (@munch [$($done:tt)*] $head:expr, $($rest:expr,)*) => {
        $crate::__gather_impl!(@munch [$($done)* [fut $head]] $($rest,)*)
    };
    (@munch [$([$name:ident $fut:expr])*]) => {{
        $(
            let mut $name = ::core::pin::pin!($crate::MaybeDone::new(
                ::core::future::IntoFuture::into_future($fut)
            ));
        )*
        ::core::future::poll_fn(move |cx| {
            let mut all_done = true;
            $( all_done &= $name.as_mut().poll_done(cx); )*
            if all_done {
                ::core::task::Poll::Ready(( $( $name.as_mut().take_output(), )* ))
            } else {
                ::core::task::Poll::Pending
            }
        })
        .await
    }};
}
