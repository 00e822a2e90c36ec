//! The course project on virtual time: exact loop times, seeded output.

use std::time::{Duration, Instant};

use boucle_course::{
    async_comprehension, async_generator, measure_runtime, measure_time, measure_time_with,
    task_wait_n, task_wait_random, wait_n, wait_random, DEFAULT_MAX_DELAY,
};

fn virtual_rt(seed: u64) -> boucle::Runtime {
    boucle::Runtime::builder()
        .virtual_time(true)
        .seed(seed)
        .build()
        .unwrap()
}

/// Runs `fut` on a virtual loop seeded `seed`; returns its output and the
/// loop time it took.
fn timed<F: std::future::Future>(seed: u64, fut: F) -> (F::Output, Duration) {
    virtual_rt(seed).block_on(async {
        let start = boucle::now();
        let out = fut.await;
        (out, boucle::now() - start)
    })
}

fn assert_ascending(delays: &[f64]) {
    if let Some(i) = delays.windows(2).position(|w| w[0] > w[1]) {
        panic!(
            "not ascending at {i}: {} > {} (of {})",
            delays[i],
            delays[i + 1],
            delays.len()
        );
    }
}

fn assert_in_range(delays: &[f64], max_delay: f64) {
    for &d in delays {
        assert!(
            (0.0..=max_delay).contains(&d),
            "{d} not in [0, {max_delay}]"
        );
    }
}

// ---- Tâche 0: wait_random ----

#[test]
fn wait_random_sleeps_the_delay_it_returns() {
    for seed in 0..20 {
        let (delay, took) = timed(seed, wait_random(DEFAULT_MAX_DELAY));
        assert_in_range(&[delay], DEFAULT_MAX_DELAY);
        assert_eq!(took, Duration::from_secs_f64(delay));
    }
}

#[test]
fn wait_random_with_small_and_zero_bounds() {
    let (delay, _) = timed(1, wait_random(0.001));
    assert_in_range(&[delay], 0.001);
    let (delay, took) = timed(1, wait_random(0.0));
    assert_eq!(delay, 0.0);
    assert_eq!(took, Duration::ZERO);
}

// ---- Tâche 1: wait_n ----

#[test]
fn wait_n_ascending_in_range_and_takes_the_longest_delay() {
    for (seed, n, max_delay) in [(1, 5, 10.0), (2, 10, 7.0), (3, 1000, 10.0), (4, 50, 0.5)] {
        let (delays, took) = timed(seed, wait_n(n, max_delay));
        assert_eq!(delays.len(), n);
        assert_in_range(&delays, max_delay);
        assert_ascending(&delays);
        let longest = delays.iter().copied().fold(0.0, f64::max);
        assert_eq!(took, Duration::from_secs_f64(longest), "seed {seed}, n {n}");
    }
}

#[test]
fn wait_n_zero_is_empty_and_instant() {
    let (delays, took) = timed(1, wait_n(0, DEFAULT_MAX_DELAY));
    assert!(delays.is_empty());
    assert_eq!(took, Duration::ZERO);
}

#[test]
fn wait_n_same_seed_same_output_different_seed_different() {
    let (a, _) = timed(42, wait_n(20, DEFAULT_MAX_DELAY));
    let (b, _) = timed(42, wait_n(20, DEFAULT_MAX_DELAY));
    let (c, _) = timed(43, wait_n(20, DEFAULT_MAX_DELAY));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn wait_n_100_000_is_fast_in_virtual_time_and_ascending() {
    let real = Instant::now();
    let (delays, took) = timed(7, wait_n(100_000, DEFAULT_MAX_DELAY));
    let real = real.elapsed();
    println!("wait_n(100_000, 10.0): {real:?} of real time, {took:?} of loop time");
    assert_eq!(delays.len(), 100_000);
    assert_ascending(&delays);
    assert_in_range(&delays, DEFAULT_MAX_DELAY);
    assert_eq!(took, Duration::from_secs_f64(delays[99_999]));
    assert!(real < Duration::from_secs(5), "took {real:?} of real time");
}

// ---- Tâche 2: measure_time ----

#[test]
fn measure_time_with_virtual_is_the_longest_delay_over_n() {
    for (seed, n, max_delay) in [(5, 1, 10.0), (6, 10, 10.0), (7, 1000, 3.0)] {
        let builder = boucle::Runtime::builder().virtual_time(true).seed(seed);
        let per_wait = measure_time_with(builder, n, max_delay);
        // The same seed gives the same delays.
        let (delays, _) = timed(seed, wait_n(n, max_delay));
        let longest = delays.iter().copied().fold(0.0, f64::max);
        assert_eq!(per_wait, longest / n as f64, "seed {seed}, n {n}");
        assert!(per_wait <= max_delay / n as f64);
    }
}

#[test]
fn measure_time_real_is_about_max_delay_over_n() {
    // 50 concurrent waits of at most 20 ms: about 20 ms in all, far less
    // than 50 waits one after the other (about 500 ms).
    let per_wait = measure_time(50, 0.020);
    println!("measure_time(50, 0.020) = {per_wait:.6} s per wait");
    assert!(per_wait > 0.0);
    assert!(per_wait < 0.005, "{per_wait} s per wait: not concurrent?");
}

#[test]
#[should_panic(expected = "measure_time: n must be at least 1")]
fn measure_time_zero_n_panics() {
    measure_time(0, 1.0);
}

#[test]
#[should_panic(expected = "measure_time_with: n must be at least 1")]
fn measure_time_with_zero_n_panics() {
    measure_time_with(boucle::Runtime::builder().virtual_time(true), 0, 1.0);
}

// ---- Tâches 3 and 4: task_wait_random, task_wait_n ----

#[test]
fn task_wait_random_is_scheduled_at_once() {
    let (delay, took) = timed(9, async {
        let task = task_wait_random(DEFAULT_MAX_DELAY);
        assert!(!task.is_done());
        task.await.unwrap()
    });
    assert_in_range(&[delay], DEFAULT_MAX_DELAY);
    assert_eq!(took, Duration::from_secs_f64(delay));
}

#[test]
fn task_wait_random_runs_without_being_awaited() {
    let ((), took) = timed(9, async {
        let task = task_wait_random(5.0);
        boucle::sleep(Duration::from_secs(6)).await;
        assert!(task.is_done(), "the task ran in the background");
    });
    assert_eq!(took, Duration::from_secs(6));
}

#[test]
fn task_wait_n_ascending_in_range_and_takes_the_longest_delay() {
    for (seed, n, max_delay) in [(1, 5, 10.0), (2, 10, 7.0), (3, 1000, 10.0)] {
        let (delays, took) = timed(seed, task_wait_n(n, max_delay));
        assert_eq!(delays.len(), n);
        assert_in_range(&delays, max_delay);
        assert_ascending(&delays);
        assert_eq!(took, Duration::from_secs_f64(delays[n - 1]));
    }
}

#[test]
fn task_wait_n_zero_and_seeds() {
    let (delays, took) = timed(1, task_wait_n(0, DEFAULT_MAX_DELAY));
    assert!(delays.is_empty());
    assert_eq!(took, Duration::ZERO);
    let (a, _) = timed(42, task_wait_n(20, DEFAULT_MAX_DELAY));
    let (b, _) = timed(42, task_wait_n(20, DEFAULT_MAX_DELAY));
    let (c, _) = timed(43, task_wait_n(20, DEFAULT_MAX_DELAY));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn task_wait_n_matches_wait_n_for_a_seed() {
    // Both draw one delay per task in spawn order, from the same generator.
    let (a, _) = timed(11, wait_n(100, DEFAULT_MAX_DELAY));
    let (b, _) = timed(11, task_wait_n(100, DEFAULT_MAX_DELAY));
    assert_eq!(a, b);
}

#[test]
fn task_wait_n_100_000_is_fast_in_virtual_time_and_ascending() {
    let real = Instant::now();
    let (delays, took) = timed(8, task_wait_n(100_000, DEFAULT_MAX_DELAY));
    let real = real.elapsed();
    println!("task_wait_n(100_000, 10.0): {real:?} of real time, {took:?} of loop time");
    assert_eq!(delays.len(), 100_000);
    assert_ascending(&delays);
    assert_eq!(took, Duration::from_secs_f64(delays[99_999]));
    assert!(real < Duration::from_secs(5), "took {real:?} of real time");
}

// ---- bad max_delay ----

macro_rules! bad_max_delay {
    ($($name:ident: $call:expr, $msg:literal;)*) => {$(
        #[test]
        #[should_panic(expected = $msg)]
        fn $name() {
            virtual_rt(1).block_on(async {
                #[allow(clippy::let_underscore_future)]
                let _ = $call;
            });
        }
    )*};
}

bad_max_delay! {
    wait_random_negative: wait_random(-1.0).await, "wait_random: max_delay must be a finite, non-negative number";
    wait_random_nan: wait_random(f64::NAN).await, "wait_random: max_delay must be a finite, non-negative number";
    wait_random_inf: wait_random(f64::INFINITY).await, "wait_random: max_delay must be a finite, non-negative number";
    wait_n_negative: wait_n(3, -1.0).await, "wait_n: max_delay must be a finite, non-negative number";
    wait_n_nan: wait_n(3, f64::NAN).await, "wait_n: max_delay must be a finite, non-negative number";
    wait_n_inf: wait_n(3, f64::INFINITY).await, "wait_n: max_delay must be a finite, non-negative number";
    wait_n_too_large: wait_n(3, 1e300).await, "wait_n: max_delay must be a finite, non-negative number";
    task_wait_random_negative: task_wait_random(-1.0), "task_wait_random: max_delay must be a finite, non-negative number";
    task_wait_random_nan: task_wait_random(f64::NAN), "task_wait_random: max_delay must be a finite, non-negative number";
    task_wait_random_inf: task_wait_random(f64::INFINITY), "task_wait_random: max_delay must be a finite, non-negative number";
    task_wait_n_negative: task_wait_n(3, -1.0).await, "task_wait_n: max_delay must be a finite, non-negative number";
    task_wait_n_nan: task_wait_n(3, f64::NAN).await, "task_wait_n: max_delay must be a finite, non-negative number";
    task_wait_n_inf: task_wait_n(3, f64::NEG_INFINITY).await, "task_wait_n: max_delay must be a finite, non-negative number";
}

#[test]
#[should_panic(expected = "measure_time: max_delay must be a finite, non-negative number")]
fn measure_time_negative() {
    measure_time(3, -1.0);
}

#[test]
#[should_panic(expected = "measure_time: max_delay must be a finite, non-negative number")]
fn measure_time_nan() {
    measure_time(3, f64::NAN);
}

#[test]
#[should_panic(expected = "measure_time: max_delay must be a finite, non-negative number")]
fn measure_time_inf() {
    measure_time(3, f64::INFINITY);
}

#[test]
#[should_panic(expected = "measure_time_with: max_delay must be a finite, non-negative number")]
fn measure_time_with_nan() {
    measure_time_with(boucle::Runtime::builder().virtual_time(true), 3, f64::NAN);
}

#[test]
fn bad_max_delay_panics_before_any_task_is_spawned() {
    virtual_rt(1).block_on(async {
        let before = boucle::all_tasks().len();
        let result = boucle::spawn(wait_n(5, f64::NAN)).await;
        assert!(result.unwrap_err().is_panic());
        // Only the task above was ever created: wait_n spawned nothing.
        let after = boucle::spawn(async {}).id().as_u64();
        assert_eq!(
            after, 2,
            "wait_n spawned tasks before checking ({before} alive before)"
        );
    });
}

// ---- async comprehension ----

#[test]
fn async_generator_yields_ten_values_one_second_apart() {
    let (times, _) = timed(3, async {
        let start = boucle::now();
        let mut values = async_generator();
        assert_eq!(values.remaining(), 10);
        let mut times = Vec::new();
        while let Some(x) = values.next().await {
            assert!((0.0..=10.0).contains(&x));
            times.push(boucle::now() - start);
        }
        assert_eq!(values.remaining(), 0);
        assert_eq!(values.next().await, None, "exhausted stays exhausted");
        times
    });
    let expected: Vec<Duration> = (1..=10).map(Duration::from_secs).collect();
    assert_eq!(times, expected);
}

#[test]
fn async_generator_is_a_stream() {
    use futures_core::Stream;
    use std::pin::Pin;

    let (values, took) = timed(3, async {
        let mut stream = async_generator();
        assert_eq!(stream.size_hint(), (10, Some(10)));
        let mut values = Vec::new();
        while let Some(x) = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
            values.push(x);
        }
        values
    });
    assert_eq!(values.len(), 10);
    assert_eq!(took, Duration::from_secs(10));
}

#[test]
fn async_comprehension_collects_ten_values_in_ten_seconds() {
    let (values, took) = timed(5, async_comprehension());
    assert_eq!(values.len(), 10);
    assert_in_range(&values, 10.0);
    assert_eq!(took, Duration::from_secs(10));
    let (again, _) = timed(5, async_comprehension());
    assert_eq!(values, again, "same seed, same values");
}

#[test]
fn measure_runtime_is_ten_seconds_not_forty() {
    let (took, outer) = timed(6, measure_runtime());
    assert_eq!(took, Duration::from_secs(10));
    assert_eq!(outer, Duration::from_secs(10));
}
