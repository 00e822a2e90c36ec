//! The seed 001 examples on queues, coroutine chaining and async
//! generators, run on a virtual clock: every line and the loop time it was
//! printed at.

use std::time::Duration;

use boucle_examples::{chainage, generateur_asynchrone, producteur_consommateur, Console};

fn run<F: std::future::Future<Output = std::io::Result<()>>>(
    example: impl FnOnce(Console) -> F,
) -> Vec<(Duration, String)> {
    let (console, captured) = Console::capture();
    let rt = boucle::Runtime::builder()
        .virtual_time(true)
        .seed(1)
        .build()
        .unwrap();
    let start = rt.block_on(async {
        let start = boucle::now();
        example(console).await.unwrap();
        start
    });
    captured.stamped_since(start)
}

fn at(lines: &[(u64, &str)]) -> Vec<(Duration, String)> {
    lines
        .iter()
        .map(|&(s, l)| (Duration::from_secs(s), l.to_string()))
        .collect()
}

#[test]
fn producers_wait_for_slow_consumers_on_a_bounded_queue() {
    // A queue of 2 with consumers taking 2 s per item: the producers'
    // third puts wait until t = 3, and the last items are consumed at 7 s.
    assert_eq!(
        run(producteur_consommateur::main),
        at(&[
            (1, "P1 a produit P1-0"),
            (1, "P2 a produit P2-0"),
            (2, "P1 a produit P1-1"),
            (2, "P2 a produit P2-1"),
            (3, "C1 a consommé P1-0"),
            (3, "C2 a consommé P2-0"),
            (3, "P1 a produit P1-2"),
            (3, "P2 a produit P2-2"),
            (5, "C1 a consommé P1-1"),
            (5, "C2 a consommé P2-1"),
            (7, "C1 a consommé P1-2"),
            (7, "C2 a consommé P2-2"),
            (7, "Tout est consommé"),
        ])
    );
}

#[test]
fn chains_are_sequential_inside_and_concurrent_with_each_other() {
    assert_eq!(
        run(chainage::main),
        at(&[
            (2, "user1 a 2 posts"),
            (2, "user2 a 2 posts"),
            (2, "user3 a 2 posts"),
            (2, "6 posts en tout"), // 2 s, not 6
        ])
    );
}

#[test]
fn an_async_generator_feeds_async_for_and_a_comprehension() {
    assert_eq!(
        run(generateur_asynchrone::main),
        at(&[
            (1, "reçu 3"),
            (2, "reçu 2"),
            (3, "reçu 1"),
            (6, "carrés : [9, 4, 1]"),
        ])
    );
}
