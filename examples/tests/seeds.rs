//! Every seed example on a virtual clock: the exact lines, in the exact
//! order, each at its exact loop time.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use boucle_examples::{
    dire_apres_create_task, dire_apres_sequentiel, dire_apres_synchrone,
    fonction_sync_coroutine_async, gather_resultats, perf_counter, run, sleep,
    tache1_tache2_gather, tache_abc_gather_et_create_task, wait_random, Console,
};

/// What an example did on a virtual loop.
struct Run<T> {
    /// Each printed line and the loop time since the start at which it was
    /// printed.
    lines: Vec<(Duration, String)>,
    /// Loop time from start to finish.
    total: Duration,
    output: T,
}

/// Runs an example on a fresh virtual loop seeded `seed`.
fn virtual_run<Fut: Future>(seed: u64, example: impl FnOnce(Console) -> Fut) -> Run<Fut::Output> {
    let (console, captured) = Console::capture();
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .seed(seed)
        .build()
        .unwrap();
    let (output, start, total) = rt.block_on(async {
        let start = boucle::now();
        let output = example(console).await;
        (output, start, boucle::now() - start)
    });
    Run {
        lines: captured.stamped_since(start),
        total,
        output,
    }
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn lines(expected: &[(u64, &str)]) -> Vec<(Duration, String)> {
    expected
        .iter()
        .map(|&(t, text)| (s(t), text.to_string()))
        .collect()
}

/// A blocking sleep for the synchronous examples: prints a marker on the
/// console instead of blocking, and adds to a fake clock.
fn fake_sleep(console: &Console, slept: &Rc<RefCell<Vec<Duration>>>) -> impl Fn(Duration) {
    let console = console.clone();
    let slept = Rc::clone(slept);
    move |d| {
        console
            .println(format_args!("<time.sleep({})>", d.as_secs()))
            .unwrap();
        slept.borrow_mut().push(d);
    }
}

// ---- seed 000 ----

#[test]
fn s000_wait_random_prints_the_delay_it_slept() {
    let run = virtual_run(42, wait_random::main);
    let delay = run.output.unwrap();
    assert!((0.0..=wait_random::MAX_DELAY).contains(&delay));
    assert_eq!(run.total, Duration::from_secs_f64(delay));
    assert_eq!(run.lines, [(run.total, delay.to_string())]);
    // Printed as Python prints a float: shortest round-trip form.
    assert_eq!(run.lines[0].1.parse::<f64>().unwrap(), delay);

    let again = virtual_run(42, wait_random::main);
    assert_eq!(again.lines, run.lines, "same seed, same delay");
    let other = virtual_run(43, wait_random::main);
    assert_ne!(other.lines, run.lines, "another seed, another delay");
}

// ---- seed 001 ----

#[test]
fn s001_perf_counter_prints_one_second() {
    let run = virtual_run(1, |c| perf_counter::main(c, boucle::now));
    assert_eq!(run.output.unwrap(), s(1));
    assert_eq!(run.lines, lines(&[(1, "Temps total : 1.00s")]));
    assert_eq!(run.total, s(1));
}

#[test]
fn s001_perf_counter_with_the_real_clock_on_virtual_time() {
    // With perf_counter's clock (Instant::now) a virtual second passes in
    // (almost) no real time: the reason the tests pass boucle::now.
    let run = virtual_run(1, |c| perf_counter::main(c, Instant::now));
    assert!(run.output.unwrap() < Duration::from_millis(500));
    assert_eq!(run.lines, lines(&[(1, "Temps total : 0.00s")]));
}

// ---- seed 002 ----

#[test]
fn s002_fonction_sync_blocks_then_coroutine_async_waits() {
    let (console, captured) = Console::capture();
    let slept = Rc::new(RefCell::new(Vec::new()));
    fonction_sync_coroutine_async::fonction_sync(&console, &fake_sleep(&console, &slept)).unwrap();
    assert_eq!(
        captured.lines(),
        ["<time.sleep(2)>", "Fin de la fonction synchrone"]
    );
    assert_eq!(*slept.borrow(), [s(2)]);

    let run = virtual_run(1, fonction_sync_coroutine_async::coroutine_async);
    run.output.unwrap();
    assert_eq!(run.lines, lines(&[(2, "Fin de la coroutine asynchrone")]));
    assert_eq!(run.total, s(2));
}

#[test]
fn s002_tache1_tache2_gather_sortie_probable() {
    let run = virtual_run(1, tache1_tache2_gather::main);
    run.output.unwrap();
    assert_eq!(
        run.lines,
        lines(&[
            (0, "Tâche 1 commence"),
            (0, "Tâche 2 commence"),
            (1, "Tâche 2 terminée"),
            (2, "Tâche 1 terminée"),
        ])
    );
    assert_eq!(run.total, s(2), "concurrent: 2 s, not 3");
}

#[test]
fn s002_sleep_waits_two_seconds() {
    let run = virtual_run(1, sleep::exemple_sleep);
    run.output.unwrap();
    assert_eq!(
        run.lines,
        lines(&[(0, "Début de l'attente"), (2, "Fin de l'attente")])
    );
    assert_eq!(run.total, s(2));
}

#[test]
fn s002_gather_resultats_in_argument_order() {
    let run = virtual_run(1, gather_resultats::main);
    assert_eq!(run.output.unwrap(), ["Résultat 1", "Résultat 2"]);
    assert_eq!(run.lines, lines(&[(2, "['Résultat 1', 'Résultat 2']")]));
    assert_eq!(run.total, s(2), "concurrent: 2 s, not 3");
}

#[test]
fn s002_run_debut_et_fin_du_programme() {
    let run = virtual_run(1, run::main);
    run.output.unwrap();
    assert_eq!(
        run.lines,
        lines(&[(0, "Début du programme"), (1, "Fin du programme")])
    );
    assert_eq!(run.total, s(1));
}

#[test]
fn s002_run_in_real_time_with_boucle_run() {
    // What the example binary does: a real-time loop.
    let (console, captured) = Console::capture();
    let start = Instant::now();
    boucle::run(run::main(console)).unwrap();
    let took = start.elapsed();
    assert_eq!(captured.lines(), ["Début du programme", "Fin du programme"]);
    assert!(took >= s(1), "{took:?}");
    assert!(took < s(5), "{took:?}");
    let all = captured.all();
    assert!(all[1].at - all[0].at >= s(1));
}

// ---- seed 003 ----

#[test]
fn s003_dire_apres_sequentiel_takes_three_seconds() {
    let run = virtual_run(1, dire_apres_sequentiel::main);
    run.output.unwrap();
    assert_eq!(
        run.lines,
        lines(&[(0, "Démarré"), (1, "Bonjour"), (3, "Monde"), (3, "Terminé")])
    );
    assert_eq!(run.total, s(3));
}

#[test]
fn s003_dire_apres_synchrone_blocks_three_seconds() {
    let (console, captured) = Console::capture();
    let slept = Rc::new(RefCell::new(Vec::new()));
    dire_apres_synchrone::main(&console, &fake_sleep(&console, &slept)).unwrap();
    assert_eq!(
        captured.lines(),
        [
            "Démarré",
            "<time.sleep(1)>",
            "Bonjour",
            "<time.sleep(2)>",
            "Monde",
            "Terminé"
        ]
    );
    assert_eq!(slept.borrow().iter().sum::<Duration>(), s(3));
}

#[test]
fn s003_dire_apres_create_task_takes_two_seconds() {
    let run = virtual_run(1, dire_apres_create_task::main);
    run.output.unwrap();
    assert_eq!(
        run.lines,
        lines(&[(0, "Démarré"), (1, "Bonjour"), (2, "Monde"), (2, "Terminé")])
    );
    assert_eq!(run.total, s(2), "2 s instead of 3");
}

// ---- seed 004 ----

#[test]
fn s004_tache_abc_gather_then_create_task() {
    let run = virtual_run(1, tache_abc_gather_et_create_task::main);
    let (gathered, (x, y)) = run.output.unwrap();
    assert_eq!(gathered, ["Résultat A", "Résultat B", "Résultat C"]);
    assert_eq!((x.as_str(), y.as_str()), ("Résultat X", "Résultat Y"));
    assert_eq!(
        run.lines,
        lines(&[
            (0, "[A] Début"),
            (0, "[B] Début"),
            (0, "[C] Début"),
            (1, "[A] Fin"),
            (1, "[C] Fin"),
            (2, "[B] Fin"),
            (
                2,
                "Résultats gather: ['Résultat A', 'Résultat B', 'Résultat C']"
            ),
            (2, ""),
            (2, "[X] Début"),
            (2, "[Y] Début"),
            (3, "[X] Fin"),
            (4, "[Y] Fin"),
            (4, "Résultats tasks: Résultat X, Résultat Y"),
        ])
    );
    assert_eq!(
        run.total,
        s(4),
        "2 s for the gather, then 2 s for the tasks"
    );
}

// ---- every example: same seed, same output ----

#[test]
fn every_example_is_deterministic_on_virtual_time() {
    fn twice<Fut: Future>(example: impl Fn(Console) -> Fut) {
        let a = virtual_run(7, &example);
        let b = virtual_run(7, &example);
        assert_eq!(a.lines, b.lines);
        assert_eq!(a.total, b.total);
    }
    twice(wait_random::main);
    twice(|c| perf_counter::main(c, boucle::now));
    twice(fonction_sync_coroutine_async::coroutine_async);
    twice(tache1_tache2_gather::main);
    twice(sleep::exemple_sleep);
    twice(gather_resultats::main);
    twice(run::main);
    twice(dire_apres_sequentiel::main);
    twice(dire_apres_create_task::main);
    twice(tache_abc_gather_et_create_task::main);
}
