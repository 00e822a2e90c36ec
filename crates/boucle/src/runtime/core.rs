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
use crate::trace::dump::TreeKeeper;
use crate::trace::hooks::Hooks;
use crate::trace::recorder::Recorder;
use crate::trace::slow_poll::SlowPoll;
use crate::trace::watchdog::Watchdog;
use crate::trace::{Exited, Instrument};

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
    /// The recorder's capacity, when tracing is on.
    pub(crate) trace: Option<usize>,
    pub(crate) slow_poll: Option<Duration>,
    pub(crate) watchdog: bool,
    pub(crate) task_tree: bool,
    pub(crate) dump_on_signal: bool,
    pub(crate) instruments: Vec<Rc<dyn Instrument>>,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: Duration,
    pub(crate) task_slab: bool,
    pub(crate) time_base: TimeBase,
    pub(crate) exception_handler: Option<exception::Handler>,
}

pub(crate) struct Core {
    pub(crate) shared: Arc<Shared>,
    run_queue: RefCell<VecDeque<Runnable>>,
    /// Unfinished tasks outside the task slab; each entry owns a reference.
    /// Those in the slab need no entry: the slab finds them
    /// (`TaskRef::slab_owned`), and `slab_owned` counts them.
    registry: RefCell<Vec<TaskRef>>,
    slab_owned: Cell<usize>,
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
    hooks: Option<Rc<Hooks>>,
    recorder: Option<Rc<Recorder>>,
    tree: Option<Rc<TreeKeeper>>,
    pub(crate) stats: LoopStats,
    started: Instant,
    /// Debug mode's watchdog thread, stopped with the core.
    _watchdog: Option<Watchdog>,
    /// `Builder::dump_on_signal`, and whether its listener task runs.
    dump_on_signal: bool,
    dump_listener: Cell<bool>,
    shut_down: Cell<bool>,
    exception_handler: Option<exception::Handler>,
}

/// What the loop counts for `Runtime::metrics` (plain `Cell`s: one add each).
#[derive(Default)]
pub(crate) struct LoopStats {
    pub(crate) polls: Cell<u64>,
    pub(crate) done: Cell<u64>,
    pub(crate) cancelled: Cell<u64>,
    pub(crate) panicked: Cell<u64>,
    pub(crate) remote_wakes: Cell<u64>,
    pub(crate) iterations: Cell<u64>,
}

fn bump(c: &Cell<u64>) {
    c.set(c.get() + 1);
}

impl Core {
    pub(crate) fn new(config: Config) -> io::Result<Core> {
        let clock = TimeDriver::clock(config.virtual_time, config.time_base);
        let recorder = config.trace.map(|cap| Rc::new(Recorder::new(cap)));
        let tree = config.task_tree.then(|| Rc::new(TreeKeeper::default()));
        let mut list: Vec<Rc<dyn Instrument>> = Vec::new();
        if let Some(t) = &tree {
            list.push(t.clone());
        }
        let mut watchdog = None;
        if let Some(limit) = config.slow_poll {
            list.push(Rc::new(SlowPoll::new(limit, clock.clone())));
            if config.watchdog {
                if let Some((dog, hook)) = Watchdog::start(limit) {
                    watchdog = Some(dog);
                    list.push(Rc::new(hook));
                }
            }
        }
        list.extend(config.instruments);
        let hooks = Hooks::new(recorder.clone(), list, clock.clone());
        let (io, waker) = IoDriver::new(hooks.clone())?;
        let shared = Shared::new(waker);
        Ok(Core {
            blocking: BlockingPool::new(config.max_blocking_threads, config.blocking_keep_alive),
            shared,
            run_queue: RefCell::new(VecDeque::new()),
            registry: RefCell::new(Vec::new()),
            slab_owned: Cell::new(0),
            task_slab: config.task_slab.then(|| RefCell::new(TaskSlab::new())),
            next_id: Cell::new(1),
            current: Cell::new(None),
            main_scheduled: Cell::new(false),
            time: Rc::new(TimeDriver::new(clock, hooks.clone())),
            io: Rc::new(io),
            rng: RefCell::new(fastrand::Rng::with_seed(config.seed)),
            seed: config.seed,
            hooks,
            recorder,
            tree,
            stats: LoopStats::default(),
            started: Instant::now(),
            _watchdog: watchdog,
            dump_on_signal: config.dump_on_signal,
            dump_listener: Cell::new(false),
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

    /// The installed instruments, if any.
    pub(crate) fn hooks(&self) -> Option<&Rc<Hooks>> {
        self.hooks.as_ref()
    }

    /// The recorder, when tracing is on.
    pub(crate) fn recorder(&self) -> Option<&Rc<Recorder>> {
        self.recorder.as_ref()
    }

    /// The task tree, when it is kept.
    pub(crate) fn tree(&self) -> Option<&Rc<TreeKeeper>> {
        self.tree.as_ref()
    }

    /// With `dump_on_signal`, starts the task that prints the task tree on
    /// SIGUSR1 (once; the loop must be running).
    pub(crate) fn start_dump_listener(&self) {
        if self.dump_on_signal && !self.dump_listener.replace(true) {
            let listener = crate::task::Builder::new()
                .name("boucle dump on SIGUSR1")
                .spawn(crate::trace::dump::on_signal());
            drop(listener);
        }
    }

    /// When the runtime was built (real clock).
    pub(crate) fn started(&self) -> Instant {
        self.started
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
        if let Some(hooks) = &self.hooks {
            hooks.spawned(id, name.as_deref(), location);
        }
        let block = self.task_slab.as_ref().and_then(|slab| {
            let class = class_of(raw::layout_of::<F>())?;
            slab.borrow_mut().alloc(&self.shared.slab, class)
        });
        let [handle, owner, queued] =
            raw::allocate(future, id, &self.shared, block, name, location);
        if owner.header().state.in_slab() {
            owner.give_to_slab();
            self.slab_owned.set(self.slab_owned.get() + 1);
        } else {
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
    #[inline]
    pub(crate) fn push_ready(&self, task: TaskRef) {
        if let Some(hooks) = &self.hooks {
            hooks.scheduled(task.id());
        }
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

    /// Unfinished tasks, and tasks in the run queue now.
    pub(crate) fn task_counts(&self) -> (usize, usize) {
        let unfinished = self.registry.borrow().len() + self.slab_owned.get();
        (unfinished, self.run_queue.borrow().len())
    }

    /// Tasks spawned so far.
    pub(crate) fn spawned(&self) -> u64 {
        self.next_id.get() - 1
    }

    /// The unfinished tasks, in spawn order.
    pub(crate) fn all_tasks(&self) -> Vec<TaskInfo> {
        let mut all: Vec<TaskInfo> = self
            .registry
            .borrow()
            .iter()
            .map(TaskInfo::from_ref)
            .collect();
        all.extend(self.slab_tasks().iter().map(TaskInfo::from_ref));
        all.sort_unstable_by_key(|t| t.id);
        all
    }

    /// The unfinished tasks of the slab, each as a new reference.
    fn slab_tasks(&self) -> Vec<TaskRef> {
        let Some(slab) = &self.task_slab else {
            return Vec::new();
        };
        if self.slab_owned.get() == 0 {
            return Vec::new();
        }
        raw::slab_tasks(&slab.borrow(), &self.shared.slab)
    }

    /// Runs the tasks ready now (the batch), polling `main` when its turn
    /// comes.
    pub(crate) fn run_batch(&self, mut main: impl FnMut()) {
        let n = self.run_queue.borrow().len();
        bump(&self.stats.iterations);
        if let Some(hooks) = &self.hooks {
            hooks.iteration_start(n);
        }
        let mut polls = 0;
        for _ in 0..n {
            let next = self.run_queue.borrow_mut().pop_front();
            match next {
                Some(Runnable::Task(task)) => {
                    polls += 1;
                    self.run_task(task);
                }
                Some(Runnable::Main) => {
                    self.main_scheduled.set(false);
                    main();
                }
                None => break,
            }
        }
        // Counted once per batch: the per-task path stays as it was.
        self.stats.polls.set(self.stats.polls.get() + polls);
    }

    fn run_task(&self, task: TaskRef) {
        crate::coop::reset();
        let hooked = self.hooks.as_ref().map(|h| (h, h.poll_start(task.id())));
        self.current.set(Some(task.clone()));
        let (_, outcome) = task.run();
        drop(self.current.take());
        if let Some((hooks, started)) = hooked {
            hooks.poll_end(task.id(), started);
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
        let exited = match outcome {
            Exit::Done => {
                bump(&self.stats.done);
                Exited::Done
            }
            Exit::Cancelled => {
                bump(&self.stats.cancelled);
                Exited::Cancelled
            }
            Exit::Panicked => {
                bump(&self.stats.panicked);
                Exited::Panicked
            }
        };
        if let Some(hooks) = &self.hooks {
            hooks.exited(task.id(), exited);
        }
        if let Some(payload) = unobserved_panic {
            self.report_panic(Some(task), &*payload);
        }
        if let Some(owner) = task.take_slab_owner() {
            self.slab_owned.set(self.slab_owned.get() - 1);
            drop(owner);
            return;
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
            // With instruments, read the clock now: the remote wakes and
            // jobs below would else be stamped with the time before the
            // park (instruments never sample the clock themselves).
            if self.hooks.is_some() {
                self.time.update();
            }
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
        let remote = wakes.items.len() + usize::from(wakes.main);
        self.stats
            .remote_wakes
            .set(self.stats.remote_wakes.get() + remote as u64);
        match &self.hooks {
            None => {
                for remote in wakes.items {
                    remote.schedule_on_loop(|task| self.push_ready(task));
                }
            }
            Some(hooks) => hooks.waking(crate::trace::WokenBy::Remote, || {
                for remote in wakes.items {
                    remote.schedule_on_loop(|task| self.push_ready(task));
                }
            }),
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
        // Cancelling may spawn (a destructor can): go on until none is left.
        loop {
            let mut owners = std::mem::take(&mut *self.registry.borrow_mut());
            for task in self.slab_tasks() {
                if let Some(owner) = task.take_slab_owner() {
                    self.slab_owned.set(self.slab_owned.get() - 1);
                    owners.push(owner);
                }
            }
            if owners.is_empty() {
                break;
            }
            for task in owners.into_iter().rev() {
                task.header().registry_slot.set(u32::MAX);
                if let Some(PollOutcome::Complete {
                    outcome,
                    unobserved_panic,
                }) = task.cancel_now()
                {
                    self.on_complete(&task, outcome, unobserved_panic);
                }
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
