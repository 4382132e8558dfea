//! The step-wise run the page's worker drives: each step's planned byte
//! ranges, and only those, handed to [`FetchedSource`]s before the step,
//! give the same report as the whole run reading the files; a read outside
//! the plan fails rather than blocks.
#![cfg(feature = "outputs")]

use crate::common;

use std::sync::Arc;

use quantlens::outputs::fetched::FetchedSource;
use quantlens::outputs::{OutputCheck, Quiet};
use quantlens::{Model, NamedSource, Policy, Scheme};

use common::outputs::{models, open_folder, reference, side_files};

/// The folder's model.safetensors as a fetched source holding its header only.
fn fetched(dir: &std::path::Path) -> (Model, Arc<FetchedSource>, Vec<u8>) {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let src = Arc::new(FetchedSource::new("model.safetensors", bytes.len() as u64));
    src.keep(0, bytes[..8 + n].to_vec());
    let config = std::fs::read(dir.join("config.json")).unwrap();
    let named = NamedSource::new("model.safetensors", src.clone());
    let model = Model::open(vec![named], None, Some(&config)).unwrap();
    (model, src, bytes)
}

#[test]
fn planned_ranges_alone_give_the_whole_runs_report() {
    for m in ["all-MiniLM-L6-v2", "tiny-distilbert-nli", "tiny-llama"] {
        let dir = models().join(m);
        let side = side_files(&dir);
        let inputs = reference(m).inputs;
        let scheme = Scheme::Int8Tensor;
        let mut whole =
            OutputCheck::with_scheme(open_folder(&dir), &side, scheme, Policy::default_rule())
                .unwrap();
        let want = whole.run(&inputs, &mut Quiet).unwrap();

        let (model, src, bytes) = fetched(&dir);
        let mut check =
            OutputCheck::with_scheme(model, &side, scheme, Policy::default_rule()).unwrap();
        let mut run = check.start(&inputs).unwrap();
        let (mut steps, mut fetched_bytes) = (0, 0u64);
        while !run.finished() {
            let [o, q] = check.plan(&run).unwrap();
            // the embeddings and every layer read weights; a pooling head may not
            let reads = run.done() + 1 < run.total();
            assert!(!reads || !o.is_empty(), "{m}: step {steps} plans no reads");
            for r in o.iter().chain(&q) {
                assert_eq!(r.file, "model.safetensors");
                src.provide(r.start, bytes[r.start as usize..r.end as usize].to_vec());
                fetched_bytes += r.end - r.start;
            }
            check.step(&mut run, &mut Quiet).unwrap();
            src.clear_step();
            steps += 1;
        }
        assert_eq!(steps, run.total());
        assert_eq!(run.into_report().unwrap(), want, "{m}");
        // each step fetches its own tensors (twice at most: both sides read
        // the original's files under a scheme), not the file over and over
        assert!(
            fetched_bytes <= 2 * bytes.len() as u64,
            "{m}: {fetched_bytes} bytes fetched for a {}-byte file",
            bytes.len()
        );
    }
}

#[test]
fn a_read_outside_the_plan_names_the_file_and_range() {
    let dir = models().join("all-MiniLM-L6-v2");
    let (model, _src, _) = fetched(&dir);
    let side = side_files(&dir);
    let mut check =
        OutputCheck::with_scheme(model, &side, Scheme::Int8Tensor, Policy::default_rule()).unwrap();
    let mut run = check.start(&reference("all-MiniLM-L6-v2").inputs).unwrap();
    let e = check.step(&mut run, &mut Quiet).unwrap_err().to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("were not fetched before this step"),
        "{e}"
    );
    assert_eq!(run.done(), 0);
}
