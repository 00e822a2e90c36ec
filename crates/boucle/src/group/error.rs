//! `ErrorGroup`: the errors of a failed task group (asyncio's
//! `ExceptionGroup`).

use std::fmt;

/// The errors of a failed [`TaskGroup`](crate::TaskGroup), in the order they occurred
/// (asyncio's `ExceptionGroup`). Never empty when made by a group.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// let errors = rt.block_on(async {
///     let group = boucle::TaskGroup::<(), String>::new();
///     for name in ["a", "b"] {
///         group.spawn(async move {
///             boucle::sleep(Duration::from_secs(1)).await;
///             Err(format!("{name} failed"))
///         });
///     }
///     group.join().await.unwrap_err()
/// });
/// assert_eq!(errors.len(), 2);
/// assert_eq!(errors.to_string(), "2 errors in task group:\n  - a failed\n  - b failed");
/// // `except*`: handle some errors, keep the rest.
/// let (a, rest) = errors.split(|e| e.starts_with('a'));
/// assert_eq!(a.unwrap().errors(), ["a failed"]);
/// assert_eq!(rest.unwrap().into_iter().collect::<Vec<_>>(), ["b failed"]);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ErrorGroup<E> {
    errors: Vec<E>,
}

impl<E> ErrorGroup<E> {
    pub(super) fn new(errors: Vec<E>) -> ErrorGroup<E> {
        ErrorGroup { errors }
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// True if there are none (never the case for a group's errors).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors, in the order they occurred.
    pub fn errors(&self) -> &[E] {
        &self.errors
    }

    /// Iterates over the errors.
    pub fn iter(&self) -> std::slice::Iter<'_, E> {
        self.errors.iter()
    }

    /// The errors as a `Vec`.
    pub fn into_errors(self) -> Vec<E> {
        self.errors
    }

    /// Splits the group as `except*` does: `(matched, rest)`, the errors for
    /// which `pred` is true and the others, each keeping its order; `None`
    /// where a side would be empty.
    pub fn split<F: Fn(&E) -> bool>(
        self,
        pred: F,
    ) -> (Option<ErrorGroup<E>>, Option<ErrorGroup<E>>) {
        let (matched, rest): (Vec<E>, Vec<E>) = self.errors.into_iter().partition(|e| pred(e));
        let group = |errors: Vec<E>| (!errors.is_empty()).then_some(ErrorGroup { errors });
        (group(matched), group(rest))
    }
}

impl<E> IntoIterator for ErrorGroup<E> {
    type Item = E;
    type IntoIter = std::vec::IntoIter<E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a, E> IntoIterator for &'a ErrorGroup<E> {
    type Item = &'a E;
    type IntoIter = std::slice::Iter<'a, E>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

/// `"2 errors in task group:"`, then each error on its own line as
/// `"  - error"` (continuation lines of an error are indented under it).
impl<E: fmt::Display> fmt::Display for ErrorGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{n} error{} in task group:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            let text = e.to_string();
            write!(f, "\n  - {}", text.replace('\n', "\n    "))?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug> fmt::Debug for ErrorGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ErrorGroup").field(&self.errors).finish()
    }
}

/// `source()` is the first error.
impl<E: std::error::Error + 'static> std::error::Error for ErrorGroup<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.errors
            .first()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
