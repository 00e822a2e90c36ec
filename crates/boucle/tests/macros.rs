//! `#[boucle::test]` (and through it the expansion `#[boucle::main]`
//! shares): a loop per test, virtual time, seeds, `Result` tests.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// The values `boucle::random::uniform` gives on a fresh loop seeded 42.
fn uniforms_with_seed_42() -> Vec<f64> {
    let rt = boucle::Runtime::builder().seed(42).build().unwrap();
    rt.block_on(async { (0..5).map(|_| boucle::random::uniform(0.0, 10.0)).collect() })
}

#[boucle::test]
async fn runs_the_body_on_a_loop() {
    // spawn only works inside a running loop.
    let task = boucle::spawn(async { 6 * 7 });
    assert_eq!(task.await.unwrap(), 42);
}

#[boucle::test]
async fn real_time_by_default() {
    let start = std::time::Instant::now();
    boucle::sleep(Duration::from_millis(20)).await;
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[boucle::test(virtual_time, seed = 42)]
async fn virtual_time_and_seed() {
    let real = std::time::Instant::now();
    let start = boucle::now();
    boucle::sleep(Duration::from_secs(10)).await;
    assert_eq!(boucle::now() - start, Duration::from_secs(10));
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "virtual time waited"
    );

    let here: Vec<f64> = (0..5).map(|_| boucle::random::uniform(0.0, 10.0)).collect();
    // The sleep drew nothing from the generator: these are the loop's
    // first five draws, the same as on any other loop seeded 42.
    let elsewhere = std::thread::spawn(uniforms_with_seed_42).join().unwrap();
    assert_eq!(here, elsewhere);
}

#[boucle::test(virtual_time, seed = 42)]
async fn same_seed_same_values_twice() {
    let first: Vec<f64> = (0..5).map(|_| boucle::random::uniform(0.0, 10.0)).collect();
    let second = std::thread::spawn(uniforms_with_seed_42).join().unwrap();
    assert_eq!(first, second);
    assert!(first.iter().all(|x| (0.0..=10.0).contains(x)));
}

#[boucle::test(seed = 7)]
async fn a_different_seed_gives_different_values() {
    let here: Vec<f64> = (0..5).map(|_| boucle::random::uniform(0.0, 10.0)).collect();
    let seed_42 = std::thread::spawn(uniforms_with_seed_42).join().unwrap();
    assert_ne!(here, seed_42);
}

#[boucle::test(virtual_time = false, trace = false)]
async fn flags_accept_explicit_booleans() {
    let start = std::time::Instant::now();
    boucle::sleep(Duration::from_millis(5)).await;
    assert!(start.elapsed() >= Duration::from_millis(5));
}

#[boucle::test(virtual_time, trace)]
async fn trace_records_the_tasks() {
    boucle::task::Builder::new()
        .name("A")
        .spawn(boucle::sleep(Duration::from_secs(1)))
        .await
        .unwrap();
    let trace = boucle::trace::snapshot().expect("trace is on");
    assert!(trace.tasks().iter().any(|t| t.name.as_deref() == Some("A")));
}

#[boucle::test]
async fn returns_ok() -> Result<(), String> {
    let n: u32 = "42".parse().map_err(|e| format!("{e}"))?;
    boucle::yield_now().await;
    if n == 42 {
        Ok(())
    } else {
        Err(format!("expected 42, got {n}"))
    }
}

#[boucle::test]
async fn question_mark_and_early_return() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "7".parse()?;
    if n == 7 {
        return Ok(());
    }
    unreachable!()
}

#[boucle::test]
#[should_panic(expected = "Tâche en échec")]
async fn a_panic_fails_the_test() {
    boucle::yield_now().await;
    panic!("Tâche en échec");
}

/// The expansion returns the body's value, `Err` included (the test
/// harness then fails a test that returns it).
#[boucle::main(virtual_time)]
async fn gives_err() -> Result<(), String> {
    boucle::sleep(Duration::from_secs(1)).await;
    Err("échec".to_string())
}

#[test]
fn an_err_is_returned_unchanged() {
    assert_eq!(gives_err(), Err("échec".to_string()));
}

/// Leftover tasks are cancelled when the test's loop is dropped, as
/// `asyncio.run` does. The flag outlives the loop through a thread-local.
mod leftover_tasks {
    use super::*;

    thread_local! {
        static DROPPED: Rc<Cell<bool>> = Rc::new(Cell::new(false));
    }

    struct SetOnDrop(Rc<Cell<bool>>);

    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    #[boucle::main(virtual_time)]
    async fn run_with_leftover() -> u32 {
        let flag = DROPPED.with(Rc::clone);
        let _detached = boucle::spawn(async move {
            let _guard = SetOnDrop(flag);
            boucle::sleep(Duration::from_secs(3600)).await;
        });
        boucle::yield_now().await; // let the task start and hold its guard
        assert!(!DROPPED.with(|d| d.get()));
        5
    }

    #[test]
    fn main_returns_the_value_and_cancels_leftover_tasks() {
        assert_eq!(run_with_leftover(), 5);
        assert!(DROPPED.with(|d| d.get()), "leftover task not dropped");
    }
}
