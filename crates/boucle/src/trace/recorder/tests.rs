//! The recorder's unit tests: records through the wrap, side rings.

use super::*;

#[test]
fn records_stay_small() {
    // The ring's memory is capacity x this: 16 MB for the default
    // million records (plus at most 8 MB of payloads and 12 MB of spawn details). A field that
    // grows it should be a choice.
    assert_eq!(std::mem::size_of::<Record>(), 16);
}

fn kinds(trace: &Trace) -> Vec<(u64, EventKind)> {
    trace
        .events
        .iter()
        .map(|e| (e.time.as_nanos() as u64, e.kind.clone()))
        .collect()
}

#[test]
fn a_poll_is_one_record_and_two_events_around_what_it_did() {
    let r = Recorder::new(16);
    let (a, b) = (TaskId(1), TaskId(2));
    r.poll_start(a, 10);
    r.task_scheduled(b, WokenBy::Loop, 11);
    r.task_waits(Some(a), Awaiting::Sync("Queue.get"), 12);
    r.poll_end(a, 13);
    r.task_scheduled(a, WokenBy::Timer, 14);
    r.poll_start(b, 15);
    assert_eq!(
        r.ring.borrow().buf.len(),
        4,
        "the open poll has no record yet"
    );
    let trace = r.snapshot(Duration::from_nanos(16));
    assert_eq!(
        kinds(&trace),
        vec![
            (10, EventKind::PollStart),
            (11, EventKind::Scheduled { by: WokenBy::Loop }),
            (
                12,
                EventKind::Waits {
                    on: Awaiting::Sync("Queue.get")
                }
            ),
            (13, EventKind::PollEnd),
            (14, EventKind::Scheduled { by: WokenBy::Timer }),
            (15, EventKind::PollStart),
        ]
    );
    let tasks: Vec<u64> = trace.events.iter().map(|e| e.task.as_u64()).collect();
    assert_eq!(tasks, [1, 2, 1, 1, 1, 2]);
}

/// Records of every kind, with and without payload; no record is
/// written while a poll runs, so each record's events follow the
/// previous record's in the snapshot.
fn every_kind(r: &Recorder) {
    let here = Location::caller();
    for i in 0..60u64 {
        let (t, at) = (TaskId(i % 7), i * 10);
        match i % 6 {
            0 => {
                let name = format!("t{i}");
                let spawned = Spawned {
                    task: t,
                    parent: (i % 12 == 0).then_some(TaskId(i)),
                    name: (i % 18 != 0).then_some(name.as_str()),
                    location: here,
                };
                r.task_spawned(&spawned, at);
            }
            1 => r.task_waits(Some(t), Awaiting::Timer(Duration::from_nanos(1000 + i)), at),
            2 => {
                r.poll_start(t, at);
                r.poll_end(t, at + 3);
            }
            3 => {
                let what = if i % 4 == 3 {
                    "Queue.get"
                } else {
                    "Lock.acquire"
                };
                r.task_waits(Some(t), Awaiting::Sync(what), at);
            }
            4 => {
                r.poll_start(t, at);
                r.poll_end(t, at);
            }
            _ => {
                r.task_scheduled(t, WokenBy::Timer, at);
                r.task_waits(Some(t), Awaiting::Task(TaskId(100 + i)), at);
                r.task_waits(Some(t), Awaiting::Io(Direction::Write), at);
                r.timer_fired(Some(t), at);
                r.task_exited(t, Exited::Cancelled, at);
            }
        }
    }
}

fn events_of(trace: &Trace) -> Vec<(u64, u64, EventKind)> {
    trace
        .events
        .iter()
        .map(|e| (e.time.as_nanos() as u64, e.task.as_u64(), e.kind.clone()))
        .collect()
}

#[test]
fn payloads_and_spawn_details_follow_their_records_through_the_wrap() {
    let whole = Recorder::new(1000);
    every_kind(&whole);
    let all = events_of(&whole.snapshot(Duration::ZERO));
    assert_eq!(whole.snapshot(Duration::ZERO).dropped, 0);
    assert!(all.contains(&(20, 2, EventKind::PollStart)));
    assert!(all.contains(&(
        230,
        2,
        EventKind::Waits {
            on: Awaiting::Task(TaskId(123))
        }
    )));
    for capacity in [1, 2, 3, 5, 8, 13, 40] {
        let r = Recorder::new(capacity);
        every_kind(&r);
        let trace = r.snapshot(Duration::ZERO);
        let kept = events_of(&trace);
        assert!(!kept.is_empty());
        assert!(all.ends_with(&kept), "capacity {capacity}: {kept:?}");
        assert_eq!(trace.dropped as usize, all.len() - kept.len());
    }
}

#[test]
fn spawns_in_a_row_keep_their_details_in_a_spawn_ring_of_half_the_capacity() {
    let here = Location::caller();
    for capacity in 1..=9usize {
        let r = Recorder::new(capacity);
        for i in 0..10u64 {
            let name = format!("t{i}");
            let spawned = Spawned {
                task: TaskId(i),
                parent: None,
                name: Some(&name),
                location: here,
            };
            r.task_spawned(&spawned, i);
        }
        let trace = r.snapshot(Duration::ZERO);
        let names: Vec<String> = trace
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Created { name, .. } => name.as_deref().map(str::to_owned),
                _ => None,
            })
            .collect();
        let expected: Vec<String> = (10 - capacity as u64 / 2..10)
            .map(|i| format!("t{i}"))
            .collect();
        assert_eq!(names, expected, "capacity {capacity}");
        assert_eq!(trace.events.len(), capacity);
        assert_eq!(trace.dropped as usize, 20 - capacity);
    }
}

#[test]
fn a_full_ring_drops_the_oldest_and_keeps_spawn_details() {
    let r = Recorder::new(3);
    let here = Location::caller();
    for i in 0..5u64 {
        let name = format!("t{i}");
        let spawned = Spawned {
            task: TaskId(i),
            parent: i.checked_sub(1).map(TaskId),
            name: Some(&name),
            location: here,
        };
        r.task_spawned(&spawned, i);
    }
    r.poll_start(TaskId(4), 5);
    r.poll_end(TaskId(4), 6);
    // Two records per spawn: the ring of 3 keeps the last spawn's and
    // the poll's.
    let trace = r.snapshot(Duration::ZERO);
    assert_eq!(
        trace.dropped, 8,
        "four spawns and their schedules overwritten"
    );
    let kept: Vec<(u64, Option<String>, Option<u64>)> = trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Created { name, parent, .. } => Some((
                e.task.as_u64(),
                name.as_deref().map(str::to_owned),
                parent.map(TaskId::as_u64),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(kept, [(4, Some("t4".into()), Some(3))]);
    let kinds: Vec<&EventKind> = trace.events.iter().map(|e| &e.kind).collect();
    assert!(matches!(
        kinds[..],
        [
            EventKind::Created { .. },
            EventKind::Scheduled { by: WokenBy::Spawn },
            EventKind::PollStart,
            EventKind::PollEnd
        ]
    ));
    assert_eq!(trace.taken_at, Duration::from_nanos(6));
}
