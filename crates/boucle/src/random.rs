//! Random numbers from the running loop's generator (Python's `random`).
//!
//! Each loop owns one generator, seeded by `Builder::seed`, else by the
//! `BOUCLE_SEED` environment variable, else randomly (`Runtime::seed` tells
//! the seed used). With virtual time, the same seed gives the same schedule
//! and the same output. Outside a loop, a per-thread generator is used.
//!
//! **Not for cryptography**: this is a fast, predictable generator
//! (wyrand). Use a CSPRNG (the `getrandom` or `rand` crates) for secrets,
//! as Python's docs send you to `secrets`.
//!
//! # Examples
//!
//! ```
//! let rt = boucle::Runtime::builder().seed(7).build().unwrap();
//! let a = rt.block_on(async { boucle::random::uniform(0.0, 10.0) });
//! let rt = boucle::Runtime::builder().seed(7).build().unwrap();
//! let b = rt.block_on(async { boucle::random::uniform(0.0, 10.0) });
//! assert_eq!(a, b);
//! assert!((0.0..=10.0).contains(&a));
//! ```

use std::cell::RefCell;
use std::fmt;

use crate::runtime::context;

thread_local! {
    static FALLBACK: RefCell<fastrand::Rng> = RefCell::new(fastrand::Rng::new());
}

fn with_rng<R>(f: impl FnOnce(&mut fastrand::Rng) -> R) -> R {
    let mut f = Some(f);
    if let Some(r) = context::with_current(|core| {
        let f = f.take().expect("called once");
        f(&mut core.random().borrow_mut())
    }) {
        return r;
    }
    let f = f.take().expect("not called yet");
    FALLBACK.with(|rng| f(&mut rng.borrow_mut()))
}

/// Reseeds the running loop's generator (Python's `random.seed`).
pub fn seed(seed: u64) {
    with_rng(|rng| rng.seed(seed));
}

/// A float in `[0, 1)` (Python's `random.random`).
pub fn random() -> f64 {
    with_rng(|rng| rng.f64())
}

/// A float in `[a, b]` (Python's `random.uniform`: `a + (b - a) * random()`;
/// `b` may be below `a`).
///
/// # Panics
/// If `a` or `b` is NaN or infinite.
pub fn uniform(a: f64, b: f64) -> f64 {
    assert!(
        a.is_finite() && b.is_finite(),
        "boucle::random::uniform: bounds must be finite numbers, got {a} and {b}"
    );
    a + (b - a) * random()
}

/// An integer in `[a, b]`, both ends included (Python's `random.randint`).
///
/// # Panics
/// If `a > b`.
pub fn randint(a: i64, b: i64) -> i64 {
    assert!(a <= b, "boucle::random::randint: empty range {a}..={b}");
    with_rng(|rng| rng.i64(a..=b))
}

/// A random element, or `None` for an empty slice (Python's
/// `random.choice` raises `IndexError` instead).
pub fn choice<T>(seq: &[T]) -> Option<&T> {
    if seq.is_empty() {
        return None;
    }
    let i = with_rng(|rng| rng.usize(..seq.len()));
    seq.get(i)
}

/// `k` distinct elements (distinct positions) in random order, without
/// replacement (Python's `random.sample`).
///
/// # Errors
/// [`SampleError`] if `k` is larger than the population.
pub fn sample<T: Clone>(population: &[T], k: usize) -> Result<Vec<T>, SampleError> {
    if k > population.len() {
        return Err(SampleError {
            k,
            len: population.len(),
        });
    }
    let mut idx: Vec<usize> = (0..population.len()).collect();
    with_rng(|rng| {
        // Partial Fisher-Yates: the first k positions are the sample.
        for i in 0..k {
            let j = rng.usize(i..idx.len());
            idx.swap(i, j);
        }
    });
    Ok(idx[..k].iter().map(|&i| population[i].clone()).collect())
}

/// Shuffles in place (Python's `random.shuffle`).
pub fn shuffle<T>(seq: &mut [T]) {
    with_rng(|rng| rng.shuffle(seq));
}

/// `sample` asked for more elements than the population has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleError {
    /// How many were asked for.
    pub k: usize,
    /// How many there are.
    pub len: usize,
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sample larger than population: asked for {} of {}",
            self.k, self.len
        )
    }
}

impl std::error::Error for SampleError {}
