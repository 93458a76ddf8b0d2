//! The diagrams follow the model files: drawn from the layers, they change
//! when the architecture does. Checked through the real binary, on the CSV
//! each figure publishes (the drawing's data) and its text alternative.

mod common;

use common::Project;

const TINY: &str = r#"
name = "Tiny"
input = [3, 32, 32]
[blocks.basic]
args = ["c", "s"]
body = ["conv $c k3 s$s p1 nobias", "bn", "relu", "conv $c k3 p1 nobias", "bn"]
merge = "add"
shortcut = "auto"
projection = ["conv $c k1 s$s nobias", "bn"]
then = ["relu"]
[[section]]
name = "stem"
layers = ["conv 16 k3 p1 nobias", "bn", "relu"]
[[section]]
name = "stage1"
layers = ["basic 16 1", "basic 32 STRIDE"]
[[section]]
name = "head"
layers = ["gap", "flatten", "fc: linear 10"]
"#;

const PAGE: &str = "+++\ntitle = \"D\"\n+++\n{{ chart(kind=\"block\", models=[\"tiny\"], block=\"stage1/block1\") }}\n\n{{ chart(kind=\"stages\", models=[\"tiny\"]) }}\n";

fn built(test: &str, stride: u32) -> Project {
    let p = Project::new(&format!("diagrams-{test}-{stride}"), &[("index.md", PAGE)]);
    p.write(
        "content/models/tiny.toml",
        &TINY.replace("STRIDE", &stride.to_string()),
    );
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 0, "{err}");
    p
}

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.site().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn block_stages_and_architecture_are_drawn_from_the_layers() {
    let p = built("drawn", 2);
    assert_eq!(
        read(&p, "data/chart-block-stage1-block1-tiny.csv"),
        "model,block,role,layer,output\n\
         tiny,stage1/block1,body,stage1/block1/conv1,32x16x16\n\
         tiny,stage1/block1,body,stage1/block1/bn1,32x16x16\n\
         tiny,stage1/block1,body,stage1/block1/relu1,32x16x16\n\
         tiny,stage1/block1,body,stage1/block1/conv2,32x16x16\n\
         tiny,stage1/block1,body,stage1/block1/bn2,32x16x16\n\
         tiny,stage1/block1,shortcut,stage1/block1/shortcut/conv1,32x16x16\n\
         tiny,stage1/block1,shortcut,stage1/block1/shortcut/bn1,32x16x16\n\
         tiny,stage1/block1,after,stage1/block1/relu2,32x16x16\n\
         tiny,stage1/block1,merge,stage1/block1/add,32x16x16\n"
    );
    assert_eq!(
        read(&p, "data/chart-stages-tiny.csv"),
        "model,stage,channels,height,width,macs\n\
         tiny,input,3,32,32,\n\
         tiny,stem,16,32,32,442368\n\
         tiny,stage1,32,16,16,8388608\n\
         tiny,head,32,16,16,320\n"
    );
    assert_eq!(
        read(&p, "data/chart-architecture-tiny.csv"),
        "section,unit,kind,shortcut,output,params,macs\n\
         stem,stem/conv1,conv,,16x32x32,432,442368\n\
         stage1,stage1/block0,block,identity,16x32x32,4672,4718592\n\
         stage1,stage1/block1,block,projection,32x16x16,14528,3670016\n\
         head,head/pool1,pooling,,32x1x1,0,0\n\
         head,head/fc,linear,,10,330,320\n"
    );
    let index = read(&p, "index.html");
    assert!(
        index.contains("alt=\"Tiny stage1/block1: input 16x32x32, a projection shortcut, merged by add, output 32x16x16 (14,528 params)\""),
        "{index}"
    );
    let model = read(&p, "model-tiny.html");
    assert!(
        model.contains("<img src=\"charts/architecture-tiny.svg\" alt=\"stem: 3x3 conv 16; out 16x32x32. stage1: 1 block [2 x 3x3 conv 16, add], identity shortcut, 1 block [3x3 conv 32, stride 2, 3x3 conv 32, add], projection shortcut; out 32x16x16. head: global pool, fc 10; out 10\""),
        "{model}"
    );
    for svg in [
        "block-stage1-block1-tiny",
        "stages-tiny",
        "architecture-tiny",
    ] {
        for variant in ["", "-narrow"] {
            let text = read(&p, &format!("charts/{svg}{variant}.svg"));
            assert!(text.starts_with("<svg xmlns"), "{svg}{variant}");
            assert!(text.contains("<title>"), "{svg}{variant}");
        }
    }
}

#[test]
fn changing_a_stride_changes_the_pictures() {
    let (two, one) = (built("stride", 2), built("stride", 1));
    for rel in [
        "charts/stages-tiny.svg",
        "charts/block-stage1-block1-tiny.svg",
        "charts/architecture-tiny.svg",
    ] {
        assert_ne!(read(&two, rel), read(&one, rel), "{rel}");
    }
    assert!(read(&one, "data/chart-stages-tiny.csv").contains("tiny,stage1,32,32,32,"));
    // At stride 1 the second block still changes its channels: a projection.
    assert!(read(&one, "data/chart-architecture-tiny.csv")
        .contains("stage1,stage1/block1,block,projection,32x32x32,"));
}

#[test]
fn a_block_that_does_not_exist_is_a_located_error() {
    let p = Project::new(
        "diagrams-missing",
        &[(
            "index.md",
            "+++\ntitle = \"D\"\n+++\n{{ chart(kind=\"block\", models=[\"resnet18\"], block=\"stage9/block0\") }}\n",
        )],
    );
    let (code, err) = p.build(&["-q"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("model `resnet18` has no block `stage9/block0` (blocks: stage1/block0, stage1/block1, stage2/block0, stage2/block1, stage3/block0, stage3/block1, stage4/block0, stage4/block1)"),
        "{err}"
    );
    assert!(err.contains("content/index.md"), "{err}");
}
