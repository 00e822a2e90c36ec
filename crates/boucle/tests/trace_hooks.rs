//! Instrument hooks: the exact sequence of hook calls for small programs
//! (embassy's executor tests as the model), several instruments at once,
//! and the recorder's bounded ring.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use boucle::io::{AsyncFd, Interest};
use boucle::trace::{Awaiting, Exited, Instrument, Spawned, WokenBy};
use boucle::{Runtime, TaskId};

/// Logs every hook call as a line (loop times in ms).
#[derive(Default)]
struct Log {
    tag: &'static str,
    lines: RefCell<Vec<String>>,
    loop_events: bool,
}

impl Log {
    fn push(&self, at: Duration, what: String) {
        self.lines
            .borrow_mut()
            .push(format!("{}{}ms {what}", self.tag, at.as_millis()));
    }
}

impl Instrument for Log {
    fn task_spawned(&self, s: &Spawned<'_>, at: Duration) {
        let parent = s.parent.map_or("-".to_owned(), |p| p.to_string());
        self.push(
            at,
            format!("{} spawned {} by {parent}", s.task, s.name.unwrap_or("?")),
        );
    }
    fn task_scheduled(&self, task: TaskId, by: WokenBy, at: Duration) {
        self.push(at, format!("{task} scheduled {by:?}"));
    }
    fn poll_start(&self, task: TaskId, at: Duration) {
        self.push(at, format!("{task} poll"));
    }
    fn poll_end(&self, task: TaskId, at: Duration, _busy: Duration) {
        self.push(at, format!("{task} end"));
    }
    fn task_exited(&self, task: TaskId, exited: Exited, at: Duration) {
        self.push(at, format!("{task} exited {exited:?}"));
    }
    fn task_waits(&self, task: Option<TaskId>, on: Awaiting, at: Duration) {
        let who = task.map_or("main".to_owned(), |t| t.to_string());
        self.push(at, format!("{who} waits {on:?}"));
    }
    fn timer_fired(&self, task: Option<TaskId>, at: Duration) {
        let who = task.map_or("main".to_owned(), |t| t.to_string());
        self.push(at, format!("{who} timer fired"));
    }
    fn io_ready(&self, task: Option<TaskId>, at: Duration) {
        let who = task.map_or("main".to_owned(), |t| t.to_string());
        self.push(at, format!("{who} io ready"));
    }
    fn iteration_start(&self, ready: usize, at: Duration) {
        if self.loop_events {
            self.push(at, format!("iteration {ready}"));
        }
    }
}

/// A virtual-time runtime that keeps the task tree (`boucle::trace::dump`).
fn tree_runtime() -> Runtime {
    Runtime::builder()
        .virtual_time(true)
        .task_tree(true)
        .build()
        .unwrap()
}

#[test]
fn the_exact_hooks_of_a_sleep_a_queue_and_a_join() {
    let log = Rc::new(Log::default());
    let rt = Runtime::builder()
        .virtual_time(true)
        .instrument(log.clone())
        .build()
        .unwrap();
    rt.block_on(async {
        let q = boucle::sync::Queue::new(0);
        let q2 = q.clone();
        let consumer = boucle::task::Builder::new()
            .name("consumer")
            .spawn(async move { q2.get().await.unwrap() });
        let producer = boucle::task::Builder::new()
            .name("producer")
            .spawn(async move {
                boucle::sleep(Duration::from_millis(5)).await;
                q.put_nowait(7).unwrap();
            });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), 7);
    });
    let got = log.lines.borrow().clone();
    let expected = [
        "0ms 1 spawned consumer by -",
        "0ms 1 scheduled Spawn",
        "0ms 2 spawned producer by -",
        "0ms 2 scheduled Spawn",
        "0ms main waits Task(TaskId(2))",
        "0ms 1 poll",
        "0ms 1 waits Sync(\"Queue.get\")",
        "0ms 1 end",
        "0ms 2 poll",
        "0ms 2 waits Timer(5ms)",
        "0ms 2 end",
        "5ms 2 timer fired",
        "5ms 2 scheduled Timer",
        "5ms 2 poll",
        "5ms 1 scheduled Loop",
        "5ms 2 end",
        "5ms 2 exited Done",
        "5ms 1 poll",
        "5ms 1 end",
        "5ms 1 exited Done",
    ];
    assert_eq!(got, expected, "{got:#?}");
}

#[test]
fn io_readiness_and_loop_iterations_are_reported() {
    let log = Rc::new(Log {
        loop_events: true,
        ..Log::default()
    });
    let rt = Runtime::builder().instrument(log.clone()).build().unwrap();
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    rt.block_on(async move {
        let fd = AsyncFd::with_interest(a, Interest::READABLE).unwrap();
        let reader = boucle::task::Builder::new()
            .name("reader")
            .spawn(async move {
                let mut buf = [0u8; 4];
                fd.async_io(Interest::READABLE, |s| (&*s).read(&mut buf))
                    .await
                    .unwrap()
            });
        boucle::yield_now().await;
        b.write_all(b"ping").unwrap();
        assert_eq!(reader.await.unwrap(), 4);
    });
    let got: Vec<String> = log
        .lines
        .borrow()
        .iter()
        .map(|l| l.split_once("ms ").unwrap().1.to_owned()) // real times vary
        .collect();
    let find = |s: &str| {
        got.iter()
            .position(|l| l == s)
            .unwrap_or_else(|| panic!("no {s:?} in {got:#?}"))
    };
    let waits = find("1 waits Io(Read)");
    let ready = find("1 io ready");
    let scheduled = find("1 scheduled Io");
    let exited = find("1 exited Done");
    assert!(
        waits < ready && ready < scheduled && scheduled < exited,
        "{got:#?}"
    );
    assert!(got.iter().any(|l| l.starts_with("iteration ")), "{got:#?}");
}

#[test]
fn several_instruments_are_called_in_the_order_given() {
    let first = Rc::new(Log {
        tag: "A ",
        ..Log::default()
    });
    let second = Rc::new(Log {
        tag: "B ",
        ..Log::default()
    });
    let shared = Rc::new(RefCell::new(Vec::new()));
    struct Both(Rc<Log>, Rc<RefCell<Vec<&'static str>>>);
    impl Instrument for Both {
        fn poll_start(&self, _: TaskId, _: Duration) {
            self.1.borrow_mut().push(self.0.tag);
        }
    }
    let rt = Runtime::builder()
        .virtual_time(true)
        .instrument(Both(first.clone(), shared.clone()))
        .instrument(Both(second.clone(), shared.clone()))
        .build()
        .unwrap();
    rt.block_on(async { boucle::spawn(async {}).await.unwrap() });
    assert_eq!(*shared.borrow(), ["A ", "B "]);
}

#[test]
fn the_recorder_keeps_the_newest_events_and_counts_the_dropped() {
    let rt = Runtime::builder()
        .virtual_time(true)
        .trace(true)
        .trace_capacity(10)
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..10 {
            boucle::spawn(async {}).await.unwrap();
        }
    });
    let trace = rt.trace().unwrap();
    // Each task: created, scheduled, poll (its start and end in one
    // record), done = 4 records, 5 events. The ring keeps the last 10
    // records: the 8th task's poll and done, then the last two tasks whole.
    assert_eq!(trace.events().len(), 3 + 5 + 5);
    assert_eq!(trace.dropped(), 50 - 13);
    assert!(matches!(
        trace.events().last().unwrap().kind,
        boucle::trace::EventKind::Done
    ));
}

#[test]
fn a_task_tree_shows_parents_and_what_each_task_waits_for() {
    let rt = tree_runtime();
    rt.block_on(async {
        let lock = boucle::sync::Lock::new();
        let held = lock.try_acquire().unwrap();
        let l2 = lock.clone();
        let parent = boucle::task::Builder::new()
            .name("parent")
            .spawn(async move {
                let child = boucle::task::Builder::new()
                    .name("child")
                    .spawn(async move {
                        let _g = l2.acquire().await;
                    });
                child.await.unwrap();
            });
        let napper = boucle::task::Builder::new()
            .name("napper")
            .spawn(boucle::sleep(Duration::from_secs(90)));
        for _ in 0..3 {
            boucle::yield_now().await;
        }
        let tree = boucle::trace::dump();
        assert!(tree.is_detailed());
        let by = |label: &str| {
            tree.tasks()
                .iter()
                .find(|t| t.label == label)
                .unwrap()
                .clone()
        };
        let (p, c, n) = (by("parent"), by("child"), by("napper"));
        assert_eq!(c.parent, Some(p.id));
        assert_eq!(p.awaiting, Some(Awaiting::Task(c.id)));
        assert_eq!(c.awaiting, Some(Awaiting::Sync("Lock.acquire")));
        assert_eq!(n.awaiting, Some(Awaiting::Timer(Duration::from_secs(90))));
        assert_eq!(n.polls, Some(1));
        let text = tree.to_string();
        let lines: Vec<&str> = text.lines().collect();
        let child_line = lines.iter().find(|l| l.contains("child (id")).unwrap();
        // Under its parent, which is not the last root.
        assert!(child_line.starts_with("│   └── child"), "{text}");
        assert!(
            child_line.contains("waiting on Lock.acquire (locked, 1 waiting)"),
            "{text}"
        );
        assert_eq!(c.statistics.as_deref(), Some("locked, 1 waiting"));
        assert_eq!(n.statistics, None);
        assert!(
            text.contains("parent (id 1) waiting on task child"),
            "{text}"
        );
        assert!(
            text.contains("napper (id 2) waiting on sleep until 90.000 s"),
            "{text}"
        );
        drop(held);
        napper.cancel();
        parent.await.unwrap();
    });
}

#[test]
fn the_tree_shows_the_statistics_of_the_primitive_a_task_waits_on() {
    let rt = tree_runtime();
    rt.block_on(async {
        let q = boucle::sync::Queue::<u32>::new(8);
        let sem = boucle::sync::Semaphore::new(0);
        let event = boucle::sync::Event::new();
        let barrier = boucle::sync::Barrier::new(3);
        let readers: Vec<_> = (0..2)
            .map(|i| {
                let q = q.clone();
                boucle::task::Builder::new()
                    .name(format!("reader-{i}").as_str())
                    .spawn(async move { q.get().await.unwrap() })
            })
            .collect();
        let s2 = sem.clone();
        let permit = boucle::task::Builder::new()
            .name("permit")
            .spawn(async move { drop(s2.acquire().await) });
        let e2 = event.clone();
        let flag = boucle::task::Builder::new()
            .name("flag")
            .spawn(async move { e2.wait().await });
        let b2 = barrier.clone();
        let party = boucle::task::Builder::new()
            .name("party")
            .spawn(async move { b2.wait().await.unwrap() });
        boucle::yield_now().await;
        let tree = boucle::trace::dump();
        let stats = |label: &str| {
            let node = tree.tasks().iter().find(|t| t.label == label).unwrap();
            node.statistics.clone().unwrap()
        };
        // Each as it was when that task began to wait, itself counted.
        assert_eq!(
            stats("reader-0"),
            "qsize 0 of 8, 0 unfinished, waiting: 1 get, 0 put, 0 join"
        );
        assert_eq!(
            stats("reader-1"),
            "qsize 0 of 8, 0 unfinished, waiting: 2 get, 0 put, 0 join"
        );
        assert_eq!(stats("permit"), "0 permits free, 1 waiting");
        assert_eq!(stats("flag"), "not set, 1 waiting");
        assert_eq!(stats("party"), "1 of 3 parties waiting");
        let text = tree.to_string();
        assert!(
            text.contains(
                "reader-1 (id 2) waiting on Queue.get (qsize 0 of 8, 0 unfinished, waiting: 2 get"
            ),
            "{text}"
        );
        // Woken and done: the statistics go with the wait.
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        sem.release();
        event.set();
        barrier.abort();
        for r in readers {
            r.await.unwrap();
        }
        permit.await.unwrap();
        flag.await.unwrap();
        assert!(party.await.is_err());
        assert!(boucle::trace::dump().tasks().is_empty());
    });
}

#[test]
fn a_condition_wait_shows_the_condition_and_its_lock() {
    let rt = tree_runtime();
    rt.block_on(async {
        let cond = boucle::sync::Condition::new();
        let c2 = cond.clone();
        let waiter = boucle::task::Builder::new()
            .name("waiter")
            .spawn(async move {
                let guard = c2.acquire().await;
                drop(c2.wait(guard).await);
            });
        boucle::yield_now().await;
        let tree = boucle::trace::dump();
        let node = tree.tasks().iter().find(|t| t.label == "waiter").unwrap();
        assert_eq!(node.awaiting, Some(Awaiting::Sync("Condition.wait")));
        // The guard is released after the wait is queued.
        assert_eq!(
            node.statistics.as_deref(),
            Some("1 waiting, lock held, 0 waiting for the lock")
        );
        let guard = cond.acquire().await;
        cond.notify_all();
        drop(guard);
        waiter.await.unwrap();
    });
}

#[test]
fn the_printed_tree_escapes_control_characters_in_names() {
    let rt = tree_runtime();
    rt.block_on(async {
        let odd = boucle::task::Builder::new()
            .name("two\nlines\u{1b}[2J")
            .spawn(boucle::sleep(Duration::from_secs(1)));
        let watcher = boucle::task::Builder::new().name("watcher").spawn(odd);
        boucle::yield_now().await;
        let tree = boucle::trace::dump();
        // The tree keeps the name as given; its text shows it escaped, on
        // one line, in the awaited task's description too.
        assert!(tree
            .tasks()
            .iter()
            .any(|t| t.label == "two\nlines\u{1b}[2J"));
        let text = tree.to_string();
        assert!(!text.contains('\u{1b}'), "{text}");
        let row = |what: &str| text.lines().find(|l| l.contains(what)).map(str::to_owned);
        assert!(row("two\\u{a}lines\\u{1b}[2J (id").is_some(), "{text}");
        let watcher_row = row("watcher (id").unwrap();
        assert!(
            watcher_row.contains("waiting on task two\\u{a}lines\\u{1b}[2J"),
            "{text}"
        );
        watcher.await.unwrap().unwrap();
    });
}

#[test]
fn a_task_spawned_from_another_thread_is_stamped_after_the_park_it_ended() {
    // Real time: the loop parks in a 200 ms sleep; 40 ms in, another thread
    // spawns a task, which reads its own age in the tree. Stamped with the
    // time sampled before the park, it would be about 40 ms old.
    let rt = Runtime::builder().task_tree(true).build().unwrap();
    let handle = rt.handle();
    let (tx, rx) = std::sync::mpsc::channel();
    let spawner = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(40));
        let remote = handle.spawn(async move {
            let me = boucle::current_task().unwrap().id;
            let tree = boucle::trace::dump();
            let node = tree.tasks().iter().find(|t| t.id == me).unwrap();
            tx.send(node.age.unwrap()).unwrap();
        });
        drop(remote);
    });
    rt.block_on(boucle::sleep(Duration::from_millis(200)));
    spawner.join().unwrap();
    let age = rx.recv().unwrap();
    assert!(age < Duration::from_millis(20), "age {age:?}");
}

#[test]
fn without_the_tree_a_dump_still_lists_the_live_tasks() {
    let rt = Runtime::builder().virtual_time(true).build().unwrap();
    rt.block_on(async {
        let t = boucle::task::Builder::new()
            .name("lonely")
            .spawn(std::future::pending::<()>());
        boucle::yield_now().await;
        let tree = boucle::trace::dump();
        assert!(!tree.is_detailed());
        assert_eq!(tree.tasks().len(), 1);
        assert_eq!(tree.tasks()[0].polls, None);
        let text = tree.to_string();
        assert!(text.contains("lonely (id 1) waiting"), "{text}");
        assert!(text.contains("Builder::task_tree(true)"), "{text}");
        t.cancel();
    });
}

#[test]
fn metrics_count_what_the_loop_did() {
    let rt = Runtime::builder().virtual_time(true).build().unwrap();
    rt.block_on(async {
        let sleeper = boucle::spawn(boucle::sleep(Duration::from_secs(1)));
        let cancelled = boucle::spawn(std::future::pending::<()>());
        cancelled.cancel();
        let _ = cancelled.await;
        sleeper.await.unwrap();
        let blocking = boucle::spawn_blocking(|| 2).await.unwrap();
        assert_eq!(blocking, 2);
    });
    let m = rt.metrics();
    assert_eq!(m.tasks_spawned, 2);
    assert_eq!(
        (m.tasks_done, m.tasks_cancelled, m.tasks_panicked),
        (1, 1, 0)
    );
    assert_eq!(m.tasks_alive, 0);
    assert_eq!(m.timers_fired, 1);
    assert_eq!(m.timers_armed, 0);
    assert!(m.polls >= 3, "{m:?}");
    assert!(m.iterations >= 2, "{m:?}");
    assert!(
        m.remote_wakes >= 1,
        "the blocking job's result came from its thread: {m:?}"
    );
    assert!(m.blocking_threads >= 1, "{m:?}");
    assert_eq!(m.run_queue_depth, 0);
}
