//! Reading safetensors: byte sources, element types, headers, the shard
//! index, the model they make together, and the tolerant open that turns
//! damaged or missing shards into findings.
//!
//! May use: nothing else in the crate. This is the bottom layer: its
//! [`Error`](error::Error) and [`Finding`](finding::Finding) are the
//! vocabulary every other layer reports in. May not use: `stored/`,
//! `quant/`, `checks/`, `report/`, or anything above them.

pub mod decode;
pub mod dtype;
pub mod error;
pub mod finding;
pub mod header;
pub mod index;
pub mod model;
pub mod open;
pub mod readahead;
pub(crate) mod simd;
pub mod source;

/// Small models built from byte literals, for the unit tests of every layer.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use super::model::{Model, NamedSource};

    /// A safetensors file: the 8-byte header length, the header, the data.
    pub fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    }

    /// A file of F32 tensors `(name, shape, values)`, laid out in order.
    pub fn f32_file(tensors: &[(&str, &[u64], &[f32])]) -> Vec<u8> {
        let mut entries = Vec::new();
        let mut data = Vec::new();
        for (name, shape, values) in tensors {
            let start = data.len();
            data.extend(values.iter().flat_map(|x| x.to_le_bytes()));
            entries.push(format!(
                r#""{name}":{{"dtype":"F32","shape":{shape:?},"data_offsets":[{start},{}]}}"#,
                data.len()
            ));
        }
        file(&format!("{{{}}}", entries.join(",")), &data)
    }

    /// The header entry of an F32 tensor `w` of `shape`, its data at 0.
    pub fn f32_info(shape: &[u64]) -> crate::TensorInfo {
        let numel = shape.iter().product::<u64>();
        crate::TensorInfo {
            name: "w".into(),
            dtype: crate::Dtype::F32,
            shape: shape.to_vec(),
            numel,
            start: 0,
            end: numel * 4,
        }
    }

    /// `bytes` opened as the one file `m.safetensors`.
    pub fn model(bytes: Vec<u8>) -> Model {
        Model::open(
            vec![NamedSource::new("m.safetensors", Arc::new(bytes))],
            None,
            None,
        )
        .expect("a valid model")
    }
}
