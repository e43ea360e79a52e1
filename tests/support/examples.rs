//! What the engine-equivalence tests share: the examples to run, and a
//! trace split by run.

use std::collections::BTreeMap;

use kflow::runtime::TraceEvent;

/// The `.kflow` files in `examples/`, by name.
pub(crate) fn example_files() -> Vec<String> {
    let dir = format!("{}/examples", env!("CARGO_MANIFEST_DIR"));
    let mut examples: Vec<String> = std::fs::read_dir(dir)
        .expect("examples/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".kflow"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 10);
    examples
}

/// The trace of each run, in order (run 0: events that found no run).
pub(crate) fn per_run(trace: &[TraceEvent]) -> BTreeMap<u64, Vec<TraceEvent>> {
    let mut runs: BTreeMap<u64, Vec<TraceEvent>> = BTreeMap::new();
    for event in trace {
        runs.entry(event.run).or_default().push(event.clone());
    }
    runs
}
