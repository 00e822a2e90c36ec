//! Rendering a recorded trace: the ASCII timeline against expected text for
//! a fixed virtual-time program, the Chrome JSON read back with serde_json,
//! and the SVG parsed as XML.

use std::time::Duration;

use boucle::trace::Trace;
use boucle::Runtime;

/// The seeds' two greetings, then a task cancelled at 3 s.
fn program() -> Trace {
    let rt = Runtime::builder()
        .virtual_time(true)
        .trace(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let a = boucle::task::Builder::new()
            .name("Bonjour")
            .spawn(boucle::sleep(Duration::from_secs(1)));
        let b = boucle::task::Builder::new()
            .name("Monde")
            .spawn(boucle::sleep(Duration::from_secs(2)));
        let c = boucle::task::Builder::new()
            .name("long")
            .spawn(boucle::sleep(Duration::from_secs(60)));
        a.await.unwrap();
        b.await.unwrap();
        boucle::sleep(Duration::from_secs(2)).await;
        c.cancel();
        let _ = c.await;
    });
    rt.trace().unwrap()
}

#[test]
fn the_ascii_timeline_of_a_fixed_program() {
    let text = program().timeline(41);
    let expected = "\
Bonjour |#--------->                              | 1.000s
Monde   |#------------------->                    | 2.000s
long    |#---------------------------------------x| 4.000s
         0s                                 4.000s
";
    assert_eq!(text, expected, "\n{text}");
}

#[test]
fn the_chrome_json_parses_back_with_every_event() {
    let trace = program();
    let json: serde_json::Value = serde_json::from_str(&trace.to_chrome_json()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    let of = |ph: &str, name: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == ph && (name.is_empty() || e["name"] == name))
            .count()
    };
    // One row name and one life slice per task.
    assert_eq!(of("M", "thread_name"), 3);
    assert_eq!(events.iter().filter(|e| e["cat"] == "task").count(), 3);
    // Every poll of the trace is a slice: Bonjour 2, Monde 2, long 2.
    let polls = trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, boucle::trace::EventKind::PollStart))
        .count();
    assert_eq!(of("X", "poll"), polls);
    assert_eq!(polls, 6);
    // The instants: 3 spawns + 2 timer wakes + the cancel = 6 schedules, 3
    // waits, 2 fired timers.
    assert_eq!(of("i", "scheduled"), 6);
    assert_eq!(of("i", "waits"), 3);
    assert_eq!(of("i", "timer fired"), 2);
    let long = events
        .iter()
        .find(|e| e["cat"] == "task" && e["name"] == "long")
        .unwrap();
    assert_eq!(long["args"]["outcome"], "cancelled");
    assert_eq!(
        long["dur"].as_str().map(str::to_owned),
        None,
        "dur is a number"
    );
    assert!((long["dur"].as_f64().unwrap() - 4_000_000.0).abs() < 1.0);
    assert!(long["args"]["spawned_at"]
        .as_str()
        .unwrap()
        .contains("trace_render.rs"));
}

#[test]
fn the_svg_is_well_formed_xml_with_a_row_and_a_title_per_task() {
    let svg = program().to_svg(900);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some("900"));
    let titles: Vec<&str> = root
        .descendants()
        .filter(|n| n.tag_name().name() == "title")
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(titles.len(), 3);
    assert!(
        titles[0].starts_with("Bonjour (id 1) spawned at "),
        "{titles:?}"
    );
    assert!(titles[2].contains("cancelled"), "{titles:?}");
    assert!(titles[1].contains("0.000000 s to 2.000000 s"), "{titles:?}");
    let labels: Vec<&str> = root
        .descendants()
        .filter(|n| n.tag_name().name() == "text")
        .filter_map(|n| n.text())
        .collect();
    assert!(
        labels.contains(&"Monde") && labels.contains(&"4.000s"),
        "{labels:?}"
    );
}

#[test]
fn a_saved_trace_read_back_draws_the_same_timeline() {
    let trace = program();
    let again = Trace::from_events(trace.events().to_vec(), trace.taken_at());
    assert_eq!(again.timeline(30), trace.timeline(30));
}
