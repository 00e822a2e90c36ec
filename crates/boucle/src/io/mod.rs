//! I/O readiness: the reactor that turns epoll events into task wake-ups.
//!
//! Facts about epoll this design relies on:
//!
//! * Sources are registered **edge-triggered** (mio's default): epoll
//!   reports a change to ready, not the state. So readiness is cached per
//!   source and cleared only when an operation returns `WouldBlock`; a task
//!   that stops reading before `WouldBlock` will not be told again.
//! * Hang-up and error conditions (`EPOLLHUP`, `EPOLLERR`, `EPOLLRDHUP`) are
//!   reported whatever the interest, and they wake both directions.
//! * A file descriptor leaves the epoll set only when its last duplicate is
//!   closed, so every source deregisters explicitly before it is dropped.
//! * An event can arrive for a registration that was just dropped (it was
//!   queued before the deregistration): tokens carry a generation, and
//!   stale ones are ignored.
//! * One `epoll_wait` serves I/O, the timer (`timerfd`) and foreign wakes
//!   (`eventfd` through `mio::Waker`): see `driver.rs`. The public door to
//!   the reactor is [`AsyncFd`]: mio's types stay inside.

mod async_fd;
pub(crate) mod driver;
pub(crate) mod fd;
mod poll_evented;
pub(crate) mod reactor;
pub(crate) mod timerfd;

pub use async_fd::{AsyncFd, Interest, ReadyGuard};
pub(crate) use poll_evented::PollEvented;
pub use reactor::Direction;
