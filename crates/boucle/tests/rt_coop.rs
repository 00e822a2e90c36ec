//! The cooperative budget: a task whose futures are always ready still
//! yields to the loop now and then, so it cannot starve other tasks.

use std::cell::Cell;
use std::rc::Rc;

#[test]
fn a_task_that_never_waits_still_lets_others_run() {
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .build()
        .unwrap();
    let (interleaved, total) = rt.block_on(async {
        // 10,000 finished tasks: awaiting each handle is immediately ready.
        let handles: Vec<_> = (0..10_000u64)
            .map(|i| boucle::spawn(async move { i }))
            .collect();
        boucle::yield_now().await;
        let progress = Rc::new(Cell::new(0usize));
        let seen_by_other = Rc::new(Cell::new(None));
        let (p, s) = (progress.clone(), seen_by_other.clone());
        // The consumer is queued first, so it runs first in the next batch;
        // without a budget it would finish before `other` ever ran.
        let consumer = boucle::spawn(async move {
            let mut total = 0;
            for h in handles {
                total += h.await.unwrap();
                progress.set(progress.get() + 1);
            }
            total
        });
        let other = boucle::spawn(async move {
            // Records how far the consumer got before this task ran.
            s.set(Some(p.get()));
        });
        let total = consumer.await.unwrap();
        other.await.unwrap();
        (seen_by_other.get().unwrap(), total)
    });
    assert_eq!(total, 10_000 * 9_999 / 2);
    // The budget is 128 ready operations per turn.
    assert_eq!(
        interleaved, 128,
        "the consumer's first turn ran {interleaved} awaits"
    );
}
