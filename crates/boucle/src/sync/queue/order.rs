//! The three orders a queue can serve its items in.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

mod sealed {
    pub trait Sealed {}
}

/// First in, first out: [`Queue`](crate::sync::Queue).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;

/// Last in, first out: [`LifoQueue`](crate::sync::LifoQueue).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifo;

/// Smallest first, as Python's `heapq`:
/// [`PriorityQueue`](crate::sync::PriorityQueue). Equal items come out in
/// no particular order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Priority;

impl sealed::Sealed for Fifo {}
impl sealed::Sealed for Lifo {}
impl sealed::Sealed for Priority {}

/// The order in which a [`BaseQueue`](super::BaseQueue) serves its items:
/// [`Fifo`], [`Lifo`] or [`Priority`]. Sealed: only these three exist.
pub trait Order<T>: sealed::Sealed {
    /// Where the items are kept.
    #[doc(hidden)]
    type Items: Default;
    /// Whether a put may hand its item straight to a waiting getter. Only
    /// in FIFO order is that item the one the getter would take anyway;
    /// other orders let the queue decide when the getter runs.
    #[doc(hidden)]
    const HAND_OFF: bool;
    #[doc(hidden)]
    fn push(items: &mut Self::Items, item: T);
    #[doc(hidden)]
    fn pop(items: &mut Self::Items) -> Option<T>;
    /// Puts back an item a cancelled `get` had been given, so that it is
    /// the next one served.
    #[doc(hidden)]
    fn put_back(items: &mut Self::Items, item: T);
    #[doc(hidden)]
    fn len(items: &Self::Items) -> usize;
}

impl<T> Order<T> for Fifo {
    type Items = VecDeque<T>;
    const HAND_OFF: bool = true;
    fn push(items: &mut VecDeque<T>, item: T) {
        items.push_back(item);
    }
    fn pop(items: &mut VecDeque<T>) -> Option<T> {
        items.pop_front()
    }
    fn put_back(items: &mut VecDeque<T>, item: T) {
        items.push_front(item);
    }
    fn len(items: &VecDeque<T>) -> usize {
        items.len()
    }
}

impl<T> Order<T> for Lifo {
    type Items = Vec<T>;
    const HAND_OFF: bool = false;
    fn push(items: &mut Vec<T>, item: T) {
        items.push(item);
    }
    fn pop(items: &mut Vec<T>) -> Option<T> {
        items.pop()
    }
    fn put_back(items: &mut Vec<T>, item: T) {
        items.push(item);
    }
    fn len(items: &Vec<T>) -> usize {
        items.len()
    }
}

impl<T: Ord> Order<T> for Priority {
    type Items = BinaryHeap<Reverse<T>>;
    const HAND_OFF: bool = false;
    fn push(items: &mut Self::Items, item: T) {
        items.push(Reverse(item));
    }
    fn pop(items: &mut Self::Items) -> Option<T> {
        items.pop().map(|Reverse(item)| item)
    }
    fn put_back(items: &mut Self::Items, item: T) {
        items.push(Reverse(item));
    }
    fn len(items: &Self::Items) -> usize {
        items.len()
    }
}
