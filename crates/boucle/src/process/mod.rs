//! Child processes on the loop (asyncio's `create_subprocess_exec` /
//! `create_subprocess_shell`, tokio's `tokio::process`).
//!
//! [`Command`] mirrors `std::process::Command`; [`Command::spawn`] gives a
//! [`Child`] whose `stdin`, `stdout` and `stderr` are async pipes (pipes have
//! readiness: they are registered in the reactor like sockets) and whose
//! exit is awaited with [`Child::wait`]. No thread per child: the exit is
//! seen through a pidfd in the reactor (Linux >= 5.3), or, where pidfds are
//! not available, through SIGCHLD (`boucle::signal`). The environment
//! variable `BOUCLE_NO_PIDFD=1` forces that fallback (to test it).
//!
//! A child dropped while it runs is reaped when it exits, never left a
//! zombie: a small task of the loop keeps waiting for it; if the loop ends
//! first, the child joins a process-wide list that the next `spawn` (in any
//! loop) and every child exit sweep. One that outlives them all is reaped
//! by init when this process exits.
//!
//! | asyncio                                   | boucle::process                  |
//! |-------------------------------------------|----------------------------------|
//! | `create_subprocess_exec(prog, *args, stdout=PIPE)` | `Command::new(prog).args(args).stdout(Stdio::piped()).spawn()` |
//! | `create_subprocess_shell(cmd)`            | [`Command::shell`], [`create_subprocess_shell`] |
//! | `await proc.wait()`                       | [`Child::wait`]                  |
//! | `await proc.communicate()`                | [`Child::wait_with_output`], [`Command::output`] |
//! | `proc.kill()`, `proc.send_signal(s)`      | [`Child::start_kill`], [`Child::send_signal`] |
//! | `proc.pid`, `proc.returncode`             | [`Child::id`], [`Child::try_wait`] |
//!
//! # Examples
//!
//! ```
//! use std::process::Stdio;
//! use boucle::process::Command;
//!
//! boucle::run(async {
//!     let mut child = Command::new("seq").arg("3").stdout(Stdio::piped()).spawn().unwrap();
//!     let mut out = String::new();
//!     child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
//!     assert_eq!(out, "1\n2\n3\n");
//!     assert!(child.wait().await.unwrap().success());
//! });
//! ```

mod child;
mod command;
mod pipes;
mod reap;

use std::ffi::OsStr;
use std::io;

pub use child::Child;
pub use command::Command;
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};

/// asyncio's `create_subprocess_exec(program, *args)`: starts `program`
/// with `args`, its standard streams inherited. For pipes, use
/// [`Command`] with `Stdio::piped()`.
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let mut child = boucle::process::create_subprocess_exec("true", [""; 0]).await.unwrap();
///     assert!(child.wait().await.unwrap().success());
/// });
/// ```
///
/// # Errors
/// As [`Command::spawn`].
pub async fn create_subprocess_exec<I, S>(program: impl AsRef<OsStr>, args: I) -> io::Result<Child>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(program).args(args).spawn()
}

/// asyncio's `create_subprocess_shell(cmd)`: starts `sh -c cmd`, its
/// standard streams inherited. For pipes, use [`Command::shell`].
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let mut child = boucle::process::create_subprocess_shell("exit 4").await.unwrap();
///     assert_eq!(child.wait().await.unwrap().code(), Some(4));
/// });
/// ```
///
/// # Errors
/// As [`Command::spawn`].
pub async fn create_subprocess_shell(command: impl AsRef<OsStr>) -> io::Result<Child> {
    Command::shell(command).spawn()
}
