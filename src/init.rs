//! `netledger init DIR`: a minimal course that builds at once.
//!
//! Writes `netledger.toml`, one page, one model and an empty `static/`
//! folder, and nothing else; an existing non-empty folder is refused.

use std::path::Path;

use crate::error::{Error, Result};

/// The files of a new course: relative path -> text.
pub const FILES: [(&str, &str); 3] = [
    (
        "netledger.toml",
        r#"# Settings of this course; every key is optional.
title = "My course"
description = "Notes on neural network architectures, with every number computed."
author = ""
language = "en"
# Where the site will be published, for canonical links and sitemap.xml:
# base_url = "https://example.org/my-course/"
"#,
    ),
    (
        "content/index.md",
        r#"+++
title = "My course"
description = "A first page: every number below is computed from content/models/lenet5.toml."
+++
LeNet-5 has {{ params(model="lenet5") | num }} parameters and needs
{{ macs(model="lenet5") | num }} multiply-accumulates per image. Its first
convolution turns the 1x32x32 input into a {{ shape(model="lenet5", layer="features/conv1") }}
map, and its fully connected layers hold {{ share(model="lenet5", kind="linear") | pct }}
of the parameters.

A convolution with $k \times k$ kernels from $C_{in}$ to $C_{out}$ channels has
$k^2 C_{in} C_{out} + C_{out}$ parameters.

{{ table(model="lenet5", by="section") }}

{{ chart(kind="params_by_kind", models=["lenet5"]) }}

The [model page](model-lenet5.html) lists every layer.
"#,
    ),
    (
        "content/models/lenet5.toml",
        r#"name = "LeNet-5"
description = "LeCun et al. 1998, with ReLU and max pooling as usually written today."
input = [1, 32, 32]

[[section]]
name = "features"
layers = ["conv 6 k5", "relu", "maxpool k2 s2", "conv 16 k5", "relu", "maxpool k2 s2"]

[[section]]
name = "classifier"
layers = ["flatten", "linear 120", "relu", "linear 84", "relu", "linear 10"]
"#,
    ),
];

/// Creates the course in `dir` (which must be missing or empty).
pub fn init(dir: &Path) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| Error::io("read folder", dir, e))?
            .next()
            .is_none();
        if !empty {
            return Err(Error::Usage(format!(
                "`{}` is not empty; `init` only creates a course in a new or empty folder",
                dir.display()
            )));
        }
    }
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))?;
    }
    let statics = dir.join("content/static");
    std::fs::create_dir_all(&statics).map_err(|e| Error::io("create folder", &statics, e))
}
