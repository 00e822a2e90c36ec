//! Debug mode's slow-poll warning, as an instrument: a poll longer than the
//! threshold (asyncio's `slow_callback_duration`) is named on stderr with
//! its task and spawn location; a poll longer than 1 ms re-samples the loop
//! time, so later sleeps of the batch count from the present.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use super::instrument::{Exited, Instrument, Spawned};
use crate::task::TaskId;
use crate::time::clock::Clock;

/// A poll longer than this re-samples the loop time.
const LONG_POLL: Duration = Duration::from_millis(1);

pub(crate) struct SlowPoll {
    limit: Duration,
    clock: Rc<Clock>,
    tasks: RefCell<HashMap<TaskId, Named>>,
}

/// A live task's name and spawn location, for the warning.
type Named = (Option<Box<str>>, &'static Location<'static>);

impl SlowPoll {
    pub(crate) fn new(limit: Duration, clock: Rc<Clock>) -> SlowPoll {
        SlowPoll {
            limit,
            clock,
            tasks: RefCell::new(HashMap::new()),
        }
    }
}

impl Instrument for SlowPoll {
    fn task_spawned(&self, s: &Spawned<'_>, _at: Duration) {
        self.tasks
            .borrow_mut()
            .insert(s.task, (s.name.map(Into::into), s.location));
    }

    fn task_exited(&self, task: TaskId, _exited: Exited, _at: Duration) {
        self.tasks.borrow_mut().remove(&task);
    }

    fn poll_end(&self, task: TaskId, _at: Duration, busy: Duration) {
        if busy > LONG_POLL {
            self.clock.update();
        }
        if busy > self.limit {
            let tasks = self.tasks.borrow();
            let (name, location) = match tasks.get(&task) {
                Some((name, location)) => (name.as_deref(), location.to_string()),
                None => (None, "an unknown place".to_owned()),
            };
            eprintln!(
                "boucle: task '{}' (id {task}, spawned at {location}) blocked the loop for {:.3} s \
                 in one poll (limit {:.3} s)",
                crate::task::label(name, task),
                busy.as_secs_f64(),
                self.limit.as_secs_f64()
            );
        }
    }

    fn wants_poll_time(&self) -> bool {
        true
    }
}
