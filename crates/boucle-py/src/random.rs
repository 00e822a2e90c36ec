//! `boucle.random`: boucle's seedable generator (wyrand, not for
//! cryptography), one per thread, as `boucle::random` gives outside a
//! Rust loop. `boucle.run(seed=...)` seeds it (and Python's `random`).

use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

/// Reseeds this thread's generator.
#[pyfunction]
fn seed(seed: u64) {
    boucle::random::seed(seed);
}

/// A float in [0, 1).
#[pyfunction]
fn random() -> f64 {
    boucle::random::random()
}

/// A float in [a, b].
#[pyfunction]
fn uniform(a: f64, b: f64) -> PyResult<f64> {
    if !(a.is_finite() && b.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "uniform: bounds must be finite numbers, got {a} and {b}"
        )));
    }
    Ok(boucle::random::uniform(a, b))
}

/// An integer in [a, b], both ends included.
#[pyfunction]
fn randint(a: i64, b: i64) -> PyResult<i64> {
    if a > b {
        return Err(PyValueError::new_err(format!(
            "randint: empty range {a}..={b}"
        )));
    }
    Ok(boucle::random::randint(a, b))
}

/// A random element of a non-empty list.
#[pyfunction]
fn choice<'py>(seq: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyAny>> {
    let items: Vec<usize> = (0..seq.len()).collect();
    match boucle::random::choice(&items) {
        Some(&i) => seq.get_item(i),
        None => Err(PyIndexError::new_err(
            "cannot choose from an empty sequence",
        )),
    }
}

/// Shuffles a list in place.
#[pyfunction]
fn shuffle(seq: &Bound<'_, PyList>) -> PyResult<()> {
    let mut order: Vec<usize> = (0..seq.len()).collect();
    boucle::random::shuffle(&mut order);
    let items: Vec<Bound<'_, PyAny>> = order
        .iter()
        .map(|&i| seq.get_item(i))
        .collect::<PyResult<_>>()?;
    for (i, item) in items.into_iter().enumerate() {
        seq.set_item(i, item)?;
    }
    Ok(())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(seed, m)?)?;
    m.add_function(wrap_pyfunction!(random, m)?)?;
    m.add_function(wrap_pyfunction!(uniform, m)?)?;
    m.add_function(wrap_pyfunction!(randint, m)?)?;
    m.add_function(wrap_pyfunction!(choice, m)?)?;
    m.add_function(wrap_pyfunction!(shuffle, m)?)?;
    Ok(())
}
