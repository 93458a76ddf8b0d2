//! What a user sees for each kind of mistake, whole, through the real
//! binary: every message names the file, line and column (or the layer
//! path), and the exit code is 1. Snapshots live in `tests/snapshots/`;
//! `cargo insta review` (or `INSTA_UPDATE=always`) updates them after an
//! intended change of wording.

mod common;

use common::Project;

/// Runs `args` in a scratch project holding `files`; returns "exit N" and stderr.
fn failing(test: &str, files: &[(&str, &str)], args: &[&str]) -> String {
    let p = Project::new(&format!("snap-{test}"), &[]);
    for (path, text) in files {
        p.write(path, text);
    }
    let (code, out, err) = p.run(args);
    assert!(out.is_empty() || code != 0, "{out}");
    format!("exit {code}\n{err}")
}

const PAGE_HEAD: &str = "+++\ntitle = \"T\"\n+++\n";

#[test]
fn a_misspelt_layer_in_a_model_file() {
    insta::assert_snapshot!(failing(
        "layer",
        &[(
            "content/models/m.toml",
            "name = \"M\"\ninput = [3, 32, 32]\n[[section]]\nname = \"s\"\nlayers = [\"conv 8 k3\", \"rellu\"]\n",
        )],
        &["count", "m"],
    ));
}

#[test]
fn shapes_that_do_not_fit() {
    insta::assert_snapshot!(failing(
        "shape",
        &[(
            "content/models/m.toml",
            "name = \"M\"\ninput = [3, 8, 8]\n[[section]]\nname = \"s\"\nlayers = [\"conv 8 k9\"]\n",
        )],
        &["count", "m"],
    ));
}

#[test]
fn a_variant_section_its_base_does_not_have() {
    insta::assert_snapshot!(failing(
        "variant",
        &[(
            "content/models/v.toml",
            "extends = \"resnet18\"\nname = \"V\"\n[[section]]\nname = \"haed\"\nlayers = [\"gap\"]\n",
        )],
        &["count", "v"],
    ));
}

#[test]
fn an_input_whose_channels_change_the_first_layer() {
    insta::assert_snapshot!(failing(
        "channels",
        &[],
        &["count", "vgg11", "--input", "1x32x32"]
    ));
}

#[test]
fn an_unknown_function_argument_in_a_page() {
    insta::assert_snapshot!(failing(
        "page-arg",
        &[(
            "content/index.md",
            &format!("{PAGE_HEAD}See {{{{ params(modell=\"vgg11\") }}}}.\n")
        )],
        &["build", "-q"],
    ));
}

#[test]
fn an_unbalanced_dollar_in_a_page() {
    insta::assert_snapshot!(failing(
        "dollar",
        &[(
            "content/index.md",
            &format!("{PAGE_HEAD}It costs $5 and more.\n")
        )],
        &["build", "-q"],
    ));
}

#[test]
fn a_link_to_a_page_that_does_not_exist() {
    insta::assert_snapshot!(failing(
        "link",
        &[(
            "content/index.md",
            &format!("{PAGE_HEAD}Read [this](02-missing.md).\n")
        )],
        &["build", "-q"],
    ));
}

#[test]
fn a_diagram_of_a_block_the_model_lacks() {
    insta::assert_snapshot!(failing(
        "block",
        &[(
            "content/index.md",
            &format!("{PAGE_HEAD}{{{{ chart(kind=\"block\", models=[\"vgg11\"], block=\"stage1/block0\") }}}}\n"),
        )],
        &["build", "-q"],
    ));
}

#[test]
fn a_misspelt_key_in_netledger_toml() {
    insta::assert_snapshot!(failing(
        "config",
        &[(
            "netledger.toml",
            "title = \"T\"\nbase_ulr = \"https://x.org/\"\n"
        )],
        &["build", "-q"],
    ));
}

#[test]
fn a_file_that_is_not_onnx() {
    insta::assert_snapshot!(failing(
        "onnx",
        &[("content/models/x.onnx", "this is not protobuf")],
        &["count", "x"],
    ));
}

#[test]
fn a_network_the_forward_runner_cannot_run() {
    // Refused before any kernel is measured, and nothing is written.
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/content/models");
    let p = Project::new("snap-network", &[]);
    p.write(
        "g.toml",
        "name = \"G\"\ninput = [4, 8, 8]\n[[section]]\nname = \"s\"\nlayers = [\"conv 4 k3 p1 g2\", \"relu\"]\n",
    );
    let args = [
        "bench",
        "--quick",
        "--network",
        "g.toml",
        "--models",
        models,
        "--out",
        "out.json",
    ];
    let (code, _, err) = p.run(&args);
    assert!(!p.root.join("out.json").exists() && !p.root.join("out.json.partial").exists());
    insta::assert_snapshot!(format!("exit {code}\n{err}"));
}
