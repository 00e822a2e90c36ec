//! `Builder::exception_handler`: panics nobody observes go to the handler
//! with the task's name and spawn location (asyncio's exception handler).

use std::cell::RefCell;
use std::rc::Rc;

use boucle::{ExceptionContext, Runtime};

type Log = Rc<RefCell<Vec<(Option<String>, String, String)>>>;

fn logging_runtime() -> (Runtime, Log) {
    let log: Log = Rc::default();
    let l = log.clone();
    let rt = Runtime::builder()
        .exception_handler(move |cx: &ExceptionContext<'_>| {
            let task = cx.task();
            l.borrow_mut().push((
                task.and_then(|t| t.name.as_deref().map(str::to_owned)),
                task.map(|t| t.location.to_string()).unwrap_or_default(),
                cx.panic_message().unwrap_or("?").to_owned(),
            ));
            assert_eq!(cx.message(), "a task panicked and nobody awaited it");
        })
        .build()
        .unwrap();
    (rt, log)
}

#[test]
fn a_detached_panic_goes_to_the_handler_with_name_and_location() {
    let (rt, log) = logging_runtime();
    rt.block_on(async {
        drop(
            boucle::task::Builder::new()
                .name("lonely")
                .spawn(async { panic!("nobody listens") }),
        );
        boucle::yield_now().await;
        boucle::yield_now().await;
    });
    let log = log.borrow();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].0.as_deref(), Some("lonely"));
    assert!(log[0].1.contains("rt_exception.rs:"), "{:?}", log[0]);
    assert_eq!(log[0].2, "nobody listens");
}

#[test]
fn a_finished_panic_whose_handle_is_dropped_unread_goes_to_the_handler() {
    let (rt, log) = logging_runtime();
    rt.block_on(async {
        let t = boucle::spawn(async { std::panic::panic_any(String::from("late drop")) });
        boucle::yield_now().await;
        assert!(t.is_done());
        assert!(log.borrow().is_empty(), "a handle still holds it");
        drop(t);
    });
    assert_eq!(log.borrow()[0].2, "late drop");
}

#[test]
fn an_awaited_panic_is_not_reported() {
    let (rt, log) = logging_runtime();
    rt.block_on(async {
        let err = boucle::spawn(async { panic!("seen") }).await.unwrap_err();
        assert!(err.is_panic());
    });
    assert!(log.borrow().is_empty());
}

#[test]
fn the_handler_can_downcast_the_payload() {
    let seen = Rc::new(RefCell::new(None));
    let s = seen.clone();
    let rt = Runtime::builder()
        .exception_handler(move |cx: &ExceptionContext<'_>| {
            *s.borrow_mut() = cx.payload().downcast_ref::<u32>().copied();
        })
        .build()
        .unwrap();
    rt.block_on(async {
        drop(boucle::spawn(async { std::panic::panic_any(7u32) }));
        boucle::yield_now().await;
    });
    assert_eq!(*seen.borrow(), Some(7));
}

#[test]
fn a_panicking_handler_does_not_take_the_loop_down() {
    let rt = Runtime::builder()
        .exception_handler(|_: &ExceptionContext<'_>| panic!("handler bug"))
        .build()
        .unwrap();
    let v = rt.block_on(async {
        drop(boucle::spawn(async { panic!("first") }));
        boucle::yield_now().await;
        boucle::yield_now().await;
        41 + 1
    });
    assert_eq!(v, 42);
}
