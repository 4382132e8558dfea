//! Analysing rows without parsing any header again: one driver (the page's
//! first worker) opens the model and hands the others, per row, the
//! tensors that row reads ([`Pipeline::row_tensors`]); they build a small
//! pipeline over just those ([`Pipeline::from_part`]), which recognises a
//! stored layer from its weight, companions and the config as the whole
//! model's does. The headers are parsed once, and a worker holds only the
//! tensors it is analysing.

use serde::{Deserialize, Serialize};

use super::{InspectOptions, Pipeline};
use crate::checks::digests::Expected;
use crate::format::header::{Header, TensorInfo};
use crate::format::model::{Shard, TensorRef};
use crate::{Dtype, Error, Inspection, Model, NamedSource};

/// A shard as [`Pipeline::from_part`] takes it: what its header said
/// about the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartShard {
    /// The file name.
    pub file: String,
    /// Total file length in bytes.
    pub file_len: u64,
    /// Length of the JSON header.
    pub header_len: u64,
}

/// A tensor as [`Pipeline::from_part`] takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartTensor {
    /// Index into the shards.
    pub shard: usize,
    /// The tensor's name.
    pub name: String,
    /// Its dtype's name.
    pub dtype: String,
    /// Its dimensions.
    pub shape: Vec<u64>,
    /// Absolute byte range of its data in the file.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
}

fn bad(detail: String) -> Error {
    Error::InvalidOption {
        detail: format!("part of a model: {detail}"),
    }
}

impl Pipeline {
    /// The model's shards, in model order, as [`Pipeline::from_part`]
    /// takes them.
    pub fn part_shards(&self) -> Vec<PartShard> {
        self.inspection
            .model
            .shards
            .iter()
            .map(|s| PartShard {
                file: s.header.file.clone(),
                file_len: s.header.file_len,
                header_len: s.header.header_len,
            })
            .collect()
    }

    /// The tensors analysing row `i` reads ([`Pipeline::row_parts`]):
    /// its main tensor and a stored layer's companions.
    pub fn row_tensors(&self, i: usize) -> Result<Vec<PartTensor>, Error> {
        let model = &self.inspection.model;
        if i >= self.len() {
            return Err(Error::NoSuchTensor { index: i });
        }
        Ok(self
            .row_parts(i)
            .into_iter()
            .map(|t| {
                let r = model.tensors[t];
                let info = &model.shards[r.shard].header.tensors[r.tensor];
                PartTensor {
                    shard: r.shard,
                    name: info.name.clone(),
                    dtype: info.dtype.name().to_string(),
                    shape: info.shape.clone(),
                    start: info.start,
                    end: info.end,
                }
            })
            .collect())
    }

    /// A pipeline over `tensors` alone, read from `files` (found by the
    /// shard's file name), planned as [`Pipeline::open`] plans under the
    /// same `options` and config. Reads no header; checks that every
    /// tensor lies inside its file and that its size fits its shape.
    pub fn from_part(
        files: &[NamedSource],
        shards: &[PartShard],
        mut tensors: Vec<PartTensor>,
        config: Option<&[u8]>,
        options: &InspectOptions,
    ) -> Result<Pipeline, Error> {
        let (scheme, policy) = options.resolve()?;
        tensors.sort_by_key(|t| (t.shard, t.start));
        let mut model_shards: Vec<Shard> = Vec::new();
        let mut home: Vec<Option<usize>> = vec![None; shards.len()];
        let mut refs = Vec::new();
        for t in tensors {
            let s = shards
                .get(t.shard)
                .ok_or_else(|| bad(format!("tensor {:?} names shard {}", t.name, t.shard)))?;
            let dtype = Dtype::parse(&t.dtype);
            let numel = t
                .shape
                .iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d))
                .ok_or_else(|| bad(format!("tensor {:?} has too many elements", t.name)))?;
            let width = dtype
                .bits()
                .map(|b| (numel as u128 * b as u128).div_ceil(8));
            if t.start > t.end
                || t.end > s.file_len
                || width.is_some_and(|w| w != (t.end - t.start) as u128)
            {
                return Err(bad(format!("tensor {:?} does not fit {}", t.name, s.file)));
            }
            let si = match home[t.shard] {
                Some(si) => si,
                None => {
                    let f = files
                        .iter()
                        .find(|f| f.name == s.file)
                        .ok_or_else(|| bad(format!("no file {}", s.file)))?;
                    model_shards.push(Shard {
                        header: Header {
                            file: s.file.clone(),
                            file_len: s.file_len,
                            header_len: s.header_len,
                            metadata: Default::default(),
                            tensors: Vec::new(),
                        },
                        source: f.source.clone(),
                    });
                    home[t.shard] = Some(model_shards.len() - 1);
                    model_shards.len() - 1
                }
            };
            let tensors = &mut model_shards[si].header.tensors;
            refs.push(TensorRef {
                shard: si,
                tensor: tensors.len(),
            });
            tensors.push(TensorInfo {
                name: t.name,
                dtype,
                shape: t.shape,
                numel,
                start: t.start,
                end: t.end,
            });
        }
        let config = config
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .filter(|v| v.is_object());
        let model = Model {
            shards: model_shards,
            index: None,
            config,
            findings: Vec::new(),
            tensors: refs,
        };
        Ok(Pipeline {
            inspection: Inspection::new(model, scheme, &policy),
            expected: Expected::default(),
        })
    }

    /// The row named `name`, if this pipeline has one.
    pub fn row_named(&self, name: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.planned_row(i).is_ok_and(|r| r.name == name))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pipeline::ModelInput;
    use crate::quant::analyze::Scratch;

    /// A file of a 64×64 weight, its bias and an int8 weight with its
    /// `__scale__` companion.
    fn file() -> NamedSource {
        let w: Vec<u8> = (0..4096u32)
            .flat_map(|i| ((i * 7919 % 255) as f32 / 255.0 - 0.5).to_le_bytes())
            .collect();
        let header = r#"{"a.bias":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"a.weight":{"dtype":"F32","shape":[64,64],"data_offsets":[16,16400]},"b.weight":{"dtype":"I8","shape":[2,2],"data_offsets":[16400,16404]},"b.weight.__scale__":{"dtype":"F32","shape":[],"data_offsets":[16404,16408]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&[0u8; 16]);
        bytes.extend_from_slice(&w);
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        bytes.extend_from_slice(&0.5f32.to_le_bytes());
        NamedSource::new("m.safetensors", Arc::new(bytes))
    }

    #[test]
    fn a_part_gives_the_rows_of_the_whole() {
        let files = vec![file()];
        let options = InspectOptions::default();
        let whole = Pipeline::open(ModelInput::new(files.clone()), &options).unwrap();
        let shards = whole.part_shards();
        let mut scratch = Scratch::default();
        for i in 0..whole.len() {
            let tensors = whole.row_tensors(i).unwrap();
            let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
            let part =
                Pipeline::from_part(&files, &shards, tensors.clone(), None, &options).unwrap();
            let want = whole.row(i, &mut scratch).unwrap();
            let j = part.row_named(&want.row.name).unwrap();
            assert_eq!(part.row(j, &mut scratch).unwrap(), want, "{names:?}");
        }
        // The module's companions travel with a row.
        let b = whole.row_named("b.weight").unwrap();
        let names: Vec<String> = whole
            .row_tensors(b)
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["b.weight", "b.weight.__scale__"]);
        // A tensor that does not fit its file is refused, not read.
        let mut t = whole.row_tensors(b).unwrap();
        t[0].end += 1;
        assert!(Pipeline::from_part(&files, &shards, t, None, &options).is_err());
    }
}
