//! End-to-end tests of the `boucle` binary. Virtual time only: every run is
//! instant.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn boucle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_boucle"))
        .args(args)
        .env_remove("BOUCLE_SEED")
        .output()
        .expect("the boucle binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

/// Runs and expects success; returns stdout.
fn ok(args: &[&str]) -> String {
    let out = boucle(args);
    assert!(
        out.status.success(),
        "boucle {args:?} failed: {}\n{}",
        out.status,
        stderr(&out)
    );
    stdout(&out)
}

/// The numbers of the `[...]` list on the line starting with `prefix`.
fn list_after(text: &str, prefix: &str) -> Vec<f64> {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"));
    let inner = &line[line.find('[').unwrap() + 1..line.rfind(']').unwrap()];
    if inner.is_empty() {
        return Vec::new();
    }
    inner
        .split(", ")
        .map(|x| x.parse().unwrap_or_else(|_| panic!("not a number: {x:?}")))
        .collect()
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("boucle-cli-test-{}-{name}", std::process::id()))
}

#[test]
fn demo_compares_sequential_and_concurrent() {
    let start = Instant::now();
    let text = ok(&["demo", "--seed", "7"]);
    assert!(start.elapsed() < Duration::from_secs(2), "demo too slow");
    assert!(text.contains("virtual time"), "{text}");
    assert!(text.contains("seed: 7 (from --seed)"), "{text}");
    // 1 s + 2 s: 3 s in sequence, 2 s with create_task.
    assert!(text.contains("Temps total (total time): 3.000 s"), "{text}");
    assert!(text.contains("Temps total (total time): 2.000 s"), "{text}");
    assert!(
        text.contains("=> 3.000 s séquentiel, 2.000 s concurrent"),
        "{text}"
    );
    assert!(text.contains("[1.000 s] Bonjour"));
    assert!(text.contains("[3.000 s] Monde"));
    assert!(text.contains("[2.000 s] Monde"));
    // Both timelines, one row per task, and the course-style diagrams.
    let rows = text
        .lines()
        .filter(|l| l.trim_start().starts_with("dire_apres(") && l.contains('|'))
        .count();
    assert_eq!(rows, 4, "{text}");
    assert!(text.contains("Tâche A -"), "{text}");
    assert!(text.contains("Fin"), "{text}");
    // The other parts.
    for part in [
        "2. wait_n(5, 3)",
        "3. task_wait_n(5, 3)",
        "4. measure_time",
        "5. ",
    ] {
        assert!(text.contains(part), "missing {part:?}:\n{text}");
    }
    let delays = list_after(&text, "wait_n(5, 3) = ");
    assert_eq!(delays.len(), 5);
    assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
    assert!(text.contains("same list as wait_n): oui (yes)"), "{text}");
    assert!(
        text.contains("measure_runtime() (gather! of four) = 10.000 s"),
        "{text}"
    );
}

#[test]
fn demo_is_deterministic_with_a_seed() {
    assert_eq!(ok(&["demo", "--seed", "99"]), ok(&["demo", "--seed", "99"]));
    assert_ne!(ok(&["demo", "--seed", "1"]), ok(&["demo", "--seed", "2"]));
}

#[test]
fn wait_n_is_ascending_and_reproducible() {
    let args = ["wait-n", "8", "10", "--virtual", "--seed", "42"];
    let first = ok(&args);
    let delays = list_after(&first, "wait_n(8, 10) = ");
    assert_eq!(delays.len(), 8);
    assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
    assert!(delays.iter().all(|d| (0.0..=10.0).contains(d)));
    assert!(first.contains("ascending: yes"), "{first}");
    let longest = delays[7];
    assert!(
        first.contains(&format!("loop time: {longest:.3} s (virtual time)")),
        "{first}"
    );
    assert_eq!(first, ok(&args));
    let other = ok(&["wait-n", "8", "10", "--virtual", "--seed", "43"]);
    assert_ne!(first, other);
}

#[test]
fn seed_from_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_boucle"))
        .args(["wait-n", "3", "1", "--virtual"])
        .env("BOUCLE_SEED", "42")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("seed: 42 (from BOUCLE_SEED"), "{text}");
    let flagged = ok(&["wait-n", "3", "1", "--virtual", "--seed", "42"]);
    assert_eq!(text.lines().next(), flagged.lines().next());
}

#[test]
fn random_seed_is_printed() {
    let text = ok(&["wait-n", "3", "1", "--virtual"]);
    let line = text.lines().find(|l| l.starts_with("seed: ")).unwrap();
    let seed: u64 = line["seed: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        line.contains(&format!("--seed {seed} repeats this run")),
        "{line}"
    );
    let again = ok(&["wait-n", "3", "1", "--virtual", "--seed", &seed.to_string()]);
    assert_eq!(text.lines().next(), again.lines().next());
}

#[test]
fn task_wait_n_matches_wait_n() {
    let tasks = ok(&["task-wait-n", "6", "4", "--virtual", "--seed", "5"]);
    let plain = ok(&["wait-n", "6", "4", "--virtual", "--seed", "5"]);
    let a = list_after(&tasks, "task_wait_n(6, 4) = ");
    let b = list_after(&plain, "wait_n(6, 4) = ");
    assert_eq!(a.len(), 6);
    assert_eq!(a, b);
}

#[test]
fn zero_tasks_print_an_empty_list() {
    let text = ok(&["wait-n", "0", "10", "--virtual"]);
    assert!(text.lines().any(|l| l == "wait_n(0, 10) = []"), "{text}");
    let text = ok(&["task-wait-n", "0", "3", "--virtual"]);
    assert!(
        text.lines().any(|l| l == "task_wait_n(0, 3) = []"),
        "{text}"
    );
}

#[test]
fn long_lists_show_their_ends() {
    let text = ok(&["wait-n", "50", "1", "--virtual", "--seed", "1"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("wait_n(50, 1) = "))
        .unwrap();
    assert!(line.contains(", ..., "), "{line}");
    assert!(
        text.contains("50 delays (first and last 5 shown), ascending: yes"),
        "{text}"
    );
}

#[test]
fn bad_arguments_are_one_line_and_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["wait-n", "5", "-1"], "negative"),
        (&["wait-n", "5", "nan"], "NaN"),
        (&["wait-n", "5", "inf"], "infinite"),
        (&["wait-n", "5", "-inf"], "infinite"),
        (&["wait-n", "5", "ten"], "not a number"),
        (&["wait-n", "abc", "10"], "not a whole number"),
        (&["wait-n", "2.5", "10"], "not a whole number"),
        (&["wait-n", "-3", "10"], "cannot be negative"),
        (&["task-wait-n", "100000000", "10"], "too many tasks"),
        (
            &["measure-time", "99999999999999999999999", "1"],
            "too many tasks",
        ),
        (&["wait-n", "5", "10", "--seed", "abc"], "seed"),
        (&["wait-n", "5", "10", "--seed", "-1"], "seed"),
        (
            &["wait-n", "5", "10", "--seed", "18446744073709551616"],
            "seed",
        ),
        (&["wait-random", "-0.5"], "negative"),
        (&["measure-time", "0", "1", "--virtual"], "N >= 1"),
        (&["demo", "--max-delay", "nan"], "NaN"),
        (&["demo", "--real", "--virtual"], "cannot be used with"),
        (&["wait-n", "5"], "<MAX_DELAY>"),
        (&["wait-n", "5", "1", "--frob"], "--frob"),
        (&["frob"], "frob"),
        (&[], "no subcommand"),
    ];
    for (args, needle) in cases {
        let out = boucle(args);
        assert_eq!(out.status.code(), Some(2), "boucle {args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "boucle {args:?}: {err:?}");
        assert!(
            err.starts_with("boucle: error: "),
            "boucle {args:?}: {err:?}"
        );
        assert!(
            err.contains(needle),
            "boucle {args:?}: {err:?} lacks {needle:?}"
        );
        assert!(out.stdout.is_empty(), "boucle {args:?} printed to stdout");
    }
}

#[test]
fn bad_environment_seed_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_boucle"))
        .args(["wait-n", "3", "1", "--virtual"])
        .env("BOUCLE_SEED", "xyz")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("boucle: error: invalid BOUCLE_SEED"),
        "{err}"
    );
}

#[test]
fn unwritable_trace_path_is_a_usage_error() {
    let out = boucle(&[
        "wait-n",
        "3",
        "1",
        "--virtual",
        "--chrome-trace",
        "/nonexistent-dir/trace.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot write the Chrome trace"));
}

#[test]
fn timeline_has_a_row_per_task() {
    let text = ok(&["wait-n", "4", "2", "--virtual", "--seed", "3", "--timeline"]);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Task-") && l.contains('|'))
        .collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows.iter().all(|r| r.contains('>')), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("0s")),
        "{text}"
    );

    let text = ok(&[
        "measure-time",
        "3",
        "2",
        "--virtual",
        "--seed",
        "3",
        "--timeline",
    ]);
    let rows = text.lines().filter(|l| l.starts_with("Task-")).count();
    assert_eq!(rows, 3, "{text}");
}

#[test]
fn long_timelines_are_elided() {
    let text = ok(&["task-wait-n", "100", "1", "--virtual", "--timeline"]);
    assert!(text.contains("more tasks ..."), "{text}");
    let rows = text.lines().filter(|l| l.starts_with("Task-")).count();
    assert!(rows < 30, "{rows} rows");
}

#[test]
fn chrome_trace_is_written() {
    let path = temp_path("wait-n.json");
    let text = ok(&[
        "wait-n",
        "3",
        "1",
        "--virtual",
        "--seed",
        "1",
        "--chrome-trace",
        path.to_str().unwrap(),
    ]);
    assert!(text.contains("Chrome trace written to"), "{text}");
    let json = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert!(json.starts_with("{\"traceEvents\":["), "{json}");
    assert!(json.trim_end().ends_with('}'), "{json}");
    assert!(json.contains("\"ph\":\"X\""), "{json}");
    assert_eq!(json.matches("\"cat\":\"task\"").count(), 3, "{json}");

    let path = temp_path("demo.json");
    ok(&[
        "demo",
        "--seed",
        "1",
        "--chrome-trace",
        path.to_str().unwrap(),
    ]);
    let json = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert!(json.starts_with("{\"traceEvents\":["), "{json}");
    assert!(json.contains("\"process_name\""), "{json}");
    assert!(json.contains("\"pid\":2,"), "{json}");
}

#[test]
fn measure_time_is_the_longest_delay_over_n() {
    let text = ok(&["measure-time", "5", "10", "--virtual", "--seed", "11"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("measure_time(5, 10) = "))
        .unwrap();
    let per_task: f64 = line["measure_time(5, 10) = ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let delays = list_after(
        &ok(&["wait-n", "5", "10", "--virtual", "--seed", "11"]),
        "wait_n(5, 10) = ",
    );
    assert!(
        (per_task * 5.0 - delays[4]).abs() < 0.01,
        "{per_task} vs {delays:?}"
    );
}

#[test]
fn wait_random_and_comprehension() {
    let text = ok(&["wait-random", "--virtual", "--seed", "1"]);
    assert!(text.starts_with("wait_random(10) = "), "{text}");
    let text = ok(&["wait-random", "0", "--virtual"]);
    assert!(text.starts_with("wait_random(0) = 0.000"), "{text}");
    let text = ok(&[
        "comprehension",
        "--virtual",
        "--seed",
        "2",
        "--measure-runtime",
    ]);
    assert_eq!(list_after(&text, "async_comprehension() = ").len(), 10);
    assert!(text.contains("loop time 10.000 s"), "{text}");
    assert!(text.contains("measure_runtime() = 10.000 s"), "{text}");
}

#[test]
fn help_has_examples() {
    let text = ok(&["--help"]);
    assert!(text.contains("Examples:"), "{text}");
    for sub in [
        "demo",
        "wait-random",
        "wait-n",
        "task-wait-n",
        "measure-time",
        "comprehension",
    ] {
        let text = ok(&[sub, "--help"]);
        assert!(text.contains("Examples:"), "{sub}: {text}");
        assert!(text.contains(&format!("boucle {sub}")), "{sub}: {text}");
    }
}

#[test]
fn echo_server_and_client_talk_over_tcp() {
    use std::io::{BufRead, BufReader};
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_boucle"))
        .args(["echo-server", "--port", "0", "--max-connections", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let port = first
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    let client = std::process::Command::new(env!("CARGO_BIN_EXE_boucle"))
        .args([
            "echo-client",
            "bonjour",
            "le monde",
            "--port",
            &port,
            "--repeat",
            "2",
        ])
        .output()
        .unwrap();
    assert!(client.status.success(), "{client:?}");
    let text = String::from_utf8(client.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], ["bonjour", "le monde"]);
    assert!(lines[2].starts_with("4 round trip(s), median "), "{text}");
    let status = server.wait().unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(rest.contains(": 4 line(s) echoed, closed"), "{rest}");
    assert!(rest.contains("1 connection(s) served"), "{rest}");
}

#[test]
fn echo_client_to_a_closed_port_fails_with_one_line() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_boucle"))
        .args(["echo-client", "x", "--port", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("boucle: error: cannot connect to 127.0.0.1:"),
        "{err}"
    );
}
