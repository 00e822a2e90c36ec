//! `Core`: the loop-thread half of a runtime, and one iteration of the loop.
//!
//! The core holds the engines, each its own type behind its own handle:
//! the run queue and the registry of unfinished tasks (here), the time
//! engine (`time/driver.rs`: clock, wheel, the timer layer of the park), the
//! I/O engine (`io/driver.rs`: epoll, reactor), the blocking pool
//! (`blocking.rs`), and the cross-thread half (`shared.rs`). Facades reach
//! an engine through its handle (`Core::time`, `Core::io`, `Core::random`),
//! never through the core's fields.
//!
//! One iteration, as asyncio's `_run_once`: park (the time layer asks the
//! I/O layer to wait until the next deadline, or not at all when tasks are
//! ready), sample the clock, take remote wakes, fire due timers, then run
//! every task that was ready at that point, in FIFO order. Tasks woken while
//! the batch runs go to the back of the queue and run in the next iteration.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::panic::{self, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::blocking::BlockingPool;
use super::exception;
use super::shared::Shared;
use crate::io::driver::IoDriver;
use crate::task::raw::{self, PollOutcome, TaskRef};
use crate::task::slab::{class_of, TaskSlab};
use crate::task::state::Exit;
use crate::task::{Task, TaskId, TaskInfo};
use crate::time::clock::TimeBase;
use crate::time::driver::{TimeDriver, Turn};
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
    /// Task memory (None: every task from the global allocator).
    pub(crate) task_slab: Option<RefCell<TaskSlab>>,
    next_id: Cell<u64>,
    current: Cell<Option<TaskRef>>,
    main_scheduled: Cell<bool>,
    time: Rc<TimeDriver>,
    io: Rc<IoDriver>,
    pub(crate) blocking: BlockingPool,
    rng: RefCell<fastrand::Rng>,
    seed: u64,
    tracer: Option<Tracer>,
    slow_poll: Option<Duration>,
    shut_down: Cell<bool>,
    exception_handler: Option<exception::Handler>,
}

/// In debug mode, a poll longer than this re-samples the loop time.
const LONG_POLL: Duration = Duration::from_millis(1);

impl Core {
    pub(crate) fn new(config: Config) -> io::Result<Core> {
        let (io, waker) = IoDriver::new()?;
        let shared = Shared::new(waker);
        Ok(Core {
            blocking: BlockingPool::new(config.max_blocking_threads, config.blocking_keep_alive),
            shared,
            run_queue: RefCell::new(VecDeque::new()),
            registry: RefCell::new(Vec::new()),
            task_slab: config.task_slab.then(|| RefCell::new(TaskSlab::new())),
            next_id: Cell::new(1),
            current: Cell::new(None),
            main_scheduled: Cell::new(false),
            time: Rc::new(TimeDriver::new(config.virtual_time, config.time_base)),
            io: Rc::new(io),
            rng: RefCell::new(fastrand::Rng::with_seed(config.seed)),
            seed: config.seed,
            tracer: config.trace.then(Tracer::default),
            slow_poll: config.slow_poll,
            shut_down: Cell::new(false),
            exception_handler: config.exception_handler,
        })
    }

    /// The time engine's handle (clock, timers).
    pub(crate) fn time(&self) -> &Rc<TimeDriver> {
        &self.time
    }

    /// The I/O engine's handle (registration, readiness).
    pub(crate) fn io(&self) -> &Rc<IoDriver> {
        &self.io
    }

    /// The loop's random generator (`boucle::random`).
    pub(crate) fn random(&self) -> &RefCell<fastrand::Rng> {
        &self.rng
    }

    /// The seed of the random generator.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The tracer, when tracing is on.
    pub(crate) fn tracer(&self) -> Option<&Tracer> {
        self.tracer.as_ref()
    }

    /// Loop time as an `Instant`.
    pub(crate) fn now(&self) -> Instant {
        self.time.now_instant()
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
                self.time.now(),
                id,
                EventKind::Created {
                    name: name.as_deref().map(str::to_owned),
                    parent,
                    location,
                },
            );
        }
        let block = self.task_slab.as_ref().and_then(|slab| {
            let class = class_of(raw::layout_of::<F>())?;
            slab.borrow_mut().alloc(&self.shared.slab, class)
        });
        let [handle, owner, queued] =
            raw::allocate(future, id, &self.shared, block, name, location);
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
            tracer.record(self.time.now(), id, EventKind::PollStart);
        }
        self.current.set(Some(task.clone()));
        let (_, outcome) = task.run();
        drop(self.current.take());
        if let Some(tracer) = &self.tracer {
            tracer.record(self.time.now(), id, EventKind::PollEnd);
        }
        if let (Some(limit), Some(start)) = (self.slow_poll, start) {
            let took = start.elapsed();
            if took > LONG_POLL {
                // The loop knows this poll was long: later sleeps of this
                // batch count from now, not from the iteration's start.
                self.time.update();
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
            tracer.record(self.time.now(), task.id(), kind);
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

    /// Park, sample the clock, take remote wakes, fire due timers: the
    /// time layer wraps the I/O layer (`TimeDriver::park`).
    pub(crate) fn turn(&self) -> io::Result<()> {
        let turn = Turn {
            ready: !self.run_queue.borrow().is_empty(),
            blocking_inflight: self.shared.blocking_inflight() > 0,
        };
        self.time.park(&self.io, turn, || {
            let woke = self.take_remote();
            if let Some(slab) = &self.task_slab {
                slab.borrow_mut().reclaim(&self.shared.slab);
            }
            woke
        })?;
        Ok(())
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
        let timers = self.time.drain();
        drop(timers);
        let io_waiters = self.io.take_all_waiters();
        drop(io_waiters);
        self.blocking.shutdown();
        drop(self.shared.close());
        // Drops done above may have queued again.
        let queued = std::mem::take(&mut *self.run_queue.borrow_mut());
        drop(queued);
    }
}
