//! `Child`: a running child process, its pipes, and its exit.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

use super::pipes::{ChildStderr, ChildStdin, ChildStdout};
use super::reap::Reaper;
use crate::signal::SignalKind;

/// A child process (tokio's `Child`, asyncio's `Process`), from
/// [`Command::spawn`](super::Command::spawn).
///
/// Its exit is seen through a pidfd in the loop's reactor (a SIGCHLD
/// listener where pidfds are missing), never a thread. A `Child` dropped
/// while the process runs does not leave a zombie: it is reaped in the
/// background (see the [module](super)); with
/// [`kill_on_drop`](super::Command::kill_on_drop) it is killed first.
///
/// # Examples
///
/// ```
/// use std::process::Stdio;
/// use boucle::process::Command;
///
/// boucle::run(async {
///     let mut child = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let mut stdin = child.stdin.take().unwrap();
///     stdin.write_all(b"miaou").await.unwrap();
///     drop(stdin); // cat sees the end of its input
///     let mut out = String::new();
///     child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
///     assert_eq!(out, "miaou");
///     assert!(child.wait().await.unwrap().success());
/// });
/// ```
pub struct Child {
    /// The child's stdin, if it was `Stdio::piped()`.
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
    reaper: Option<Reaper>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
}

impl Child {
    pub(crate) fn new(mut std: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        let stdin = std.stdin.take().map(ChildStdin::from_std).transpose();
        let stdout = std.stdout.take().map(ChildStdout::from_std).transpose();
        let stderr = std.stderr.take().map(ChildStderr::from_std).transpose();
        let reaper = Reaper::new(std);
        match (stdin, stdout, stderr, reaper) {
            (Ok(stdin), Ok(stdout), Ok(stderr), Ok(reaper)) => Ok(Child {
                stdin,
                stdout,
                stderr,
                reaper: Some(reaper),
                status: None,
                kill_on_drop,
            }),
            (a, b, c, d) => {
                let e = [a.err(), b.err(), c.err()]
                    .into_iter()
                    .flatten()
                    .next()
                    .or_else(|| {
                        d.as_ref()
                            .err()
                            .map(|e| io::Error::new(e.kind(), e.to_string()))
                    });
                // The process runs: kill it rather than leave it unwatched.
                if let Ok(mut r) = d {
                    let _ = r.std_mut().kill();
                    r.reap_in_background();
                }
                Err(e.unwrap_or_else(|| io::Error::other("cannot watch the child")))
            }
        }
    }

    /// The process id; `None` once its exit status was collected (the id
    /// may then belong to another process).
    pub fn id(&self) -> Option<u32> {
        match (&self.reaper, self.status) {
            (Some(r), None) => Some(r.std().id()),
            _ => None,
        }
    }

    /// Whether the exit is seen through a pidfd (else through SIGCHLD).
    pub fn uses_pidfd(&self) -> bool {
        self.reaper.as_ref().is_some_and(Reaper::uses_pidfd)
    }

    /// Waits for the child to exit; closes its stdin first (so a child
    /// that reads its input to the end can finish), as std does.
    ///
    /// # Cancel safety
    /// Cancel-safe: wait again later.
    ///
    /// # Errors
    /// As `waitpid(2)`.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.stdin = None;
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// Polls for the exit status.
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(status) = self.status {
            return Poll::Ready(Ok(status));
        }
        let reaper = self.reaper.as_mut().expect("present until drop");
        let status = std::task::ready!(reaper.poll_exit(cx))?;
        self.status = Some(status);
        Poll::Ready(Ok(status))
    }

    /// The exit status if the child has exited, without waiting.
    ///
    /// # Errors
    /// As `waitpid(2)`.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let status = self
            .reaper
            .as_mut()
            .expect("present until drop")
            .try_wait()?;
        self.status = status;
        Ok(status)
    }

    /// Sends SIGKILL, without waiting (tokio's `start_kill`). Nothing
    /// happens if the child has exited already.
    ///
    /// # Errors
    /// As `kill(2)`.
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        self.reaper
            .as_mut()
            .expect("present until drop")
            .std_mut()
            .kill()
    }

    /// Sends SIGKILL and waits for the exit.
    ///
    /// # Errors
    /// As `kill(2)` and `waitpid(2)`.
    pub async fn kill(&mut self) -> io::Result<ExitStatus> {
        self.start_kill()?;
        self.wait().await
    }

    /// Sends `signal` (SIGTERM, say), without waiting. Nothing happens if
    /// the child has exited already.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use boucle::{process::Command, signal::SignalKind};
    ///
    /// boucle::run(async {
    ///     let mut child = Command::new("sleep").arg("60").spawn().unwrap();
    ///     child.send_signal(SignalKind::terminate()).unwrap();
    ///     assert_eq!(child.wait().await.unwrap().signal(), Some(15));
    /// });
    /// ```
    ///
    /// # Errors
    /// `InvalidInput` for a signal number that is not a signal; as `kill(2)`.
    pub fn send_signal(&mut self, signal: SignalKind) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        let sig = rustix::process::Signal::from_named_raw(signal.as_raw()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{signal} is not a signal"),
            )
        })?;
        let pid = self
            .id()
            .and_then(|p| rustix::process::Pid::from_raw(p as i32));
        let pid = pid.ok_or_else(|| io::Error::other("the child has no pid"))?;
        Ok(rustix::process::kill_process(pid, sig)?)
    }

    /// Waits for the exit while reading stdout and stderr to their end
    /// (the ones that are piped), as std's `wait_with_output`.
    ///
    /// # Errors
    /// As reading the pipes and `waitpid(2)`.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        self.stdin = None;
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let read_out = async {
            if let Some(s) = &mut stdout {
                s.read_to_end(&mut out).await?;
            }
            io::Result::Ok(())
        };
        let read_err = async {
            if let Some(s) = &mut stderr {
                s.read_to_end(&mut err).await?;
            }
            io::Result::Ok(())
        };
        let (a, b, status) = crate::gather!(read_out, read_err, self.wait());
        a?;
        b?;
        Ok(Output {
            status: status?,
            stdout: out,
            stderr: err,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut reaper) = self.reaper.take() else {
            return;
        };
        if self.status.is_some() || matches!(reaper.try_wait(), Ok(Some(_))) {
            return;
        }
        if self.kill_on_drop {
            let _ = reaper.std_mut().kill();
        }
        reaper.reap_in_background();
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}
