//! `Core`: the loop-thread half of a runtime (run queue, registry of
//! unfinished tasks, timers, clock, driver) and one iteration of the loop.
//!
//! One iteration, as asyncio's `_run_once`: park in the driver (zero timeout
//! when tasks are ready, else until the next timer), sample the clock, take
//! remote wakes, fire due timers, then run every task that was ready at that
//! point, in FIFO order. Tasks woken while the batch runs go to the back of
//! the queue and run in the next iteration.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::panic::{self, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::blocking::BlockingPool;
use super::driver::{Driver, Park};
use super::exception;
use super::shared::Shared;
use crate::io::reactor::{Direction, IoKey, Reactor, Ready};
use crate::task::raw::{self, PollOutcome, TaskRef};
use crate::task::slab::TaskSlab;
use crate::task::state::Exit;
use crate::task::waker::WakeHandle;
use crate::task::{Task, TaskId, TaskInfo};
use crate::time::clock::{Clock, TimeBase};
use crate::time::wheel::Wheel;
use crate::trace::{EventKind, Tracer};

/// An entry of the run queue.
pub(crate) enum Runnable {
    Task(TaskRef),
    /// The future given to `block_on`.
    Main,
}

/// Settings the builder hands to the core.
pub(crate) struct Config {
    pub(crate) virtual_time: bool,
    pub(crate) seed: u64,
    pub(crate) trace: bool,
    pub(crate) slow_poll: Option<Duration>,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
    pub(crate) task_slab: bool,
    pub(crate) time_base: TimeBase,
    pub(crate) exception_handler: Option<exception::Handler>,
}

pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    run_queue: RefCell<VecDeque<Runnable>>,
    /// Unfinished tasks; each entry owns a reference.
    registry: RefCell<Vec<TaskRef>>,
    pub(crate) timers: RefCell<Wheel<WakeHandle>>,
    pub(crate) clock: Clock,
    /// Task memory (None: every task from the global allocator).
    pub(crate) task_slab: Option<RefCell<TaskSlab>>,
    driver: RefCell<Driver>,
    next_id: Cell<u64>,
    pub(crate) rng: RefCell<fastrand::Rng>,
    pub(crate) seed: u64,
    current: Cell<Option<TaskRef>>,
    main_scheduled: Cell<bool>,
    pub(crate) tracer: Option<Tracer>,
    slow_poll: Option<Duration>,
    pub(crate) blocking: BlockingPool,
    fired: RefCell<Vec<WakeHandle>>,
    shut_down: Cell<bool>,
    reactor: RefCell<Reactor>,
    /// I/O events of the last park, dispatched after the driver's borrow.
    io_events: RefCell<Vec<(usize, Ready)>>,
    io_wakes: RefCell<Vec<WakeHandle>>,
    /// Busy turns since the OS was last asked for I/O events.
    busy_turns: Cell<u32>,
    exception_handler: Option<exception::Handler>,
}

/// In debug mode, a poll longer than this re-samples the loop time.
const LONG_POLL: Duration = Duration::from_millis(1);

/// With I/O sources registered, busy turns look at I/O this often (as
/// tokio's `event_interval`), so ready tasks cannot starve sockets.
const EVENT_INTERVAL: u32 = 61;

impl Core {
    pub(crate) fn new(config: Config) -> io::Result<Core> {
        let (driver, waker) = Driver::new()?;
        let shared = Shared::new(waker);
        Ok(Core {
            blocking: BlockingPool::new(config.max_blocking_threads, config.blocking_keep_alive),
            shared,
            run_queue: RefCell::new(VecDeque::new()),
            registry: RefCell::new(Vec::new()),
            timers: RefCell::new(Wheel::new()),
            clock: Clock::new(config.virtual_time, config.time_base),
            task_slab: config.task_slab.then(|| RefCell::new(TaskSlab::new())),
            driver: RefCell::new(driver),
            next_id: Cell::new(1),
            rng: RefCell::new(fastrand::Rng::with_seed(config.seed)),
            seed: config.seed,
            current: Cell::new(None),
            main_scheduled: Cell::new(false),
            tracer: config.trace.then(Tracer::default),
            slow_poll: config.slow_poll,
            fired: RefCell::new(Vec::new()),
            shut_down: Cell::new(false),
            reactor: RefCell::new(Reactor::default()),
            io_events: RefCell::new(Vec::new()),
            io_wakes: RefCell::new(Vec::new()),
            busy_turns: Cell::new(0),
            exception_handler: config.exception_handler,
        })
    }

    /// Loop time as an `Instant`.
    pub(crate) fn now(&self) -> Instant {
        self.clock.instant(self.clock.now())
    }

    pub(crate) fn spawn<F>(
        &self,
        future: F,
        name: Option<Rc<str>>,
        location: &'static Location<'static>,
    ) -> Task<F::Output>
    where
        F: std::future::Future + 'static,
    {
        let id = TaskId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        if let Some(tracer) = &self.tracer {
            let parent = self.current_task_id();
            tracer.record(
                self.clock.now(),
                id,
                EventKind::Created {
                    name: name.as_deref().map(str::to_owned),
                    parent,
                    location,
                },
            );
        }
        let [handle, owner, queued] = raw::allocate(
            future,
            id,
            &self.shared,
            self.task_slab.as_ref(),
            name,
            location,
        );
        {
            let mut registry = self.registry.borrow_mut();
            owner.header().registry_slot.set(registry.len() as u32);
            registry.push(owner);
        }
        self.run_queue
            .borrow_mut()
            .push_back(Runnable::Task(queued));
        self.shared.local_task_created();
        // The handle's output type is `F::Output`, as `Task::poll` requires.
        Task::from_raw(handle)
    }

    /// Queues a task (its state already says scheduled).
    pub(crate) fn push_ready(&self, task: TaskRef) {
        self.run_queue.borrow_mut().push_back(Runnable::Task(task));
    }

    pub(crate) fn schedule_main(&self) {
        if !self.main_scheduled.replace(true) {
            self.run_queue.borrow_mut().push_back(Runnable::Main);
        }
    }

    pub(crate) fn current_task(&self) -> Option<TaskRef> {
        let t = self.current.take();
        let copy = t.clone();
        self.current.set(t);
        copy
    }

    fn current_task_id(&self) -> Option<TaskId> {
        self.current_task().map(|t| t.id())
    }

    pub(crate) fn all_tasks(&self) -> Vec<TaskInfo> {
        self.registry
            .borrow()
            .iter()
            .map(TaskInfo::from_ref)
            .collect()
    }

    /// Runs the tasks ready now (the batch), polling `main` when its turn
    /// comes.
    pub(crate) fn run_batch(&self, mut main: impl FnMut()) {
        let n = self.run_queue.borrow().len();
        for _ in 0..n {
            let next = self.run_queue.borrow_mut().pop_front();
            match next {
                Some(Runnable::Task(task)) => self.run_task(task),
                Some(Runnable::Main) => {
                    self.main_scheduled.set(false);
                    main();
                }
                None => break,
            }
        }
    }

    fn run_task(&self, task: TaskRef) {
        crate::coop::reset();
        let id = task.id();
        let start = self.slow_poll.map(|_| Instant::now());
        if let Some(tracer) = &self.tracer {
            tracer.record(self.clock.now(), id, EventKind::PollStart);
        }
        self.current.set(Some(task.clone()));
        let (_, outcome) = task.run();
        drop(self.current.take());
        if let Some(tracer) = &self.tracer {
            tracer.record(self.clock.now(), id, EventKind::PollEnd);
        }
        if let (Some(limit), Some(start)) = (self.slow_poll, start) {
            let took = start.elapsed();
            if took > LONG_POLL {
                // The loop knows this poll was long: later sleeps of this
                // batch count from now, not from the iteration's start.
                self.clock.update();
            }
            if took > limit {
                let info = TaskInfo::from_ref(&task);
                eprintln!(
                    "boucle: {info} blocked the loop for {:.3} s in one poll (limit {:.3} s)",
                    took.as_secs_f64(),
                    limit.as_secs_f64()
                );
            }
        }
        if let PollOutcome::Complete {
            outcome,
            unobserved_panic,
        } = outcome
        {
            self.on_complete(&task, outcome, unobserved_panic);
        }
    }

    fn on_complete(
        &self,
        task: &TaskRef,
        outcome: Exit,
        unobserved_panic: Option<Box<dyn Any + Send>>,
    ) {
        if let Some(tracer) = &self.tracer {
            let kind = match outcome {
                Exit::Done => EventKind::Done,
                Exit::Cancelled => EventKind::Cancelled,
                Exit::Panicked => EventKind::Panicked,
            };
            tracer.record(self.clock.now(), task.id(), kind);
        }
        if let Some(payload) = unobserved_panic {
            self.report_panic(Some(task), &*payload);
        }
        let owner = {
            let mut registry = self.registry.borrow_mut();
            let slot = task.header().registry_slot.replace(u32::MAX) as usize;
            if slot >= registry.len() {
                // Already taken out (shutdown pops entries before cancelling).
                return;
            }
            let owner = registry.swap_remove(slot);
            if let Some(moved) = registry.get(slot) {
                moved.header().registry_slot.set(slot as u32);
            }
            owner
        };
        drop(owner);
    }

    /// Reports a panic nobody will observe, through the exception handler.
    pub(crate) fn report_panic(&self, task: Option<&TaskRef>, payload: &(dyn Any + Send)) {
        let info = task.map(TaskInfo::from_ref);
        exception::report(self.exception_handler.as_ref(), info.as_ref(), payload);
    }

    /// Park, sample the clock, take remote wakes, fire due timers.
    pub(crate) fn turn(&self) -> io::Result<()> {
        let ready = !self.run_queue.borrow().is_empty();
        let next_timer = {
            let wheel = self.timers.borrow();
            if wheel.len() == 0 {
                None
            } else {
                wheel.next_wake()
            }
        };
        let virtual_time = self.clock.is_virtual();
        // With work ready (tasks, a due timer, a virtual jump), the OS is
        // asked only if I/O sources exist, and then once per EVENT_INTERVAL
        // such turns: remote wakes are seen through `Shared`'s flag without
        // a syscall, and yielding tasks never make one.
        let io_sources = self.reactor.borrow().len();
        let look_at_io = io_sources > 0 && self.busy_turns.get() >= EVENT_INTERVAL;
        let busy = match next_timer {
            _ if ready => true,
            Some(_) if virtual_time => true,
            Some(t) => t <= self.clock.now(),
            None => false,
        };
        let park = if busy {
            (look_at_io || (virtual_time && !ready && io_sources > 0)).then_some(Park::Poll)
        } else if let Some(t) = next_timer {
            Some(Park::Until(self.clock.monotonic_deadline(t)))
        } else {
            Some(Park::Forever)
        };
        // Virtual time with blocking jobs in flight: wait for them rather
        // than jumping the clock over their duration.
        let park = if virtual_time && !ready && self.shared.blocking_inflight() > 0 {
            Some(Park::Forever)
        } else {
            park
        };
        let events = match park {
            Some(park) => {
                self.busy_turns.set(0);
                let mut io = self.io_events.take();
                let n = self.driver.borrow_mut().park(park, &mut io);
                self.dispatch_io(&mut io);
                *self.io_events.borrow_mut() = io;
                n?
            }
            None => {
                self.busy_turns.set(self.busy_turns.get() + 1);
                0
            }
        };
        self.clock.tick();
        let woke_remote = self.take_remote();
        if let Some(slab) = &self.task_slab {
            slab.borrow_mut().reclaim(&self.shared.slab);
        }
        if virtual_time && !ready && events == 0 && !woke_remote {
            if let Some(t) = next_timer {
                if self.shared.blocking_inflight() == 0 {
                    self.clock.advance_to(t);
                }
            }
        }
        self.fire_timers();
        Ok(())
    }

    /// Turns I/O events into readiness and wake-ups.
    fn dispatch_io(&self, events: &mut Vec<(usize, Ready)>) {
        if events.is_empty() {
            return;
        }
        let mut wakes = self.io_wakes.take();
        {
            let mut reactor = self.reactor.borrow_mut();
            for (token, ready) in events.drain(..) {
                reactor.dispatch(token, ready, &mut wakes);
            }
        }
        for w in wakes.drain(..) {
            w.wake();
        }
        *self.io_wakes.borrow_mut() = wakes;
    }

    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: mio::Interest,
    ) -> io::Result<IoKey> {
        let key = self.reactor.borrow_mut().insert();
        let registered = self
            .driver
            .borrow()
            .registry()
            .register(source, key.token(), interest);
        if let Err(e) = registered {
            let wakers = self.reactor.borrow_mut().remove(key);
            drop(wakers);
            return Err(e);
        }
        Ok(key)
    }

    pub(crate) fn deregister(
        &self,
        source: &mut impl mio::event::Source,
        key: IoKey,
    ) -> io::Result<()> {
        let result = self.driver.borrow().registry().deregister(source);
        let wakers = self.reactor.borrow_mut().remove(key);
        drop(wakers);
        result
    }

    pub(crate) fn poll_ready(
        &self,
        key: IoKey,
        dir: Direction,
        cx: &std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let (ready, old) = self.reactor.borrow_mut().poll_ready(key, dir, cx);
        drop(old);
        ready.map(|_| ())
    }

    pub(crate) fn clear_ready(&self, key: IoKey, dir: Direction) {
        self.reactor.borrow_mut().clear(key, dir);
    }

    /// Moves remote wakes into the run queue. Returns whether there were any.
    fn take_remote(&self) -> bool {
        let Some(wakes) = self.shared.take_remote() else {
            return false;
        };
        let any = wakes.main || !wakes.items.is_empty() || !wakes.jobs.is_empty();
        if wakes.main {
            self.schedule_main();
        }
        for remote in wakes.items {
            remote.schedule_on_loop(|task| self.push_ready(task));
        }
        if !wakes.jobs.is_empty() {
            self.run_jobs(wakes.jobs);
        }
        any
    }

    /// Runs the jobs sent by `Handle`s. Out of line: the wake path above is
    /// the hot one.
    #[cold]
    #[inline(never)]
    fn run_jobs(&self, jobs: Vec<super::remote::Job>) {
        for job in jobs {
            // A job is user code (`call_soon_threadsafe`): its panic is
            // reported, and the loop goes on.
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(job)) {
                self.report_panic(None, &*payload);
            }
        }
    }

    fn fire_timers(&self) {
        if self.timers.borrow().len() == 0 {
            return;
        }
        let mut fired = self.fired.take();
        self.timers
            .borrow_mut()
            .advance(self.clock.now(), &mut fired);
        // Wake outside the wheel's borrow: a wake may drop a task, whose
        // future may cancel a timer.
        for handle in fired.drain(..) {
            handle.wake();
        }
        *self.fired.borrow_mut() = fired;
    }

    /// Cancels and drops every unfinished task, clears timers and queues,
    /// and stops the blocking pool. Runs with this core entered.
    pub(crate) fn shutdown(&self) {
        if self.shut_down.replace(true) {
            return;
        }
        loop {
            let next = self.registry.borrow_mut().pop();
            let Some(task) = next else { break };
            task.header().registry_slot.set(u32::MAX);
            if let Some(PollOutcome::Complete {
                outcome,
                unobserved_panic,
            }) = task.cancel_now()
            {
                self.on_complete(&task, outcome, unobserved_panic);
            }
        }
        let queued = std::mem::take(&mut *self.run_queue.borrow_mut());
        drop(queued);
        let timers = self.timers.borrow_mut().drain();
        drop(timers);
        let io_waiters = self.reactor.borrow_mut().take_all_waiters();
        drop(io_waiters);
        self.blocking.shutdown();
        drop(self.shared.close());
        // Drops done above may have queued again.
        let queued = std::mem::take(&mut *self.run_queue.borrow_mut());
        drop(queued);
    }
}
