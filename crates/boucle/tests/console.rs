//! tokio-console sees boucle's tasks (feature `console`): a console-subscriber
//! server on 127.0.0.1, a boucle loop with `Builder::console(true)` and named
//! tasks, and the console-api gRPC client (the one `tokio-console` uses)
//! reading the tasks back with their names, spawn locations, polls and wakes.
//!
//! console-subscriber refuses to start unless it is compiled with
//! `--cfg tokio_unstable` or `--cfg console_without_tokio_unstable` (its
//! switch for runtimes other than tokio), so run this test as
//! scripts/test.sh does:
//! `RUSTFLAGS="--cfg console_without_tokio_unstable" cargo test -p boucle --features console --test console`.
#![cfg(feature = "console")]

use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::panic::Location;
use std::rc::Rc;
use std::time::{Duration, Instant};

use boucle::sync::{Event, Queue};
use console_api::field::{Name, Value};
use console_api::instrument::instrument_client::InstrumentClient;
use console_api::instrument::InstrumentRequest;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How long the client may take to see everything.
const DEADLINE: Duration = Duration::from_secs(5);

/// A task as console shows it.
#[derive(Debug, Default, Clone)]
struct Seen {
    name: String,
    file: String,
    line: u32,
    polls: u64,
    wakes: u64,
    self_wakes: u64,
    waker_clones: u64,
    waker_drops: u64,
    /// console saw its span close (the task ended).
    closed: bool,
}

/// What the test expects of one task, once console has caught up.
#[derive(Debug, Clone)]
struct Want {
    name: &'static str,
    location: &'static Location<'static>,
    polls: u64,
    wakes: u64,
    self_wakes: u64,
    closed: bool,
}

impl Want {
    fn met_by(&self, seen: &Seen) -> bool {
        seen.name == self.name
            && seen.file == self.location.file()
            && seen.line == self.location.line()
            && seen.polls == self.polls
            && seen.wakes == self.wakes
            && seen.self_wakes == self.self_wakes
            && seen.closed == self.closed
            // The waker model: one held while a task waits, none after.
            && seen.waker_clones.checked_sub(seen.waker_drops) == Some(u64::from(!self.closed))
    }
}

/// A free port on 127.0.0.1 (bound, read, released: console-subscriber
/// binds its own listener from an address).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Spawns a named task and gives back where it was spawned from (the
/// caller's line, which boucle records through `#[track_caller]` too).
#[track_caller]
fn spawn_named<F: Future + 'static>(
    name: &str,
    future: F,
) -> (boucle::Task<F::Output>, &'static Location<'static>) {
    let task = boucle::task::Builder::new().name(name).spawn(future);
    (task, Location::caller())
}

/// Fails with the command to use when console-subscriber was built without
/// the cfg it checks (it would panic with advice meant for tokio users).
#[allow(unexpected_cfgs)]
fn require_console_cfg() {
    if !cfg!(any(tokio_unstable, console_without_tokio_unstable)) {
        panic!(
            "console-subscriber needs `--cfg console_without_tokio_unstable`: run \
             RUSTFLAGS=\"--cfg console_without_tokio_unstable\" \
             cargo test -p boucle --features console --test console (as scripts/test.sh does)"
        );
    }
}

#[test]
fn console_lists_tasks_with_names_locations_polls_and_wakes() {
    require_console_cfg();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
    let layer = console_subscriber::ConsoleLayer::builder()
        .server_addr(addr)
        .publish_interval(Duration::from_millis(20))
        .spawn();
    let _subscriber = tracing_subscriber::registry().with(layer).set_default();

    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .console(true)
        .build()
        .unwrap();
    let outcome = rt.block_on(async move {
        let queue = Rc::new(Queue::<u32>::new(0));
        let release = Rc::new(Event::new());
        // alpha: three timer wakes, and a hand-off to beta after each.
        let q = queue.clone();
        let (alpha, alpha_at) = spawn_named("alpha", async move {
            for i in 0..3 {
                boucle::sleep(Duration::from_millis(10)).await;
                q.put_nowait(i).unwrap();
            }
        });
        // beta: woken by alpha three times, then wakes itself once.
        let q = queue.clone();
        let (beta, beta_at) = spawn_named("beta", async move {
            for want in 0..3 {
                assert_eq!(q.get().await.unwrap(), want);
            }
            boucle::yield_now().await;
        });
        // gamma: still waiting while console looks.
        let r = release.clone();
        let (gamma, gamma_at) = spawn_named("gamma", async move { r.wait().await });
        alpha.await.unwrap();
        beta.await.unwrap();
        let wants = vec![
            Want {
                name: "alpha",
                location: alpha_at,
                polls: 4,
                wakes: 3,
                self_wakes: 0,
                closed: true,
            },
            Want {
                name: "beta",
                location: beta_at,
                polls: 5,
                wakes: 4,
                self_wakes: 1,
                closed: true,
            },
            Want {
                name: "gamma",
                location: gamma_at,
                polls: 1,
                wakes: 0,
                self_wakes: 0,
                closed: false,
            },
        ];
        // The client runs on a blocking-pool thread with its own tokio
        // runtime while the loop waits for it: boucle stays live.
        let outcome = boucle::to_thread(move || watch(addr, &wants)).await;
        release.set();
        gamma.await.unwrap();
        outcome.expect("the client thread panicked")
    });
    drop(rt);
    let outcome: Result<(), String> = outcome;
    if let Err(why) = outcome {
        panic!("{why}");
    }
}

/// Connects to the console server at `addr` and reads its updates until
/// every task of `wants` is shown as wanted, or `DEADLINE` passes.
fn watch(addr: SocketAddr, wants: &[Want]) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime for the client: {e}"))?;
    rt.block_on(async {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        let started = Instant::now();
        let mut client = loop {
            match InstrumentClient::connect(format!("http://{addr}")).await {
                Ok(client) => break client,
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(format!(
                        "no console-subscriber server at {addr} after {DEADLINE:?} \
                         (did its thread fail to bind the port?): {e}"
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let mut updates = client
            .watch_updates(InstrumentRequest {})
            .await
            .map_err(|e| format!("watch_updates: {e}"))?
            .into_inner();
        let mut tasks: HashMap<u64, Seen> = HashMap::new();
        loop {
            let shown: Vec<&Seen> = tasks.values().collect();
            if wants.iter().all(|w| shown.iter().any(|s| w.met_by(s))) {
                return Ok(());
            }
            let update = match tokio::time::timeout_at(deadline, updates.message()).await {
                Ok(Ok(Some(update))) => update,
                Ok(Ok(None)) => return Err("the console server ended the stream".into()),
                Ok(Err(e)) => return Err(format!("reading updates: {e}")),
                Err(_) => {
                    let mut shown: Vec<&Seen> = tasks.values().collect();
                    shown.sort_by(|a, b| a.name.cmp(&b.name));
                    return Err(format!(
                        "after {:?}, console shows {shown:#?}\nbut the test wants {wants:#?}",
                        started.elapsed()
                    ));
                }
            };
            let Some(task_update) = update.task_update else {
                continue;
            };
            for task in task_update.new_tasks {
                let Some(id) = task.id.map(|id| id.id) else {
                    continue;
                };
                let seen = tasks.entry(id).or_default();
                for field in &task.fields {
                    if let (Some(Name::StrName(name)), Some(value)) = (&field.name, &field.value) {
                        if name == "task.name" {
                            seen.name = match value {
                                Value::DebugVal(v) | Value::StrVal(v) => v.clone(),
                                other => format!("{other:?}"),
                            };
                        }
                    }
                }
                if let Some(location) = task.location {
                    seen.file = location.file.unwrap_or_default();
                    seen.line = location.line.unwrap_or_default();
                }
            }
            for (id, stats) in task_update.stats_update {
                let seen = tasks.entry(id).or_default();
                seen.polls = stats.poll_stats.map_or(0, |p| p.polls);
                seen.wakes = stats.wakes;
                seen.self_wakes = stats.self_wakes;
                seen.waker_clones = stats.waker_clones;
                seen.waker_drops = stats.waker_drops;
                seen.closed = stats.dropped_at.is_some();
            }
        }
    })
}
