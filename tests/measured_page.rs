//! The measured chapter's functions on a real bench file: what was
//! measured, what had to be guessed, and time by section.

mod common;

use common::Project;

#[test]
fn guessed_macs_and_time_by_section() {
    let page = "+++\ntitle = \"M\"\n+++\n\
        tiny guessed {{ guessed_macs(model=\"tiny\") }} of {{ macs(model=\"tiny\") }}; \
        resnet18 guessed {{ guessed_macs(model=\"resnet18\") }}; \
        guessed time {{ model_time(model=\"tiny\", guessed=true) == model_time(model=\"tiny\", kind=\"conv\") + model_time(model=\"tiny\", kind=\"linear\") }}; \
        sections add up {{ (model_time(model=\"resnet18\", section=\"stem\") + model_time(model=\"resnet18\", section=\"stage1\") + model_time(model=\"resnet18\", section=\"stage2\") + model_time(model=\"resnet18\", section=\"stage3\") + model_time(model=\"resnet18\", section=\"stage4\") + model_time(model=\"resnet18\", section=\"head\") - model_time(model=\"resnet18\")) | abs < 0.000000001 }}; \
        stage1 measured {{ model_time(model=\"resnet18\", section=\"stage1\") > 0 }}\n";
    let p = Project::new("measured-page", &[("index.md", page)]);
    p.write(
        "content/models/tiny.toml",
        "name = \"Tiny\"\ninput = [3, 20, 20]\n[[section]]\nname = \"body\"\nlayers = [\"conv 7 k3\", \"relu\", \"gap\", \"flatten\", \"fc: linear 5\"]\n",
    );
    let bench = std::fs::read_to_string("content/data/bench.json").unwrap();
    p.write("content/data/bench.json", &bench);
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(p.site().join("index.html")).unwrap();
    assert!(
        html.contains("tiny guessed 61271 of 61271; resnet18 guessed 0; guessed time true; sections add up true; stage1 measured true"),
        "{html}"
    );
}
