//! `boucle files PATH... [--jobs N] [--json] [--follow-links]`: the seeds'
//! "process files in parallel, asynchronously", as a tool.
//!
//! One boucle loop walks the trees (`walk`) and feeds a bounded queue; N
//! worker tasks (`--jobs`, default 64) take files from it and hash each in
//! one blocking job (`hash`): size, line count (`\n`, as `wc -l`) and
//! SHA-256. Results print as they complete (`report`): the hash first, as
//! sha256sum prints it, or JSON lines. A file that fails is one error line
//! (stderr, or a JSON object with `error`) and the run goes on.
//!
//! Exit codes: 0 every file processed, 1 some failed, 2 bad arguments,
//! 130 interrupted (Ctrl-C prints the partial totals first).

mod hash;
mod report;
mod walk;

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use boucle::sync::Queue;

use crate::args::Failure;
use crate::trace_out::{self, TraceArgs, TraceFile};
use hash::Summary;
use report::{error_json, ok_line, Out, Tally};

/// The most `--jobs` accepted.
pub const MAX_JOBS: usize = 4096;

/// Parses `--jobs`: 1 to [`MAX_JOBS`].
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number of jobs (1 to {MAX_JOBS})"))?;
    if n == 0 || n > MAX_JOBS {
        return Err(format!("--jobs must be 1 to {MAX_JOBS} (got {n})"));
    }
    Ok(n)
}

/// Output and counts, shared by the walker and the workers (one thread).
pub struct Report {
    out: Out,
    tally: Tally,
    json: bool,
}

impl Report {
    fn ok(&mut self, path: &Path, s: &Summary) {
        self.tally.done(s.bytes);
        let line = ok_line(path, s, self.json);
        self.out.line(&line);
    }

    fn error(&mut self, path: &Path, msg: &str) {
        self.tally.failed();
        if self.json {
            let line = error_json(path, msg);
            self.out.line(&line);
        } else {
            self.tally.error_line(path, msg);
        }
    }
}

/// Runs the command.
pub fn run(
    paths: Vec<PathBuf>,
    jobs: usize,
    json: bool,
    follow_links: bool,
    trace: &TraceArgs,
) -> Result<(), Failure> {
    let mut trace_file = TraceFile::open(trace)?;
    let rt = trace_out::long_running(&trace_file)
        .max_blocking_threads(jobs)
        .build()
        .map_err(|e| Failure::runtime(format!("event loop: {e}")))?;
    let report = Rc::new(RefCell::new(Report {
        out: Out::new(),
        tally: Tally::new(),
        json,
    }));
    let r = report.clone();
    let file = &mut trace_file;
    rt.block_on(async move {
        let mut interrupt = boucle::signal::signal(boucle::signal::SignalKind::interrupt())
            .map_err(|e| Failure::runtime(format!("cannot handle Ctrl-C: {e}")))?;
        let queue = Rc::new(Queue::new(jobs * 4));
        let walker = walk::Walker {
            follow_links,
            queue: queue.clone(),
            report: r.clone(),
        };
        let mut tasks = vec![boucle::spawn(walker.run(paths))];
        for _ in 0..jobs {
            tasks.push(boucle::spawn(worker(queue.clone(), r.clone())));
        }
        let mut all = pin!(boucle::gather(tasks));
        let finished = poll_fn(|cx| {
            if all.as_mut().poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            interrupt.poll_recv(cx).map(|_| false)
        })
        .await;
        match finished {
            true => Ok(()),
            false => {
                // Ctrl-C: the partial totals, then out at once.
                let mut rep = r.borrow_mut();
                rep.out.flush();
                rep.tally.finish(true);
                // The hashing threads may still be reading: the trace so
                // far, then out without waiting for them.
                if let Err(e) = trace_out::finish(file.take(), "files", boucle::trace::snapshot()) {
                    crate::output::complain(format_args!("boucle: error: {e}"));
                }
                std::process::exit(130);
            }
        }
    })?;
    let mut rep = report.borrow_mut();
    rep.out.flush();
    rep.tally.finish(false);
    trace_out::finish(trace_file, "files", rt.trace())?;
    match rep.tally.errors {
        0 => Ok(()),
        n => Err(Failure::runtime(format!(
            "{n} path(s) could not be processed (see the error lines)"
        ))),
    }
}

async fn worker(queue: Rc<Queue<PathBuf>>, report: Rc<RefCell<Report>>) {
    while let Ok(path) = queue.get().await {
        let p = path.clone();
        let result = boucle::spawn_blocking(move || hash::hash_file(&p)).await;
        let mut rep = report.borrow_mut();
        match result {
            Ok(Ok(summary)) => rep.ok(&path, &summary),
            Ok(Err(e)) => rep.error(&path, &walk::os_message(&e)),
            Err(e) => rep.error(&path, &format!("the hashing job failed: {e}")),
        }
    }
}
