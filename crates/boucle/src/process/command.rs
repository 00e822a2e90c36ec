//! `Command`: std's process builder, spawning onto the loop.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use super::child::Child;
use super::reap::reap_orphans;

/// A process builder mirroring `std::process::Command` (tokio's
/// `Command`): the same methods, and [`spawn`](Command::spawn) gives a
/// [`Child`] whose pipes and exit are awaited on the loop.
///
/// # Examples
///
/// ```
/// use boucle::process::Command;
///
/// boucle::run(async {
///     let out = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]).output().await.unwrap();
///     assert_eq!(out.stdout, b"out\n");
///     assert_eq!(out.stderr, b"err\n");
///     assert_eq!(out.status.code(), Some(3));
/// });
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl Command {
    /// A command running `program` (looked up in `PATH` if it has no `/`),
    /// inheriting the environment, the directory and the standard streams.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// `sh -c command` (asyncio's `create_subprocess_shell`).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let out = boucle::process::Command::shell("echo $((6 * 7))").output().await.unwrap();
    ///     assert_eq!(out.stdout, b"42\n");
    /// });
    /// ```
    pub fn shell(command: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(command);
        c
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts from an empty environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin: `Stdio::piped()` gives [`Child::stdin`].
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// The child's stdout: `Stdio::piped()` gives [`Child::stdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// The child's stderr: `Stdio::piped()` gives [`Child::stderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group of its
    /// own, so a Ctrl-C on the terminal does not reach it).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// Kill the child (SIGKILL) when its [`Child`] is dropped while it
    /// runs (default false: it runs on, and is reaped in the background).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let child = boucle::process::Command::new("sleep")
    ///         .arg("1000")
    ///         .kill_on_drop(true)
    ///         .spawn()
    ///         .unwrap();
    ///     drop(child); // killed now, reaped in the background
    /// });
    /// ```
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The std command inside.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std command inside, mutably (for `CommandExt` settings: `uid`,
    /// `pre_exec`, ...).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the process (fork and exec happen on this thread, as in std
    /// and tokio).
    ///
    /// # Errors
    /// As `std::process::Command::spawn` (`NotFound` for a program that
    /// does not exist), with the program's name in the message.
    ///
    /// # Panics
    /// Outside a running loop.
    pub fn spawn(&mut self) -> io::Result<Child> {
        reap_orphans();
        let std = self.std.spawn().map_err(|e| {
            let program = self.std.get_program().to_string_lossy().into_owned();
            io::Error::new(e.kind(), format!("cannot run {program}: {e}"))
        })?;
        Child::new(std, self.kill_on_drop)
    }

    /// Runs the process to its end and collects its exit status, stdout
    /// and stderr. Unless set otherwise, stdin is `Stdio::null()` and
    /// stdout and stderr are piped (as std's `output`).
    ///
    /// # Examples
    /// See [`Command`].
    ///
    /// # Errors
    /// As [`spawn`](Command::spawn) and [`Child::wait_with_output`].
    pub async fn output(&mut self) -> io::Result<Output> {
        if !self.stdin_set {
            self.std.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.std.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.std.stderr(Stdio::piped());
        }
        let child = self.spawn();
        self.restore_defaults();
        child?.wait_with_output().await
    }

    /// Runs the process to its end with the standard streams as set
    /// (inherited by default); returns its exit status.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let st = boucle::process::Command::new("false").status().await.unwrap();
    ///     assert_eq!(st.code(), Some(1));
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`spawn`](Command::spawn) and [`Child::wait`].
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        child.wait().await
    }

    /// Undoes the stream settings `output` made, so the command can be
    /// reused as configured.
    fn restore_defaults(&mut self) {
        if !self.stdin_set {
            self.std.stdin(Stdio::inherit());
        }
        if !self.stdout_set {
            self.std.stdout(Stdio::inherit());
        }
        if !self.stderr_set {
            self.std.stderr(Stdio::inherit());
        }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.std, f)
    }
}
