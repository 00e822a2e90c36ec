//! Seeing into the shards: each shard's trace and all of them merged
//! ([`ShardedTrace`]), per-shard metrics ([`ShardMetrics`]) and the dump of
//! every shard's unfinished tasks ([`ShardTask`]). Each is gathered by a
//! small job on every shard (the loop's state never leaves its thread) and
//! built on the public [`Trace`] API.

use std::fmt::Write;
use std::panic::Location;
use std::time::Duration;

use super::{with_local, Shard, ShardedHandle};
use crate::runtime::{Metrics, RemoteTask};
use crate::task::{TaskId, TaskState};
use crate::trace::{End, EventKind, Trace};

/// One shard's numbers at one moment: the sharded runtime's own (roots,
/// handed-off connections) and the shard loop's counters
/// ([`Metrics`], as `Runtime::metrics` gives for one loop).
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::builder().threads(2).build().unwrap();
/// rt.block_on(|shard| async move {
///     for _ in 0..=shard.id() {
///         boucle::spawn(async {}).await.unwrap();
///     }
/// });
/// let m = rt.metrics();
/// assert_eq!(m.len(), 2);
/// assert_eq!(m[1].shard.id(), 1);
/// assert_eq!(m[0].connections, 0);
/// // Each shard counts its own: its main future, what that spawned, and
/// // the job that took this snapshot.
/// assert_eq!(m[0].counters.tasks_spawned, 3);
/// assert_eq!(m[1].counters.tasks_spawned, 4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardMetrics {
    /// Which shard.
    pub shard: Shard,
    /// Unfinished tasks on the shard (its `all_tasks().len()`).
    pub tasks: usize,
    /// Futures that came in through the sharded runtime (mains,
    /// `spawn_on`, handed-off connections) and still run.
    pub roots: usize,
    /// Live connections a `HandoffListener` handed to it.
    pub connections: usize,
    /// The shard's loop time.
    pub loop_time: Duration,
    /// The shard loop's counters (tasks, polls, timers, I/O, idle and busy
    /// time, blocking pool).
    pub counters: Metrics,
}

/// One unfinished task of one shard (a `TaskInfo` that may cross threads).
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::builder().threads(2).build().unwrap();
/// let shards = rt.handle();
/// shards
///     .spawn_on_with(1, || async {
///         let sleeper = boucle::sleep(std::time::Duration::from_secs(60));
///         drop(boucle::task::Builder::new().name("sleeper").spawn(sleeper)); // detached
///     })
///     .wait()
///     .unwrap();
/// let dump = rt.all_tasks();
/// assert!(dump.iter().any(|t| t.shard == 1 && t.name.as_deref() == Some("sleeper")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardTask {
    /// The shard it runs on.
    pub shard: usize,
    /// Its id (unique within its shard).
    pub id: TaskId,
    /// Its name, if any.
    pub name: Option<String>,
    /// Its state at the snapshot.
    pub state: TaskState,
    /// True if a cancel was asked.
    pub cancel_requested: bool,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
}

impl ShardTask {
    /// `s<shard> <name or Task-id>`.
    pub fn label(&self) -> String {
        format!(
            "s{} {}",
            self.shard,
            crate::task::label(self.name.as_deref(), self.id)
        )
    }
}

/// A job on every shard; the shards that have stopped are left out.
fn on_each<T, M>(h: &ShardedHandle, job: M) -> Vec<RemoteTask<T>>
where
    M: Fn() -> T + Send + Sync + Clone + 'static,
    T: Send + 'static,
{
    (0..h.len())
        .map(|i| {
            let job = job.clone();
            h.handle(i).spawn_with(move || async move { job() })
        })
        .collect()
}

fn metrics_here() -> Option<ShardMetrics> {
    let (now, counters) = crate::runtime::context::with_current(|core| {
        (core.time().now(), crate::runtime::metrics::snapshot(core))
    })?;
    with_local(|l| ShardMetrics {
        shard: l.shard,
        // The unfinished tasks, counted (no list made to take its length).
        tasks: counters.tasks_alive as usize,
        roots: l.roots.live(),
        connections: l.fleet.loads.conns(l.shard.id()),
        loop_time: Duration::from_nanos(now),
        counters,
    })
}

fn tasks_here() -> Vec<ShardTask> {
    let shard = with_local(|l| l.shard.id()).unwrap_or(usize::MAX);
    crate::task::all_tasks()
        .into_iter()
        .map(|t| ShardTask {
            shard,
            id: t.id,
            name: t.name.as_deref().map(str::to_owned),
            state: t.state,
            cancel_requested: t.cancel_requested,
            location: t.location,
        })
        .collect()
}

pub(crate) async fn metrics(h: &ShardedHandle) -> Vec<ShardMetrics> {
    let mut out = Vec::new();
    for t in on_each(h, metrics_here) {
        if let Ok(Some(m)) = t.await {
            out.push(m);
        }
    }
    out
}

pub(crate) fn metrics_blocking(h: &ShardedHandle) -> Vec<ShardMetrics> {
    on_each(h, metrics_here)
        .into_iter()
        .filter_map(|t| t.wait().ok().flatten())
        .collect()
}

pub(crate) async fn all_tasks(h: &ShardedHandle) -> Vec<ShardTask> {
    let mut out = Vec::new();
    for t in on_each(h, tasks_here) {
        out.extend(t.await.unwrap_or_default());
    }
    out
}

pub(crate) fn all_tasks_blocking(h: &ShardedHandle) -> Vec<ShardTask> {
    on_each(h, tasks_here)
        .into_iter()
        .flat_map(|t| t.wait().unwrap_or_default())
        .collect()
}

fn trace_here() -> Option<Trace> {
    crate::trace::snapshot()
}

fn merge(h: &ShardedHandle, traces: Vec<Option<Trace>>) -> Option<ShardedTrace> {
    let origins: Vec<_> = h.fleet.entries.iter().map(|e| e.origin).collect();
    let first = origins.iter().min().copied()?;
    let mut parts = Vec::new();
    for (i, trace) in traces.into_iter().enumerate() {
        if let Some(trace) = trace {
            let offset = if h.fleet.virtual_time {
                Duration::ZERO
            } else {
                origins[i].saturating_duration_since(first)
            };
            parts.push(ShardTrace {
                shard: h.fleet.entries[i].shard,
                trace,
                offset,
            });
        }
    }
    (!parts.is_empty()).then_some(ShardedTrace { parts })
}

pub(crate) async fn trace(h: &ShardedHandle) -> Option<ShardedTrace> {
    let mut traces = Vec::new();
    for t in on_each(h, trace_here) {
        traces.push(t.await.ok().flatten());
    }
    merge(h, traces)
}

pub(crate) fn trace_blocking(h: &ShardedHandle) -> Option<ShardedTrace> {
    let traces = on_each(h, trace_here)
        .into_iter()
        .map(|t| t.wait().ok().flatten())
        .collect();
    merge(h, traces)
}

/// One shard's part of a [`ShardedTrace`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShardTrace {
    /// Which shard.
    pub shard: Shard,
    /// Its trace, in its own loop time.
    pub trace: Trace,
    /// When its loop time 0 was, after the earliest shard's (zero with
    /// virtual time: each shard's virtual clock is its own).
    pub offset: Duration,
}

/// The traces of every shard (of a runtime built with `trace(true)`): each
/// on its own, and merged on one time axis: a timeline whose rows are
/// prefixed by their shard (`s0 A`, `s1 B`), and Chrome trace JSON with one
/// process per shard.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).trace(true).threads(2).build().unwrap();
/// rt.block_on(|shard| async move {
///     let name = if shard.id() == 0 { "A" } else { "B" };
///     boucle::task::Builder::new()
///         .name(name)
///         .spawn(boucle::sleep(Duration::from_secs(1 + shard.id() as u64)))
///         .await
///         .unwrap();
/// });
/// let trace = rt.trace().unwrap();
/// assert_eq!(trace.shards().len(), 2);
/// let text = trace.timeline(30);
/// assert!(text.lines().any(|l| l.starts_with("s0 A ")), "{text}");
/// assert!(text.lines().any(|l| l.starts_with("s1 B ")), "{text}");
/// let json = trace.to_chrome_json();
/// assert!(json.contains("\"name\":\"process_name\",\"args\":{\"name\":\"shard 1")); // "shard 1 (cpu 1)" when pinned
/// ```
#[derive(Debug, Clone)]
pub struct ShardedTrace {
    parts: Vec<ShardTrace>,
}

impl ShardedTrace {
    /// Builds a merged trace from parts (e.g. kept from a shutdown report).
    pub fn from_parts(parts: Vec<ShardTrace>) -> ShardedTrace {
        ShardedTrace { parts }
    }

    /// Each shard's trace, in shard order (shards that had stopped are
    /// missing).
    pub fn shards(&self) -> &[ShardTrace] {
        &self.parts
    }

    /// Shard `shard`'s trace, if it is there.
    pub fn get(&self, shard: usize) -> Option<&Trace> {
        self.parts
            .iter()
            .find(|p| p.shard.id() == shard)
            .map(|p| &p.trace)
    }

    /// The merged time span: the latest shard's snapshot time.
    pub fn taken_at(&self) -> Duration {
        self.parts
            .iter()
            .map(|p| p.offset + p.trace.taken_at())
            .max()
            .unwrap_or_default()
    }

    /// The ASCII timeline of every shard on one axis, shard by shard, each
    /// row labelled `s<shard> <task>`; drawn as [`Trace::timeline`] draws
    /// one loop (`-` alive, `>` done, `x` cancelled, `!` panicked).
    pub fn timeline(&self, width: usize) -> String {
        let width = width.max(10);
        let total = self.taken_at().as_nanos().max(1);
        let col = |t: Duration| -> usize {
            ((t.as_nanos() * (width as u128 - 1)) / total).min(width as u128 - 1) as usize
        };
        let mut rows = Vec::new();
        for p in &self.parts {
            for span in p.trace.tasks() {
                let label = format!("s{} {}", p.shard.id(), span.label());
                let start = col(p.offset + span.start);
                let end = span.end.map(|e| col(p.offset + e));
                let mut row = String::with_capacity(width);
                for c in 0..width {
                    row.push(match end {
                        _ if c < start => ' ',
                        Some(e) if c < e => '-',
                        Some(e) if c == e => match span.outcome {
                            Some(End::Cancelled) => 'x',
                            Some(End::Panicked) => '!',
                            _ => '>',
                        },
                        Some(_) => ' ',
                        None => '-',
                    });
                }
                let life = match span.end {
                    Some(e) => format!("{:.3}s", e.saturating_sub(span.start).as_secs_f64()),
                    None => "running".to_owned(),
                };
                rows.push((label, row, life));
            }
        }
        if rows.is_empty() {
            return "(no tasks)\n".to_owned();
        }
        let lw = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        for (label, row, life) in &rows {
            let _ = writeln!(out, "{label:<lw$} |{row}| {life}");
        }
        let end = format!("{:.3}s", self.taken_at().as_secs_f64());
        let pad = width.saturating_sub(end.len() + 2);
        let _ = writeln!(out, "{:lw$}  0s{:pad$}{end}", "", "");
        out
    }

    /// Chrome trace-event JSON (opens in Perfetto): one process per shard
    /// (`pid` = shard + 1, named `shard <i>`), one row per task, a slice for
    /// its life and one per poll; times in microseconds on the merged axis.
    pub fn to_chrome_json(&self) -> String {
        let mut events: Vec<String> = Vec::new();
        for p in &self.parts {
            let pid = p.shard.id() + 1;
            let name = match p.shard.cpu() {
                Some(cpu) => format!("shard {} (cpu {cpu})", p.shard.id()),
                None => format!("shard {}", p.shard.id()),
            };
            events.push(format!(
                "{{\"ph\":\"M\",\"pid\":{pid},\"name\":\"process_name\",\"args\":{{\"name\":{}}}}}",
                json_string(&name)
            ));
            let last = p.trace.taken_at();
            for span in p.trace.tasks() {
                let tid = span.id.as_u64();
                let label = json_string(&span.label());
                events.push(format!(
                    "{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"name\":\"thread_name\",\"args\":{{\"name\":{label}}}}}"
                ));
                let end = span.end.unwrap_or(last);
                events.push(format!(
                    "{{\"ph\":\"X\",\"pid\":{pid},\"tid\":{tid},\"name\":{label},\"cat\":\"task\",\"ts\":{},\"dur\":{}}}",
                    micros(p.offset + span.start),
                    micros(end.saturating_sub(span.start))
                ));
            }
            let mut open = std::collections::HashMap::new();
            for e in p.trace.events() {
                match e.kind {
                    EventKind::PollStart => {
                        open.insert(e.task, e.time);
                    }
                    EventKind::PollEnd => {
                        if let Some(start) = open.remove(&e.task) {
                            events.push(format!(
                                "{{\"ph\":\"X\",\"pid\":{pid},\"tid\":{},\"name\":\"poll\",\"cat\":\"poll\",\"ts\":{},\"dur\":{}}}",
                                e.task.as_u64(),
                                micros(p.offset + start),
                                micros(e.time.saturating_sub(start))
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        format!(
            "{{\"traceEvents\":[{}],\"displayTimeUnit\":\"ms\"}}",
            events.join(",")
        )
    }
}

fn micros(d: Duration) -> String {
    format!("{:.3}", d.as_nanos() as f64 / 1000.0)
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Every running shard's task tree, shard by shard: what a sharded
/// runtime's SIGUSR1 prints (`dump_on_signal`).
pub(crate) async fn trees(h: &ShardedHandle) -> String {
    let job = || {
        let shard = with_local(|l| l.shard.id()).unwrap_or(usize::MAX);
        (shard, crate::trace::dump().to_string())
    };
    let mut out = String::new();
    for t in on_each(h, job) {
        if let Ok((shard, tree)) = t.await {
            let _ = writeln!(out, "shard {shard}:");
            for line in tree.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}

/// Starts the one SIGUSR1 listener of a sharded runtime, on shard 0, and
/// returns once SIGUSR1 is caught (so a signal sent right after `build`
/// cannot kill the process).
pub(crate) fn start_dump_listener(h: &ShardedHandle) {
    let all = h.clone();
    let started = h.handle(0).spawn_with(move || async move {
        let Some(sig) = crate::trace::dump::listen_usr1() else {
            return;
        };
        let listener = crate::task::Builder::new()
            .name("boucle dump on SIGUSR1")
            .spawn(crate::trace::dump::on_signal_print(sig, move || {
                let all = all.clone();
                async move { trees(&all).await }
            }));
        drop(listener);
    });
    // Err only if shard 0 is already gone: then there is nobody to dump.
    let _ = started.wait();
}
