//! A folder of models: model files (`NAME.toml`) and ONNX graphs
//! (`NAME.onnx`), both counted by the same analysis.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::count::{analyze, Analysis};
use crate::error::{Error, Result};
use crate::model::{self, ModelSpec};
use crate::onnx::{self, OnnxModel};

/// One model, whatever file it came from.
#[derive(Debug, Clone)]
pub enum Model {
    /// A model file, its `extends` chain merged.
    File(Arc<ModelSpec>),
    /// An imported ONNX graph, with the file it came from.
    Onnx(Arc<OnnxModel>, PathBuf),
}

impl Model {
    /// Loads a model: a path to a `.toml` or `.onnx` file, or a name in `dir`.
    pub fn load(name_or_path: &str, dir: &Path) -> Result<Model> {
        Model::load_with(name_or_path, dir, None)
    }

    /// [`Model::load`], counting a model file without an `input` at
    /// `default_input` (ONNX graphs always carry theirs).
    pub fn load_with(
        name_or_path: &str,
        dir: &Path,
        default_input: Option<&[u64]>,
    ) -> Result<Model> {
        let onnx_path = if name_or_path.ends_with(".onnx") {
            Some(PathBuf::from(name_or_path))
        } else if !name_or_path.contains('/') && !name_or_path.ends_with(".toml") {
            Some(dir.join(format!("{name_or_path}.onnx")))
                .filter(|p| p.is_file() && !dir.join(format!("{name_or_path}.toml")).exists())
        } else {
            None
        };
        match onnx_path {
            Some(path) => Self::load_onnx(&path),
            None => Ok(Model::File(Arc::new(model::load_with(
                name_or_path,
                dir,
                default_input,
            )?))),
        }
    }

    fn load_onnx(path: &Path) -> Result<Model> {
        let id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| Error::Render {
                message: "a model file's name is not UTF-8; rename it".into(),
                span: None,
                location: Some(path.display().to_string()),
            })?;
        Ok(Model::Onnx(
            Arc::new(onnx::load(path, id)?),
            path.to_path_buf(),
        ))
    }

    /// The model's own input shape, without the batch.
    pub fn input(&self) -> &[u64] {
        match self {
            Model::File(spec) => &spec.input,
            Model::Onnx(m, _) => &m.input,
        }
    }

    /// The model file, for the checks that only apply to one.
    pub fn spec(&self) -> Option<&ModelSpec> {
        match self {
            Model::File(spec) => Some(spec),
            Model::Onnx(..) => None,
        }
    }

    /// Counts the model at its own input, or at `input`: a graph's shapes
    /// are fixed, so it counts only at its own.
    pub fn analyze(&self, input: Option<&[u64]>) -> Result<Analysis> {
        match self {
            Model::File(spec) => analyze(spec, input),
            Model::Onnx(m, path) => {
                if let Some(asked) = input.filter(|i| *i != m.input.as_slice()) {
                    return Err(Error::Render {
                        message: format!(
                            "an ONNX graph has static shapes, so `{}` counts only at its own input {} (asked for {})",
                            m.about.id,
                            dims(&m.input),
                            dims(asked)
                        ),
                        span: None,
                        location: Some(path.display().to_string()),
                    });
                }
                m.analyze()
            }
        }
    }

    /// The file to offer for download on the model's page: name and bytes.
    pub fn source_file(&self) -> Result<(String, Vec<u8>)> {
        match self {
            Model::File(spec) => Ok((
                format!("{}.toml", spec.id),
                spec.source.text().as_bytes().to_vec(),
            )),
            Model::Onnx(m, path) => Ok((
                format!("{}.onnx", m.about.id),
                std::fs::read(path).map_err(|e| Error::io("read", path, e))?,
            )),
        }
    }
}

fn dims(shape: &[u64]) -> String {
    shape
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

/// Stems of the model files (`*.toml`, `*.onnx`) in `dir`, sorted. Two
/// files with one stem are an error, since a name must mean one model.
pub fn names(dir: &Path) -> Result<Vec<String>> {
    let mut names = model::model_names(dir)?;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io("read folder", dir, e))?.path();
        if path.extension().is_some_and(|e| e == "onnx") {
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                return Err(Error::Render {
                    message: "a model file's name is not UTF-8; rename it".into(),
                    span: None,
                    location: Some(path.display().to_string()),
                });
            };
            if names.iter().any(|n| n == stem) {
                return Err(Error::Render {
                    message: format!(
                        "both {stem}.toml and {stem}.onnx exist: a model name must mean one model; rename one"
                    ),
                    span: None,
                    location: Some(path.display().to_string()),
                });
            }
            names.push(stem.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Loads every model in `dir`, model files through one memoising loader.
pub fn load_all(dir: &Path) -> Result<BTreeMap<String, Model>> {
    load_all_with(dir, None)
}

/// [`load_all`], counting model files without an `input` at `default_input`.
pub fn load_all_with(dir: &Path, default_input: Option<&[u64]>) -> Result<BTreeMap<String, Model>> {
    let mut out = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut loader = model::Loader::with_default_input(default_input.map(<[u64]>::to_vec));
    for name in names(dir)? {
        let onnx = dir.join(format!("{name}.onnx"));
        let m = if onnx.is_file() {
            Model::load_onnx(&onnx)?
        } else {
            Model::File(loader.load(&name, dir)?)
        };
        out.insert(name, m);
    }
    Ok(out)
}
