//! Event-trace tests: record the life-cycle events of a small program and
//! assert the exact sequence (loop times included, virtual clock).

use std::time::Duration;

use boucle::trace::{End, EventKind};
use boucle::Runtime;

fn short(kind: &EventKind) -> String {
    match kind {
        EventKind::Created { name, parent, .. } => format!(
            "created {} by {}",
            name.as_deref().unwrap_or("-"),
            parent.map_or("main".to_string(), |p| p.to_string())
        ),
        EventKind::Scheduled { by } => format!("scheduled by {by:?}"),
        EventKind::PollStart => "poll".into(),
        EventKind::Waits { on } => format!("waits {on:?}"),
        EventKind::PollEnd => "pending/ret".into(),
        EventKind::TimerFired => "timer fired".into(),
        EventKind::IoReady => "io ready".into(),
        EventKind::Done => "done".into(),
        EventKind::Cancelled => "cancelled".into(),
        EventKind::Panicked => "panicked".into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn exact_event_sequence() {
    let rt = Runtime::builder()
        .virtual_time(true)
        .trace(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let a = boucle::task::Builder::new().name("A").spawn(async {
            boucle::sleep(Duration::from_secs(1)).await;
            boucle::task::Builder::new()
                .name("C")
                .spawn(async {})
                .await
                .unwrap();
        });
        let b = boucle::task::Builder::new()
            .name("B")
            .spawn(boucle::sleep(Duration::from_secs(5)));
        a.await.unwrap();
        b.cancel();
        assert!(b.await.unwrap_err().is_cancelled());
    });
    let trace = rt.trace().unwrap();
    let got: Vec<String> = trace
        .events()
        .iter()
        .map(|e| format!("{}ms {} {}", e.time.as_millis(), e.task, short(&e.kind)))
        .collect();
    let expected = [
        "0ms 1 created A by main",
        "0ms 1 scheduled by Spawn",
        "0ms 2 created B by main",
        "0ms 2 scheduled by Spawn",
        "0ms 1 poll",
        "0ms 1 waits Timer(1s)",
        "0ms 1 pending/ret",
        "0ms 2 poll",
        "0ms 2 waits Timer(5s)",
        "0ms 2 pending/ret",
        "1000ms 1 timer fired",
        "1000ms 1 scheduled by Timer",
        "1000ms 1 poll",
        "1000ms 3 created C by 1",
        "1000ms 3 scheduled by Spawn",
        "1000ms 1 waits Task(TaskId(3))",
        "1000ms 1 pending/ret",
        "1000ms 3 poll",
        "1000ms 1 scheduled by Loop",
        "1000ms 3 pending/ret",
        "1000ms 3 done",
        "1000ms 1 poll",
        "1000ms 1 pending/ret",
        "1000ms 1 done",
        "1000ms 2 scheduled by Loop",
        "1000ms 2 poll",
        "1000ms 2 pending/ret",
        "1000ms 2 cancelled",
    ];

    assert_eq!(got, expected, "{got:#?}");
    let spans = trace.tasks();
    assert_eq!(spans.len(), 3);
    assert_eq!(spans[0].label(), "A");
    assert_eq!(spans[0].polls, 3);
    assert_eq!(spans[0].end, Some(Duration::from_secs(1)));
    assert_eq!(spans[1].outcome, Some(End::Cancelled));
    let timeline = trace.timeline(20);
    assert!(
        timeline.lines().next().unwrap().starts_with("A |"),
        "{timeline}"
    );
    assert!(timeline.contains('x'), "cancellation is drawn: {timeline}");
}

#[test]
fn tracing_off_records_nothing() {
    let rt = Runtime::builder().virtual_time(true).build().unwrap();
    rt.block_on(async { boucle::spawn(async {}).await.unwrap() });
    assert!(rt.trace().is_none());
}
