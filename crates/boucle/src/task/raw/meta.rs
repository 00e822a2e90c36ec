//! A task's spawn location and optional name, in one word.

#![allow(unsafe_code)]

use std::panic::Location;
use std::ptr::NonNull;
use std::rc::Rc;

/// A spawn location, or a boxed (name, location) for named tasks, in one
/// word: names are rare, and the header stays small. The low bit tells
/// which (both pointees are 8-byte aligned).
#[derive(Clone, Copy)]
pub(super) struct Meta(NonNull<()>);

struct Named {
    name: Rc<str>,
    location: &'static Location<'static>,
}

const NAMED: usize = 1;

impl Meta {
    pub(super) fn new(name: Option<Rc<str>>, location: &'static Location<'static>) -> Meta {
        match name {
            None => Meta(NonNull::from(location).cast()),
            Some(name) => {
                let named: *mut Named = Box::into_raw(Box::new(Named { name, location }));
                let tagged = named.map_addr(|a| a | NAMED).cast::<()>();
                Meta(NonNull::new(tagged).expect("a Box is never null"))
            }
        }
    }

    fn named(self) -> Option<NonNull<Named>> {
        if self.0.as_ptr().addr() & NAMED == 0 {
            return None;
        }
        NonNull::new(self.0.as_ptr().map_addr(|a| a & !NAMED).cast::<Named>())
    }

    pub(super) fn location(self) -> &'static Location<'static> {
        match self.named() {
            // SAFETY: a named meta points to a live `Named` (freed only by
            // `free_named`, at release, after which the header is unused).
            Some(named) => unsafe { named.as_ref() }.location,
            // SAFETY: an unnamed meta is a `&'static Location`.
            None => unsafe { self.0.cast::<Location<'static>>().as_ref() },
        }
    }

    pub(super) fn name(self) -> Option<Rc<str>> {
        // SAFETY: as in `location`.
        self.named().map(|n| unsafe { n.as_ref() }.name.clone())
    }

    /// Frees the boxed name (at release).
    ///
    /// # Safety
    /// Called once; the meta is not used afterwards.
    pub(super) unsafe fn free_named(self) {
        if let Some(named) = self.named() {
            // SAFETY: made by `Box::leak` in `new`, freed once (caller).
            drop(unsafe { Box::from_raw(named.as_ptr()) });
        }
    }
}
