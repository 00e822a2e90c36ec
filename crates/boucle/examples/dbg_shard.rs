use std::time::Duration;
fn main() {
    for i in 0..300 {
    let rt = boucle::Runtime::builder().virtual_time(true).threads(2).build().unwrap();
    let drains = rt.spawn_on_with(0, || async {
        boucle::runtime::ShardedHandle::current().stopping().await;
        boucle::sleep(Duration::from_secs(2)).await;
    });
    let _long = rt.spawn_on(1, std::future::pending::<()>());
    let report = rt.shutdown_timeout(Duration::from_secs(5));
    let d = drains.wait();
    if d.is_err() || !report.shards[0].drained || report.shards[1].drained || !report.all_in_time() {
    eprintln!("{i}: {:?}", d);
    eprintln!("{:?}", report.shards.iter().map(|s| (s.drained, s.cancelled, s.in_time)).collect::<Vec<_>>());
    }
    }
}
