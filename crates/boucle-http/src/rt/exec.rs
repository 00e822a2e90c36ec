//! `LocalExecutor`: hyper's background futures as boucle tasks.

use std::future::Future;

/// Spawns the futures hyper hands over (HTTP/2 streams, connection tasks)
/// as tasks of the running boucle loop. They need not be `Send`: the whole
/// HTTP stack of one loop stays on its thread.
///
/// # Examples
/// See the [module docs](crate::rt).
///
/// # Panics
/// `execute` (and [`spawn`](LocalExecutor::spawn)) outside a running boucle
/// loop, as [`boucle::spawn`] does.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalExecutor;

impl LocalExecutor {
    /// Spawns `fut` and detaches it; its output is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let (tx, rx) = boucle::sync::oneshot::channel();
    ///     boucle_http::rt::LocalExecutor.spawn(async move { tx.send(7).unwrap() });
    ///     assert_eq!(rx.await.unwrap(), 7);
    /// });
    /// ```
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        drop(boucle::spawn(fut));
    }
}

impl<F> hyper::rt::Executor<F> for LocalExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, fut: F) {
        self.spawn(fut);
    }
}
