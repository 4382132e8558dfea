//! The header parser against the `safetensors` crate as an oracle: files the
//! crate writes parse to the same tensors, and on corrupted headers both
//! accept or both reject.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use quantlens::{read_header, Dtype};
use safetensors::{tensor::TensorView, Dtype as St, SafeTensors};

const DTYPES: &[St] = &[
    St::F32,
    St::F16,
    St::BF16,
    St::I8,
    St::U8,
    St::I64,
    St::F64,
    St::BOOL,
    St::F8_E4M3,
];

fn build(tensors: &[(u8, Vec<usize>)]) -> Vec<u8> {
    let datas: Vec<(String, St, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .enumerate()
        .map(|(i, (d, shape))| {
            let dt = DTYPES[*d as usize % DTYPES.len()];
            let n: usize = shape.iter().product::<usize>() * dt.bitsize() / 8;
            (
                format!("t{i}.weight"),
                dt,
                shape.clone(),
                (0..n).map(|b| b as u8).collect(),
            )
        })
        .collect();
    let views: Vec<(String, TensorView)> = datas
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, None).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn crate_written_files_parse_identically(tensors in prop::collection::vec((any::<u8>(), prop::collection::vec(0usize..5, 0..4)), 0..6)) {
        let bytes = build(&tensors);
        let ours = read_header("f.safetensors", &bytes).unwrap();
        let theirs = SafeTensors::deserialize(&bytes).unwrap();
        prop_assert_eq!(ours.tensors.len(), theirs.len());
        for t in &ours.tensors {
            let v = theirs.tensor(&t.name).unwrap();
            prop_assert_eq!(t.dtype.clone(), Dtype::parse(&format!("{:?}", v.dtype())));
            prop_assert_eq!(t.shape.iter().map(|&d| d as usize).collect::<Vec<_>>(), v.shape().to_vec());
            prop_assert_eq!(t.bytes() as usize, v.data().len());
            prop_assert_eq!(&bytes[t.start as usize..t.end as usize], v.data());
        }
    }

    #[test]
    fn corrupted_files_are_accepted_exactly_when_the_crate_accepts(
        tensors in prop::collection::vec((any::<u8>(), prop::collection::vec(1usize..4, 1..3)), 1..4),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..3),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = build(&tensors);
        let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        for (i, b) in &edits {
            // Digits keep most edits inside the JSON grammar, where the
            // interesting disagreements would be.
            let at = i.index(header_end);
            bytes[at] = if at >= 8 { b"0123456789,:[]{}\" "[*b as usize % 18] } else { *b };
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len() + 1));
        }
        let ours = read_header("f.safetensors", &bytes);
        let theirs = SafeTensors::deserialize(&bytes);
        // A dtype outside the list is a finding for us, an error for the crate.
        let unknown_dtype = ours.as_ref().is_ok_and(|h| h.tensors.iter().any(|t| matches!(t.dtype, Dtype::Unknown(_))));
        if !unknown_dtype {
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "ours: {:?}\ntheirs: {:?}", ours.as_ref().err(), theirs.as_ref().err());
        }
    }
}
