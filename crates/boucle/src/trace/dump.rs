//! The task tree: which tasks are alive, who spawned whom, and what each one
//! waits for (Python 3.14's `asyncio pstree`). `dump()` gives a snapshot;
//! `Builder::dump_on_signal` prints it when the process gets SIGUSR1, and
//! `boucle ps PID` asks a running program for it.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::panic::Location;
use std::time::Duration;

use super::instrument::{Awaiting, Exited, Instrument, Spawned};
use crate::io::Direction;
use crate::task::{TaskId, TaskState};

/// What the tree keeper knows of one live task.
#[derive(Clone)]
struct Known {
    parent: Option<TaskId>,
    spawned_at: Duration,
    polls: u64,
    busy: Duration,
    awaiting: Option<Awaiting>,
    /// The sync primitive's statistics when the wait began.
    statistics: Option<String>,
}

/// The instrument behind `Builder::task_tree` (and `dump_on_signal`).
#[derive(Default)]
pub(crate) struct TreeKeeper {
    tasks: RefCell<HashMap<TaskId, Known>>,
}

impl Instrument for TreeKeeper {
    fn task_spawned(&self, s: &Spawned<'_>, at: Duration) {
        self.tasks.borrow_mut().insert(
            s.task,
            Known {
                parent: s.parent,
                spawned_at: at,
                polls: 0,
                busy: Duration::ZERO,
                awaiting: None,
                statistics: None,
            },
        );
    }

    fn poll_start(&self, task: TaskId, _at: Duration) {
        if let Some(k) = self.tasks.borrow_mut().get_mut(&task) {
            k.polls += 1;
            k.awaiting = None;
            k.statistics = None;
        }
    }

    fn poll_end(&self, task: TaskId, _at: Duration, busy: Duration) {
        if let Some(k) = self.tasks.borrow_mut().get_mut(&task) {
            k.busy += busy;
        }
    }

    fn task_waits(&self, task: Option<TaskId>, on: Awaiting, _at: Duration) {
        if let Some(task) = task {
            if let Some(k) = self.tasks.borrow_mut().get_mut(&task) {
                k.awaiting = Some(on);
                k.statistics = None;
            }
        }
    }

    fn task_exited(&self, task: TaskId, _exited: Exited, _at: Duration) {
        self.tasks.borrow_mut().remove(&task);
    }

    fn wants_poll_time(&self) -> bool {
        true
    }
}

impl TreeKeeper {
    /// The statistics of the primitive `task` has just begun to wait on
    /// (after its `task_waits`).
    pub(crate) fn set_statistics(&self, task: TaskId, statistics: String) {
        if let Some(k) = self.tasks.borrow_mut().get_mut(&task) {
            k.statistics = Some(statistics);
        }
    }
}

/// One live task in a [`TaskTree`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskNode {
    /// The task.
    pub id: TaskId,
    /// Its name, or `Task-<id>`.
    pub label: String,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
    /// Its state when the tree was taken.
    pub state: TaskState,
    /// The task that spawned it (known when the tree is kept).
    pub parent: Option<TaskId>,
    /// Loop time since it was spawned (known when the tree is kept).
    pub age: Option<Duration>,
    /// Polls so far (known when the tree is kept).
    pub polls: Option<u64>,
    /// Real time spent in its polls (known when the tree is kept).
    pub busy: Option<Duration>,
    /// What its last poll left it waiting for, when the loop can tell.
    pub awaiting: Option<Awaiting>,
    /// For a wait on a `boucle::sync` primitive ([`Awaiting::Sync`]), the
    /// primitive's `statistics()` as they were when the wait began, this
    /// task counted (`"qsize 0 of 10, 1 getter waiting"`; known when the
    /// tree is kept).
    pub statistics: Option<String>,
}

/// The live tasks of a loop as a tree (parents first), from [`dump`].
/// `Display` draws it:
///
/// ```text
/// └── main (id 1) waiting on task worker-2, 3 polls, busy 0.012 ms, age 2.000 s, at src/main.rs:9:5
///     ├── worker-1 (id 2) waiting on sleep until 3.000 s, 2 polls, ...
///     └── worker-2 (id 3) waiting on Queue.get (qsize 0 of 8, 0 unfinished, waiting: 1 get, 0 put, 0 join), ...
/// ```
#[derive(Debug, Clone)]
pub struct TaskTree {
    nodes: Vec<TaskNode>,
    kept: bool,
}

impl TaskTree {
    /// Every live task, in id (spawn) order.
    pub fn tasks(&self) -> &[TaskNode] {
        &self.nodes
    }

    /// Whether parents, ages, polls and waits were kept
    /// (`Builder::task_tree` or `dump_on_signal`).
    pub fn is_detailed(&self) -> bool {
        self.kept
    }
}

/// The task tree of the running loop: every live task with its state and
/// spawn location, and, when the loop keeps the tree
/// (`Builder::task_tree(true)` or `dump_on_signal(true)`), its parent, age,
/// polls, busy time and what it waits for.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).task_tree(true).build().unwrap();
/// rt.block_on(async {
///     let worker = boucle::task::Builder::new()
///         .name("worker")
///         .spawn(boucle::sleep(Duration::from_secs(60)));
///     boucle::yield_now().await;
///     let tree = boucle::trace::dump();
///     let node = tree.tasks().iter().find(|t| t.label == "worker").unwrap();
///     assert_eq!(node.awaiting, Some(boucle::trace::Awaiting::Timer(Duration::from_secs(60))));
///     println!("{tree}");
///     worker.cancel();
/// });
/// ```
///
/// # Panics
/// Outside a running loop.
pub fn dump() -> TaskTree {
    let core = crate::runtime::context::current();
    let now = Duration::from_nanos(core.time().now());
    let infos = core.all_tasks();
    let tree = core.tree();
    let known = tree.map(|t| t.tasks.borrow().clone()).unwrap_or_default();
    let mut nodes: Vec<TaskNode> = infos
        .into_iter()
        .map(|info| {
            let k = known.get(&info.id);
            TaskNode {
                id: info.id,
                label: info.label(),
                location: info.location,
                state: info.state,
                parent: k.and_then(|k| k.parent),
                age: k.map(|k| now.saturating_sub(k.spawned_at)),
                polls: k.map(|k| k.polls),
                busy: k.map(|k| k.busy),
                awaiting: k.and_then(|k| k.awaiting),
                statistics: k.and_then(|k| k.statistics.clone()),
            }
        })
        .collect();
    nodes.sort_by_key(|n| n.id);
    TaskTree {
        nodes,
        kept: tree.is_some(),
    }
}

fn describe(on: &Awaiting, labels: &HashMap<TaskId, &str>) -> String {
    match on {
        Awaiting::Timer(t) => format!("sleep until {:.3} s", t.as_secs_f64()),
        Awaiting::Io(Direction::Read) => "socket read".to_owned(),
        Awaiting::Io(Direction::Write) => "socket write".to_owned(),
        Awaiting::Task(id) => match labels.get(id) {
            Some(label) => format!("task {}", super::render::printable(label, usize::MAX)),
            None => format!("task {id}"),
        },
        Awaiting::Sync(what) => (*what).to_owned(),
    }
}

impl fmt::Display for TaskTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nodes.is_empty() {
            return writeln!(f, "(no live tasks)");
        }
        let labels: HashMap<TaskId, &str> = self
            .nodes
            .iter()
            .map(|n| (n.id, n.label.as_str()))
            .collect();
        let live: std::collections::HashSet<TaskId> = self.nodes.iter().map(|n| n.id).collect();
        // Children by parent; a task whose parent is gone is a root.
        let mut children: BTreeMap<Option<TaskId>, Vec<&TaskNode>> = BTreeMap::new();
        for n in &self.nodes {
            let parent = n.parent.filter(|p| live.contains(p));
            children.entry(parent).or_default().push(n);
        }
        fn draw(
            f: &mut fmt::Formatter<'_>,
            node: &TaskNode,
            prefix: &str,
            last: bool,
            children: &BTreeMap<Option<TaskId>, Vec<&TaskNode>>,
            labels: &HashMap<TaskId, &str>,
        ) -> fmt::Result {
            let branch = if last { "└── " } else { "├── " };
            let label = super::render::printable(&node.label, usize::MAX);
            write!(f, "{prefix}{branch}{label} (id {}) ", node.id)?;
            let doing = match node.state {
                TaskState::Running => "running".to_owned(),
                TaskState::Scheduled => "scheduled".to_owned(),
                TaskState::Waiting => match &node.awaiting {
                    Some(on) => match &node.statistics {
                        Some(s) => format!("waiting on {} ({s})", describe(on, labels)),
                        None => format!("waiting on {}", describe(on, labels)),
                    },
                    None => "waiting".to_owned(),
                },
                TaskState::Done => "done".to_owned(),
                TaskState::Cancelled => "cancelled".to_owned(),
                TaskState::Panicked => "panicked".to_owned(),
            };
            write!(f, "{doing}")?;
            if let Some(polls) = node.polls {
                write!(f, ", {polls} poll{}", if polls == 1 { "" } else { "s" })?;
            }
            if let Some(busy) = node.busy {
                write!(f, ", busy {:.3} ms", busy.as_secs_f64() * 1e3)?;
            }
            if let Some(age) = node.age {
                write!(f, ", age {:.3} s", age.as_secs_f64())?;
            }
            writeln!(f, ", at {}", node.location)?;
            let kids = children
                .get(&Some(node.id))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let inner = format!("{prefix}{}", if last { "    " } else { "│   " });
            for (i, child) in kids.iter().enumerate() {
                draw(f, child, &inner, i + 1 == kids.len(), children, labels)?;
            }
            Ok(())
        }
        let roots = children.get(&None).map(Vec::as_slice).unwrap_or(&[]);
        for (i, root) in roots.iter().enumerate() {
            draw(f, root, "", i + 1 == roots.len(), &children, &labels)?;
        }
        if !self.kept {
            writeln!(
                f,
                "(parents, polls and waits are not kept: Builder::task_tree(true) or dump_on_signal(true))"
            )?;
        }
        Ok(())
    }
}

/// Where `boucle ps PID` finds the dump of process `pid`.
pub fn dump_path(pid: u32) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("boucle-dump-{pid}.txt"))
}

/// The listener behind `Builder::dump_on_signal`: on each SIGUSR1, the tree
/// goes to stderr (or to `$BOUCLE_DUMP`) and to [`dump_path`], written whole
/// (a temporary file renamed into place).
pub(crate) async fn on_signal() {
    if let Some(sig) = listen_usr1() {
        on_signal_print(sig, || std::future::ready(dump().to_string())).await;
    }
}

/// SIGUSR1 listened to from now on (its handler installed), or `None`
/// after a line on stderr.
pub(crate) fn listen_usr1() -> Option<crate::signal::Signal> {
    match crate::signal::signal(crate::signal::SignalKind::user_defined1()) {
        Ok(sig) => Some(sig),
        Err(e) => {
            eprintln!("boucle: dump_on_signal: cannot listen to SIGUSR1: {e}");
            None
        }
    }
}

/// On each delivery of `sig`, prints what `tree()` gives then, headed by
/// the process and the time (a sharded runtime's listener gathers every
/// shard's tree).
pub(crate) async fn on_signal_print<F, Fut>(mut sig: crate::signal::Signal, mut tree: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    while sig.recv().await.is_some() {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let text = format!(
            "boucle task tree of process {} (Unix time {:.3} s):\n{}",
            std::process::id(),
            unix.as_secs_f64(),
            tree().await
        );
        let mut targets = vec![dump_path(std::process::id())];
        match std::env::var_os("BOUCLE_DUMP") {
            Some(path) if !path.is_empty() => targets.push(path.into()),
            _ => eprint!("{text}"),
        }
        for path in targets {
            if let Err(e) = write_whole(&path, &text) {
                eprintln!(
                    "boucle: cannot write the task dump to {}: {e}",
                    path.display()
                );
            }
        }
    }
}

fn write_whole(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
