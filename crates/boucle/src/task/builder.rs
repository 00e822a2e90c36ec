//! `task::Builder`: spawn with a name.

use std::future::Future;
use std::panic::Location;
use std::rc::Rc;

use super::Task;
use crate::runtime::context;

/// Spawns a task with options (for now, a name shown by `all_tasks`,
/// traces, timelines and panic reports).
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let t = boucle::task::Builder::new().name("fetcher").spawn(async { 7 });
///     assert_eq!(t.name().as_deref(), Some("fetcher"));
///     assert_eq!(t.await.unwrap(), 7);
/// });
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until .spawn() is called"]
pub struct Builder {
    name: Option<Rc<str>>,
}

impl Builder {
    /// A builder with no name.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task (asyncio's `create_task(coro, name=...)`).
    pub fn name(mut self, name: impl Into<Rc<str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawns `future` on the running loop.
    ///
    /// # Panics
    /// Outside a running loop.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let location = Location::caller();
        context::spawn(future, self.name, location)
    }
}
