//! The running loop of this thread.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use super::core::Core;
use super::shared::Shared;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

pub(crate) const NO_LOOP: &str = "no running boucle loop: call this inside boucle::run \
     (or Runtime::block_on, #[boucle::main], #[boucle::test])";

/// Runs `f` with the running loop, if this thread runs one.
#[inline(always)]
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.try_borrow().ok().and_then(|c| c.as_ref().map(f)))
        .ok()
        .flatten()
}

/// Runs `f` with the running loop if it is the one `shared` belongs to.
pub(crate) fn with_core_of<R>(shared: *const Shared, f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    let mut f = Some(f);
    with_current(|core| {
        if std::ptr::eq(Arc::as_ptr(&core.shared), shared) {
            f.take().map(|f| f(core))
        } else {
            None
        }
    })
    .flatten()
}

/// The running loop.
///
/// # Panics
/// Outside a running loop, with a message saying where to call from.
#[track_caller]
pub(crate) fn current() -> Rc<Core> {
    match with_current(Rc::clone) {
        Some(core) => core,
        None => panic!("{NO_LOOP}"),
    }
}

/// Spawns on the running loop without cloning its `Rc`.
///
/// # Panics
/// Outside a running loop.
#[track_caller]
#[inline(always)]
pub(crate) fn spawn<F>(
    future: F,
    name: Option<std::rc::Rc<str>>,
    location: &'static std::panic::Location<'static>,
) -> crate::Task<F::Output>
where
    F: std::future::Future + 'static,
{
    match with_current(|core| core.spawn(future, name, location)) {
        Some(task) => task,
        None => panic!("{NO_LOOP}"),
    }
}

pub(crate) fn is_running() -> bool {
    with_current(|_| ()).is_some()
}

/// Marks `core` as this thread's running loop until the guard drops.
///
/// # Panics
/// If a loop already runs on this thread.
#[track_caller]
pub(crate) fn enter(core: Rc<Core>) -> EnterGuard {
    if is_running() {
        panic!(
            "boucle: cannot start a loop (run / block_on) inside a running boucle loop: \
             await the future instead, or use spawn"
        );
    }
    let on = core.hooks().is_some();
    CURRENT.with(|c| *c.borrow_mut() = Some(core));
    EnterGuard {
        hooks_were_on: crate::trace::hooks::set_on(on),
    }
}

/// Like [`enter`], but `None` once this thread's loop slot is gone (a
/// `Runtime` dropped by another thread-local's destructor, at thread exit).
pub(crate) fn try_enter(core: Rc<Core>) -> Option<EnterGuard> {
    CURRENT
        .try_with(|c| {
            let mut slot = c.try_borrow_mut().ok()?;
            if slot.is_some() {
                return None;
            }
            let on = core.hooks().is_some();
            *slot = Some(core);
            Some(EnterGuard {
                hooks_were_on: crate::trace::hooks::set_on(on),
            })
        })
        .ok()
        .flatten()
}

pub(crate) struct EnterGuard {
    hooks_were_on: bool,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        crate::trace::hooks::set_on(self.hooks_were_on);
        let old = CURRENT.try_with(|c| c.borrow_mut().take()).ok().flatten();
        drop(old);
    }
}

/// A panic payload that nobody can read any more (a detached task's panic,
/// or the destructor of an unread output that panicked).
pub(crate) fn report_unobserved_panic_payload(payload: Box<dyn Any + Send>) {
    if with_current(|core| core.report_panic(None, &*payload)).is_none() {
        super::exception::default_report(None, &*payload);
    }
}
