//! The output check on bad input: each problem gives a clear error naming
//! the file or tensor, never a panic. Plus truncation, cancelling and the
//! CLI's exit codes.
#![cfg(feature = "outputs")]

use crate::common;

use assert_cmd::Command;
use quantlens::outputs::{inputs, Input, Observer, OutputCheck, OutputsError, Quiet};
use quantlens::{Policy, Scheme};

use common::outputs::{open_folder, side_files, tiny_bert};

fn check(dir: &std::path::Path) -> Result<OutputCheck, OutputsError> {
    OutputCheck::with_scheme(
        open_folder(dir),
        &side_files(dir),
        Scheme::Int8Tensor,
        Policy::default_rule(),
    )
}

fn sentences() -> Vec<Input> {
    inputs::builtin(false)[..3].to_vec()
}

#[test]
fn a_tiny_bert_runs_and_reports_every_layer() {
    let d = tempfile::tempdir().unwrap();
    tiny_bert(d.path(), 30522, 8, 16, 2, None, |_| {});
    let r = check(d.path())
        .unwrap()
        .run(&sentences(), &mut Quiet)
        .unwrap();
    assert_eq!(r.layers.len(), 3);
    assert_eq!(
        r.layers[0].rel_error, 0.0,
        "embeddings are not quantized by the default policy"
    );
    assert!(
        r.layers[1].rel_error > 0.0 && r.layers[1].alone_rel_error == Some(r.layers[1].rel_error)
    );
    // A bare encoder: mean and CLS pooled figures, no classification.
    assert_eq!(r.embedding.as_ref().unwrap().pooling, "mean");
    assert_eq!(r.embedding_cls.as_ref().unwrap().pooling, "cls");
    assert!(r.classification.is_none());
}

#[test]
fn missing_side_files_are_named() {
    let d = tempfile::tempdir().unwrap();
    tiny_bert(d.path(), 30522, 8, 16, 1, None, |_| {});
    std::fs::remove_file(d.path().join("tokenizer.json")).unwrap();
    let e = check(d.path()).err().unwrap();
    assert!(
        matches!(e, OutputsError::MissingFile { .. }) && e.to_string().contains("tokenizer.json"),
        "{e}"
    );
    std::fs::remove_file(d.path().join("config.json")).unwrap();
    let e = check(d.path()).err().unwrap();
    assert!(e.to_string().contains("config.json"), "{e}");
}

#[test]
fn unknown_model_type_is_named() {
    let d = tempfile::tempdir().unwrap();
    tiny_bert(d.path(), 30522, 8, 16, 1, None, |c| {
        c["model_type"] = "gpt9".into()
    });
    let e = check(d.path()).err().unwrap();
    assert_eq!(e.code(), "unsupported_model");
    assert!(
        e.to_string().contains("config.json") && e.to_string().contains("gpt9"),
        "{e}"
    );
}

#[test]
fn a_missing_layer_tensor_is_named() {
    let d = tempfile::tempdir().unwrap();
    let gone = "encoder.layer.1.intermediate.dense.weight";
    tiny_bert(d.path(), 30522, 8, 16, 2, Some(gone), |_| {});
    let e = check(d.path())
        .unwrap()
        .run(&sentences(), &mut Quiet)
        .unwrap_err();
    assert!(matches!(e, OutputsError::MissingTensor { .. }), "{e:?}");
    assert!(
        e.to_string().contains(gone) && e.to_string().contains("layer 2"),
        "{e}"
    );
}

#[test]
fn token_ids_beyond_the_vocabulary_are_named() {
    let d = tempfile::tempdir().unwrap();
    tiny_bert(d.path(), 100, 8, 16, 1, None, |_| {});
    let e = check(d.path())
        .unwrap()
        .run(&sentences(), &mut Quiet)
        .unwrap_err();
    assert!(
        e.to_string().contains("embeddings.word_embeddings.weight")
            && e.to_string().contains("100 rows"),
        "{e}"
    );
}

#[test]
fn a_converted_model_of_another_shape_is_unlike() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    tiny_bert(a.path(), 30522, 8, 16, 1, None, |_| {});
    tiny_bert(b.path(), 30522, 8, 32, 1, None, |_| {});
    let run = || {
        OutputCheck::with_converted(
            open_folder(a.path()),
            &side_files(a.path()),
            open_folder(b.path()),
        )
    };
    let e = run().err().unwrap();
    assert_eq!(e.code(), "unlike_comparison");
    assert!(e.to_string().contains("intermediate size 16 vs 32"), "{e}");
    // Without a config, the shapes still tell.
    std::fs::remove_file(b.path().join("config.json")).unwrap();
    let e = run().err().unwrap();
    assert_eq!(e.code(), "unlike_comparison");
    assert!(e.to_string().contains("intermediate.dense"), "{e}");
}

#[test]
fn long_inputs_are_truncated_and_counted() {
    let d = tempfile::tempdir().unwrap();
    tiny_bert(d.path(), 30522, 8, 16, 1, None, |_| {});
    let long = Input {
        first: "word ".repeat(600),
        second: None,
    };
    let mut c = check(d.path()).unwrap();
    assert_eq!(
        c.max_length(),
        512,
        "no sentence_bert_config.json: the position table's limit"
    );
    let r = c.run(&[long, sentences()[0].clone()], &mut Quiet).unwrap();
    assert_eq!((r.truncated, r.inputs), (1, 2));
    assert_eq!(
        c.encode(&[Input {
            first: "word ".repeat(600),
            second: None
        }])
        .unwrap()[0]
            .ids
            .len(),
        512
    );
}

#[test]
fn cancelling_stops_the_run() {
    struct Stop;
    impl Observer for Stop {
        fn progress(&mut self, done: usize, _: usize) -> bool {
            done < 1
        }
    }
    let d = tempfile::tempdir().unwrap();
    tiny_bert(d.path(), 30522, 8, 16, 2, None, |_| {});
    let e = check(d.path())
        .unwrap()
        .run(&sentences(), &mut Stop)
        .unwrap_err();
    assert_eq!(e, OutputsError::Cancelled);
}

#[test]
fn cli_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    tiny_bert(d.path(), 30522, 8, 16, 1, None, |_| {});
    let bin = || Command::cargo_bin("quantlens").unwrap();
    bin()
        .args(["outputs", "-q"])
        .arg(d.path())
        .assert()
        .success();
    bin()
        .args(["outputs", "-q", "--fail-below-cosine", "1.0000001"])
        .arg(d.path())
        .assert()
        .code(1);
    std::fs::write(d.path().join("in.txt"), "one\ttwo\tthree\n").unwrap();
    let out = bin()
        .args(["outputs", "-q", "--text"])
        .arg(d.path().join("in.txt"))
        .arg(d.path())
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("in.txt"));
    std::fs::remove_file(d.path().join("tokenizer.json")).unwrap();
    let out = bin().args(["outputs", "-q"]).arg(d.path()).assert().code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("tokenizer.json"));
}
