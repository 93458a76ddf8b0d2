//! Bad model files: every mistake is an `Err` with a clear message that
//! points at `file:line:col` (syntax, fields, names) or names the layer path
//! and the shapes involved (shape errors). Nothing panics, nothing wraps.
//!
//! Each test writes its files into its own folder under the system's temp
//! folder (named after the test and the process id) and removes it after.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use netledger::count::{analyze, Analysis};
use netledger::model::load_path;
use netledger::Error;

/// A scratch folder of model files for one test.
struct Folder {
    dir: PathBuf,
}

impl Folder {
    fn new(test: &str) -> Folder {
        let dir = std::env::temp_dir().join(format!(
            "netledger-model-errors-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Folder { dir }
    }

    /// Writes `name` (e.g. `m.toml`) and returns its path.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Loads and counts `path`, turning a panic into a test failure that says so.
fn count(path: &Path, input: Option<&[u64]>) -> Result<Analysis, Error> {
    catch_unwind(AssertUnwindSafe(|| {
        load_path(path).and_then(|spec| analyze(&spec, input))
    }))
    .unwrap_or_else(|_| panic!("the engine panicked on {}", path.display()))
}

/// Writes `m.toml` with `text` in a fresh folder, expects an error.
fn error_in(test: &str, text: &str) -> (Folder, PathBuf, Error) {
    error_with_input(test, text, None)
}

fn error_with_input(test: &str, text: &str, input: Option<&[u64]>) -> (Folder, PathBuf, Error) {
    let folder = Folder::new(test);
    let path = folder.file("m.toml", text);
    let err = match count(&path, input) {
        Ok(a) => panic!(
            "expected an error, got a model with {} params",
            a.total.params
        ),
        Err(e) => e,
    };
    (folder, path, err)
}

/// The error's message contains `needle`.
#[track_caller]
fn says(err: &Error, needle: &str) {
    let message = err.to_string();
    assert!(
        message.contains(needle),
        "message {message:?} should contain {needle:?}\n{}",
        err.render()
    );
}

/// The error points at `path:line:col`, and the rendered report shows it
/// with the source line and a caret.
#[track_caller]
fn at(err: &Error, path: &Path, line: usize, col: usize) {
    let want = format!("{}:{line}:{col}", path.display());
    let span = err
        .span()
        .unwrap_or_else(|| panic!("no position in {}", err.render()));
    assert_eq!(span.position(), want, "{}", err.render());
    let rendered = err.render();
    assert!(rendered.starts_with("error: "), "{rendered}");
    assert!(rendered.contains(&format!(" --> {want}\n")), "{rendered}");
    // ` --> pos`, then the gutter, the source line and the caret line.
    let lines: Vec<&str> = rendered.lines().collect();
    let arrow = lines.iter().position(|l| l.starts_with(" --> ")).unwrap();
    let caret = lines.get(arrow + 3).copied().unwrap_or("");
    assert!(caret.trim_start().starts_with('|'), "{rendered}");
    assert!(caret.trim_end().ends_with('^'), "{rendered}");
}

/// A shape error at `layer` whose message shows every one of `shapes`.
#[track_caller]
fn shape_error(err: &Error, layer: &str, shapes: &[&str]) {
    match err {
        Error::Shape {
            layer: got,
            message,
            ..
        } => {
            assert_eq!(got, layer, "{}", err.render());
            for s in shapes {
                assert!(message.contains(s), "{message:?} should show {s}");
            }
            assert!(err.to_string().starts_with(&format!("{layer}: ")));
        }
        other => panic!("expected a shape error, got {}", other.render()),
    }
}

/// The hint line of a rendered report, or "" when there is none.
fn hint(err: &Error) -> String {
    err.render()
        .lines()
        .find_map(|l| l.strip_prefix("  = hint: "))
        .unwrap_or("")
        .to_string()
}

// ---------------------------------------------------------------------------
// Syntax and fields
// ---------------------------------------------------------------------------

#[test]
fn malformed_toml_points_at_the_broken_spot() {
    let text = r#"name = "m"
input = [3, 8 8]
"#;
    let (_f, path, err) = error_in("malformed_toml", text);
    assert!(matches!(err, Error::Syntax { .. }), "{}", err.render());
    // The array lacks a comma: the parser stops at the value `8 8`.
    at(&err, &path, 2, 13);
}

#[test]
fn unterminated_string_is_a_syntax_error_not_a_panic() {
    let text = "name = \"m\ninput = [3, 8, 8]\n";
    let (_f, path, err) = error_in("unterminated_string", text);
    assert!(matches!(err, Error::Syntax { .. }), "{}", err.render());
    assert_eq!(err.span().unwrap().line_col().0, 1, "{}", err.render());
    assert!(err.render().contains(&path.display().to_string()));
}

#[test]
fn unknown_top_level_field_points_at_the_field() {
    let text = r#"name = "m"
inptu = [3, 8, 8]
"#;
    let (_f, path, err) = error_in("unknown_top_level_field", text);
    says(&err, "unknown field `inptu`");
    says(&err, "input");
    at(&err, &path, 2, 1);
}

#[test]
fn unknown_field_in_a_block_points_at_the_field() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["c"]
boddy = ["conv $c k3 p1"]

[[section]]
name = "s"
layers = ["b 8"]
"#;
    let (_f, path, err) = error_in("unknown_block_field", text);
    says(&err, "unknown field `boddy`");
    at(&err, &path, 6, 1);
}

#[test]
fn unknown_field_in_a_section_points_at_the_field() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layer = ["relu"]
"#;
    let (_f, path, err) = error_in("unknown_section_field", text);
    says(&err, "unknown field `layer`");
    at(&err, &path, 6, 1);
}

#[test]
fn missing_name_input_or_sections_are_reported() {
    let (_f, path, err) = error_in("missing_name", "input = [3, 8, 8]\n");
    says(&err, "missing `name`");
    at(&err, &path, 1, 1);
    let (_f, _, err) = error_in(
        "missing_input",
        "name = \"m\"\n[[section]]\nname = \"s\"\nlayers = [\"relu\"]\n",
    );
    says(&err, "missing `input`");
    let (_f, _, err) = error_in("no_sections", "name = \"m\"\ninput = [3, 8, 8]\n");
    says(&err, "no sections");
}

// ---------------------------------------------------------------------------
// The layer shorthand
// ---------------------------------------------------------------------------

#[test]
fn unknown_layer_kind_with_punctuation_points_at_the_word() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["conv 8 k3 p1", "relu!"]
"#;
    let (_f, path, err) = error_in("unknown_kind_punct", text);
    says(&err, "unknown layer kind `relu!`");
    assert!(hint(&err).contains("maxpool"), "{}", err.render());
    at(&err, &path, 6, 28);
}

#[test]
fn unknown_layer_kind_that_could_be_a_block_lists_the_kinds() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["conv 8 k3 p1", "rleu"]
"#;
    let (_f, path, err) = error_in("unknown_kind_word", text);
    says(&err, "unknown layer kind or block `rleu`");
    assert!(hint(&err).contains("relu"), "{}", err.render());
    at(&err, &path, 6, 28);
}

#[test]
fn misspelt_layer_kind_with_options_is_called_an_unknown_kind() {
    // `convv 8 k3` is not a block call with a stray option: it is a typo.
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["convv 8 k3"]
"#;
    let (_f, path, err) = error_in("misspelt_kind", text);
    says(&err, "unknown layer kind `convv`");
    at(&err, &path, 6, 12);
}

#[test]
fn bad_option_token_points_at_the_token() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["conv 8 k3 q1"]
"#;
    let (_f, path, err) = error_in("bad_option", text);
    says(&err, "unexpected `q1`");
    assert!(hint(&err).contains("k<n>"), "{}", err.render());
    at(&err, &path, 6, 22);
}

#[test]
fn option_given_twice_or_to_the_wrong_layer_points_at_it() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["conv 8 k3 s1 s2"]
"#;
    let (_f, path, err) = error_in("option_twice", text);
    says(&err, "conv does not take `s` (or takes it once)");
    at(&err, &path, 6, 25);

    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["maxpool k2 g2", "bn"]
"#;
    let (_f, path, err) = error_in("option_wrong_layer", text);
    says(&err, "maxpool does not take `g`");
    at(&err, &path, 6, 23);

    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["bn nobias"]
"#;
    let (_f, path, err) = error_in("flag_wrong_layer", text);
    says(&err, "bn does not take `nobias`");
    at(&err, &path, 6, 15);
}

#[test]
fn layer_without_its_required_value_says_what_is_missing() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["conv k3"]
"#;
    let (_f, path, err) = error_in("conv_without_channels", text);
    says(&err, "conv needs its output channels");
    at(&err, &path, 6, 12);

    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["conv 8"]
"#;
    let (_f, path, err) = error_in("conv_without_kernel", text);
    says(&err, "conv needs a kernel size");
    at(&err, &path, 6, 12);
}

// ---------------------------------------------------------------------------
// Blocks and arguments
// ---------------------------------------------------------------------------

#[test]
fn block_call_with_a_missing_argument_names_the_arity() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["c", "s"]
body = ["conv $c k3 s$s p1"]

[[section]]
name = "s"
layers = ["b 16"]
"#;
    let (_f, path, err) = error_in("arity_missing", text);
    says(&err, "block `b` takes 2 argument(s), got 1");
    assert_eq!(hint(&err), "`b <c> <s>`");
    at(&err, &path, 10, 12);
}

#[test]
fn block_call_with_an_extra_argument_names_the_arity() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["c"]
body = ["conv $c k3 p1"]

[[section]]
name = "s"
layers = ["relu", "b 16 2"]
"#;
    let (_f, path, err) = error_in("arity_extra", text);
    says(&err, "block `b` takes 1 argument(s), got 2");
    at(&err, &path, 10, 20);
}

#[test]
fn unknown_argument_in_a_block_points_at_it_and_lists_those_in_scope() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["c"]
body = ["conv $x k3 p1"]

[[section]]
name = "s"
layers = ["b 16"]
"#;
    let (_f, path, err) = error_in("unknown_arg_block", text);
    says(&err, "unknown argument `$x`");
    assert_eq!(
        hint(&err),
        "arguments in scope: $c, $in_c, $in_h, $in_last, $in_w"
    );
    at(&err, &path, 6, 15);
}

#[test]
fn argument_outside_any_block_is_unknown() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["conv $c k3"]
"#;
    let (_f, path, err) = error_in("unknown_arg_section", text);
    says(&err, "unknown argument `$c`");
    assert_eq!(hint(&err), "no arguments are in scope here");
    at(&err, &path, 6, 17);
}

#[test]
fn unknown_block_lists_the_defined_blocks() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.basic]
args = ["c"]
body = ["conv $c k3 p1"]

[[section]]
name = "s"
layers = ["basic 8", "bottleneck 8"]
"#;
    let (_f, path, err) = error_in("unknown_block", text);
    says(&err, "unknown layer kind or block `bottleneck`");
    assert_eq!(hint(&err), "blocks defined: basic");
    at(&err, &path, 10, 23);
}

#[test]
fn block_that_calls_itself_hits_the_nesting_limit() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.again]
args = []
body = ["relu", "again"]

[[section]]
name = "s"
layers = ["again"]
"#;
    let (_f, path, err) = error_in("self_recursion", text);
    says(&err, "blocks nest deeper than 32 levels at `again`");
    assert!(hint(&err).contains("calls itself"), "{}", err.render());
    at(&err, &path, 6, 18);
}

#[test]
fn blocks_that_call_each_other_hit_the_nesting_limit() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.ping]
args = ["c"]
body = ["conv $c k1", "pong $c"]

[blocks.pong]
args = ["c"]
body = ["relu", "ping $c"]

[[section]]
name = "s"
layers = ["ping 4"]
"#;
    let (_f, _path, err) = error_in("mutual_recursion", text);
    says(&err, "blocks nest deeper than 32 levels");
    assert!(err.span().is_some());
}

#[test]
fn merge_block_definitions_that_cannot_merge_are_rejected() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["c"]
body = ["conv $c k3 p1"]
merge = "add"

[[section]]
name = "s"
layers = ["b 3"]
"#;
    let (_f, _, err) = error_in("merge_one_path", text);
    says(&err, "block `b` merges fewer than two paths");

    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["c"]
body = ["conv $c k3 p1"]
merge = "add"
shortcut = "auto"

[[section]]
name = "s"
layers = ["b 3"]
"#;
    let (_f, _, err) = error_in("auto_without_projection", text);
    says(&err, "no `projection` layers");

    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["c"]
body = ["conv $c k3 p1"]
merge = "sum"
shortcut = "identity"

[[section]]
name = "s"
layers = ["b 3"]
"#;
    let (_f, path, err) = error_in("unknown_merge", text);
    says(&err, "sum");
    assert_eq!(err.span().unwrap().line_col().0, 7, "{}", err.render());
    assert!(err.render().contains(&path.display().to_string()));
}

// ---------------------------------------------------------------------------
// extends
// ---------------------------------------------------------------------------

#[test]
fn unknown_model_in_extends_points_at_the_name_and_lists_known_models() {
    let folder = Folder::new("unknown_extends");
    folder.file(
        "base.toml",
        "name = \"Base\"\ninput = [3, 8, 8]\n[[section]]\nname = \"s\"\nlayers = [\"relu\"]\n",
    );
    let path = folder.file("m.toml", "name = \"m\"\nextends = \"resnet9\"\n");
    let err = count(&path, None).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownModel { name, .. } if name == "resnet9"),
        "{}",
        err.render()
    );
    says(&err, "unknown model `resnet9`");
    says(&err, "resnet9.toml");
    at(&err, &path, 2, 11);
    assert!(
        err.render().contains("known models: base, m"),
        "{}",
        err.render()
    );
}

#[test]
fn cyclic_extends_through_another_file_is_an_error() {
    let folder = Folder::new("cyclic_extends");
    let a = folder.file("a.toml", "extends = \"b\"\nname = \"A\"\n");
    let b = folder.file("b.toml", "name = \"B\"\nextends = \"a\"\n");
    let err = count(&a, None).unwrap_err();
    says(&err, "cyclic `extends`: a -> b -> a");
    at(&err, &b, 2, 11);
    let err = count(&b, None).unwrap_err();
    says(&err, "cyclic `extends`: b -> a -> b");
    at(&err, &a, 1, 11);
}

#[test]
fn a_model_that_extends_itself_is_an_error() {
    let folder = Folder::new("self_extends");
    let a = folder.file(
        "a.toml",
        "name = \"A\"\ninput = [3, 8, 8]\nextends = \"a\"\n[[section]]\nname = \"s\"\nlayers = [\"relu\"]\n",
    );
    let err = count(&a, None).unwrap_err();
    says(&err, "cyclic `extends`: a -> a");
    at(&err, &a, 3, 11);
}

// ---------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------

#[test]
fn identity_shortcut_around_a_widening_body_fails_at_the_add() {
    let text = r#"name = "m"
input = [64, 56, 56]

[blocks.widen]
args = ["c"]
body = ["conv $c k3 p1 nobias", "bn"]
merge = "add"
shortcut = "identity"
then = ["relu"]

[[section]]
name = "stage1"
layers = ["widen 64", "widen 128"]
"#;
    let (_f, path, err) = error_in("add_mismatch", text);
    shape_error(&err, "m/stage1/block1/add", &["1x128x56x56", "1x64x56x56"]);
    says(&err, "cannot add tensors of different shapes");
    // Points at the block's definition, `[blocks.widen]`.
    at(&err, &path, 4, 1);
}

#[test]
fn concat_of_different_spatial_sizes_fails_at_the_concat() {
    let text = r#"name = "m"
input = [3, 32, 32]

[blocks.mixed]
args = []
body = ["conv 8 k3"]
branches = [["conv 8 k1"]]
merge = "concat"

[[section]]
name = "s"
layers = ["mixed"]
"#;
    let (_f, path, err) = error_in("concat_mismatch", text);
    shape_error(&err, "m/s/block0/concat", &["1x8x30x30", "1x8x32x32"]);
    says(&err, "cannot concatenate");
    at(&err, &path, 4, 1);
}

#[test]
fn kernel_larger_than_its_padded_input_names_the_layer_and_sizes() {
    let text = r#"name = "m"
input = [3, 5, 5]

[[section]]
name = "s"
layers = ["conv 8 k3 p1", "conv 8 k9 p1"]
"#;
    let (_f, path, err) = error_in("kernel_too_large", text);
    shape_error(&err, "m/s/conv2", &["1x8x5x5"]);
    says(
        &err,
        "kernel (9 with dilation) is larger than the padded input height (5 + 2x1 = 7)",
    );
    at(&err, &path, 6, 28);
}

#[test]
fn dilated_kernel_and_pool_window_larger_than_the_input_fail() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["conv 8 k3 d4"]
"#;
    let (_f, _, err) = error_in("dilated_too_large", text);
    shape_error(&err, "m/s/conv1", &["1x3x8x8"]);
    says(&err, "kernel (9 with dilation)");

    let text = r#"name = "m"
input = [3, 2, 2]

[[section]]
name = "s"
layers = ["maxpool k3 s2"]
"#;
    let (_f, _, err) = error_in("pool_too_large", text);
    shape_error(&err, "m/s/pool1", &["1x3x2x2"]);
    says(&err, "larger than the padded input");
}

#[test]
fn groups_that_do_not_divide_the_channels_fail() {
    let text = r#"name = "m"
input = [6, 8, 8]

[[section]]
name = "s"
layers = ["conv 8 k3 p1 g4"]
"#;
    let (_f, path, err) = error_in("groups_input", text);
    shape_error(&err, "m/s/conv1", &["1x6x8x8"]);
    says(
        &err,
        "groups=4 must divide both input channels (6) and output channels (8)",
    );
    at(&err, &path, 6, 12);

    let text = r#"name = "m"
input = [8, 8, 8]

[[section]]
name = "s"
layers = ["conv 6 k3 p1 g4"]
"#;
    let (_f, _, err) = error_in("groups_output", text);
    says(
        &err,
        "groups=4 must divide both input channels (8) and output channels (6)",
    );

    let text = r#"name = "m"
input = [32, 8, 8]

[[section]]
name = "s"
layers = ["dwconv: conv 48 k3 p1 dw"]
"#;
    let (_f, _, err) = error_in("depthwise_output", text);
    shape_error(&err, "m/s/dwconv", &["1x32x8x8"]);
    says(&err, "groups=32");
}

#[test]
fn zero_in_the_input_shape_points_at_it() {
    let text = r#"name = "m"
input = [3, 0, 224]

[[section]]
name = "s"
layers = ["conv 8 k3"]
"#;
    let (_f, path, err) = error_in("zero_input", text);
    says(&err, "input sizes must be positive, got 0");
    at(&err, &path, 2, 13);
}

#[test]
fn empty_input_shape_is_an_error() {
    let text = r#"name = "m"
input = []

[[section]]
name = "s"
layers = ["relu"]
"#;
    let (_f, path, err) = error_in("empty_input", text);
    says(&err, "`input` needs at least one dimension");
    at(&err, &path, 2, 9);
}

#[test]
fn zero_channels_kernel_stride_or_groups_point_at_the_number() {
    let cases = [
        ("conv 0 k3", "output channels must be positive", 17),
        ("conv 8 k0", "kernel size must be positive", 20),
        ("conv 8 k3 s0", "stride must be positive", 23),
        ("conv 8 k3 g0", "groups must be positive", 23),
        ("linear 0", "output features must be positive", 19),
        ("maxpool k2 s0", "stride must be positive", 24),
        ("adaptiveavgpool 0", "output size must be positive", 28),
    ];
    for (i, (layer, message, col)) in cases.into_iter().enumerate() {
        let text = format!(
            "name = \"m\"\ninput = [3, 8, 8]\n\n[[section]]\nname = \"s\"\nlayers = [\"{layer}\"]\n"
        );
        let (_f, path, err) = error_in(&format!("zero_sizes_{i}"), &text);
        says(&err, message);
        at(&err, &path, 6, col);
    }
}

#[test]
fn input_override_with_a_zero_or_no_dimension_is_an_error() {
    // Whatever the first layer, an override such as `--input 3x0x8` or an
    // empty shape is refused before any layer sees it.
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "head"
layers = ["gap", "flatten", "bn", "linear 10"]
"#;
    for (i, input) in [&[3u64, 0, 8][..], &[0, 8, 8], &[]].into_iter().enumerate() {
        let (_f, _, err) = error_with_input(&format!("zero_override_{i}"), text, Some(input));
        assert!(matches!(err, Error::Shape { .. }), "{}", err.render());
        let message = err.to_string();
        assert!(message.starts_with("m: "), "{message}");
    }
}

#[test]
fn negative_input_size_points_at_it() {
    let text = r#"name = "m"
input = [3, -224, 224]

[[section]]
name = "s"
layers = ["conv 8 k3"]
"#;
    let (_f, path, err) = error_in("negative_input", text);
    says(&err, "input sizes must be positive, got -224");
    at(&err, &path, 2, 13);
}

#[test]
fn negative_size_from_an_expression_points_at_the_expression() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["c"]
body = ["conv $c-128 k3"]

[[section]]
name = "s"
layers = ["b 64"]
"#;
    let (_f, path, err) = error_in("negative_expr", text);
    says(&err, "expression is negative (-64)");
    at(&err, &path, 6, 15);
}

#[test]
fn rank_mismatch_names_the_layer_and_the_shape() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["flatten", "conv 8 k3"]
"#;
    let (_f, _, err) = error_in("rank_mismatch", text);
    shape_error(&err, "m/s/conv1", &["1x192"]);
    says(&err, "needs a CxHxW input");
}

#[test]
fn repeat_zero_points_at_the_layer() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["conv 8 k3", "relu *0"]
"#;
    let (_f, path, err) = error_in("repeat_zero", text);
    says(&err, "repeat count must be at least 1");
    at(&err, &path, 6, 25);
}

#[test]
fn repeat_zero_through_an_argument_is_an_error() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.stack]
args = ["n"]
body = ["conv 8 k3 p1 *$n"]

[[section]]
name = "s"
layers = ["stack 0"]
"#;
    let (_f, path, err) = error_in("repeat_zero_arg", text);
    says(&err, "repeat count must be at least 1");
    at(&err, &path, 6, 10);
}

#[test]
fn duplicate_explicit_layer_names_point_at_the_second() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["a: conv 8 k3 p1", "a: relu"]
"#;
    let (_f, path, err) = error_in("duplicate_names", text);
    says(&err, "two layers are named `m/s/a`");
    at(&err, &path, 6, 31);
}

#[test]
fn duplicate_block_instance_names_are_an_error() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = []
body = ["relu"]

[[section]]
name = "s"
layers = ["x: b", "x: b"]
"#;
    let (_f, path, err) = error_in("duplicate_block_names", text);
    says(&err, "two layers are named `m/s/x`");
    at(&err, &path, 10, 20);
}

#[test]
fn duplicate_section_names_point_at_the_second() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["relu"]

[[section]]
name = "s"
layers = ["relu"]
"#;
    let (_f, path, err) = error_in("duplicate_sections", text);
    says(&err, "section `s` is defined twice");
    at(&err, &path, 9, 8);
}

// ---------------------------------------------------------------------------
// Overflow: an error, never a panic or a wrap
// ---------------------------------------------------------------------------

#[test]
fn huge_input_into_a_conv_overflows_cleanly() {
    let text = r#"name = "m"
input = [3, 4294967296, 4294967296]

[[section]]
name = "s"
layers = ["conv 8 k3"]
"#;
    let (_f, _, err) = error_in("overflow_conv_input", text);
    shape_error(&err, "m/s/conv1", &["1x3x4294967296x4294967296"]);
    says(&err, "overflow");
}

#[test]
fn linear_of_two_to_the_forty_squared_overflows_cleanly() {
    let text = r#"name = "m"
input = [1099511627776]

[[section]]
name = "s"
layers = ["linear 1099511627776"]
"#;
    let (_f, _, err) = error_in("overflow_linear", text);
    shape_error(&err, "m/s/fc1", &["1x1099511627776"]);
    says(&err, "overflow");
}

#[test]
fn totals_that_exceed_64_bits_are_an_error() {
    // Each layer fits (2^62 MACs, 2^63 FLOPs); their sum does not.
    let text = r#"name = "m"
input = [2147483648]

[[section]]
name = "s"
layers = ["linear 2147483648 nobias *4"]
"#;
    let (_f, _, err) = error_in("overflow_totals", text);
    says(&err, "overflow");
}

#[test]
fn numbers_and_expressions_beyond_64_bits_are_errors() {
    let cases = [
        (
            "conv 99999999999999999999 k1",
            "number `99999999999999999999` is too large",
        ),
        (
            "conv 4294967296*4294967296 k1",
            "expression overflows 64 bits",
        ),
        ("conv 8 k1 p9223372036854775808", "overflow"),
        ("conv 8 k3 d9223372036854775808", "overflow"),
    ];
    for (i, (layer, message)) in cases.into_iter().enumerate() {
        let text = format!(
            "name = \"m\"\ninput = [3, 8, 8]\n\n[[section]]\nname = \"s\"\nlayers = [\"{layer}\"]\n"
        );
        let (_f, _, err) = error_in(&format!("overflow_numbers_{i}"), &text);
        says(&err, message);
    }
}

#[test]
fn pooling_with_huge_padding_or_dilation_is_an_error() {
    for (i, layer) in [
        "maxpool k3 p9223372036854775808",
        "maxpool k3 d9223372036854775808",
        "avgpool k3 p18446744073709551615",
    ]
    .into_iter()
    .enumerate()
    {
        let text = format!(
            "name = \"m\"\ninput = [3, 8, 8]\n\n[[section]]\nname = \"s\"\nlayers = [\"{layer}\"]\n"
        );
        let (_f, _, err) = error_in(&format!("overflow_pool_{i}"), &text);
        shape_error(&err, "m/s/pool1", &["1x3x8x8"]);
    }
}

#[test]
fn adaptive_pooling_of_huge_sizes_is_exact_or_an_overflow_error() {
    // 2^62 rows into 7 bins: the bins' lengths sum to 2^62 + 6, which fits.
    let text = r#"name = "m"
input = [1, 4611686018427387904, 1]

[[section]]
name = "s"
layers = ["adaptiveavgpool 7x1"]
"#;
    let folder = Folder::new("adaptive_huge");
    let path = folder.file("m.toml", text);
    let a = count(&path, None).unwrap();
    assert_eq!(a.layers[0].cost.output, vec![1, 7, 1]);
    assert_eq!(a.layers[0].cost.elementwise, (1 << 62) + 6);
    // 2^40 output rows from 8: answered at once, not bin by bin.
    let a = count(&path, Some(&[1, 8, 1])).ok();
    assert!(a.is_some());
    let text = text.replace("7x1", "1099511627776x1");
    let path = folder.file("up.toml", &text);
    let a = count(&path, Some(&[1, 8, 1])).unwrap();
    assert_eq!(a.layers[0].cost.output, vec![1, 1 << 40, 1]);
    assert_eq!(a.layers[0].cost.elementwise, 1 << 40);
    // u64::MAX rows into 7 bins: the bins sum to more than 64 bits.
    let err = count(&path, Some(&[1, u64::MAX, 1])).unwrap_err();
    shape_error(&err, "up/s/pool1", &["1x1x18446744073709551615x1"]);
    says(&err, "overflow");
}

#[test]
fn ceil_mode_pooling_with_a_huge_stride_is_exact() {
    // Reachable from the command line: `--input 1x18446744073709551615x1`.
    // PyTorch: (2^64 - 2 + 2^63 - 1) / 2^63 + 1 = 3, and the last window
    // would start past the input (2 x 2^63 >= 2^64 - 1), so 2 rows.
    let text = r#"name = "m"
input = [1, 8, 1]

[[section]]
name = "s"
layers = ["maxpool k1 s9223372036854775808 ceil"]
"#;
    let folder = Folder::new("ceil_huge");
    let path = folder.file("m.toml", text);
    let a = count(&path, Some(&[1, u64::MAX, 1])).unwrap();
    assert_eq!(a.layers[0].cost.output, vec![1, 2, 1]);
    let a = count(&path, None).unwrap();
    assert_eq!(a.layers[0].cost.output, vec![1, 1, 1]);
}

#[test]
fn runaway_repeat_is_an_error_not_a_memory_blowup() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["n"]
body = ["relu *$n"]

[[section]]
name = "s"
layers = ["relu *4294967296"]

[[section]]
name = "t"
layers = ["b 18446744073709551615"]
"#;
    let (_f, path, err) = error_in("runaway_repeat", text);
    says(&err, "more than 100000 layers");
    at(&err, &path, 10, 12);
    // Through a block argument as well.
    let text = text.replace("\"relu *4294967296\"", "\"relu\"");
    let (_f, path, err) = error_in("runaway_repeat_arg", &text);
    says(&err, "more than 100000 layers");
    at(&err, &path, 6, 10);
}

// ---------------------------------------------------------------------------
// The constructs of modern architectures: their mistakes, whole messages
// ---------------------------------------------------------------------------

/// The whole rendered report, with the scratch folder as DIR.
fn rendered(err: &Error, path: &Path) -> String {
    err.render()
        .replace(&path.parent().unwrap().display().to_string(), "DIR")
}

#[test]
fn a_gate_that_does_not_broadcast_shows_both_shapes() {
    let text = r#"name = "m"
input = [8, 4, 4]

[blocks.gate]
body = ["conv 3 k1"]
shortcut = "identity"
merge = "mul"

[[section]]
name = "s"
layers = ["gate"]
"#;
    let (_f, path, err) = error_in("mul_broadcast", text);
    assert_eq!(
        rendered(&err, &path),
        "error: m/s/block0/mul: cannot multiply tensors of different shapes: 1x3x4x4, 1x8x4x4 (they do not broadcast)\n --> DIR/m.toml:4:1\n  |\n4 | [blocks.gate]\n  | ^^^^^^^^^^^^^\n"
    );
}

#[test]
fn heads_that_do_not_divide_the_width_name_the_attention_layer() {
    let text = r#"name = "m"
input = [3, 32, 32]

[[section]]
name = "s"
layers = ["conv 10 k16 s16", "tokens", "mha 3"]
"#;
    let (_f, path, err) = error_in("heads", text);
    assert_eq!(
        rendered(&err, &path),
        "error: m/s/attn1: 3 heads must divide the embedding size 10 (input 1x4x10)\n --> DIR/m.toml:6:41\n  |\n6 | layers = [\"conv 10 k16 s16\", \"tokens\", \"mha 3\"]\n  |                                         ^^^^^\n"
    );
}

#[test]
fn a_permute_in_the_wrong_numbering_says_which_numbering() {
    let text = r#"name = "m"
input = [3, 8, 8]

[[section]]
name = "s"
layers = ["permute 1 2 0"]
"#;
    let (_f, _path, err) = error_in("permute", text);
    says(
        &err,
        "m/s/permute1: permute takes 4 dimensions in torch's numbering, starting with the batch, 0 (e.g. `permute 0 2 3 1`) (input 1x3x8x8)",
    );
}

#[test]
fn a_layer_argument_used_as_a_number_and_a_missing_one_are_located() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["act"]
body = ["conv 4 k1", "$act", "$norm"]

[[section]]
name = "s"
layers = ["b relu"]
"#;
    let (_f, path, err) = error_in("layer_arg", text);
    assert_eq!(
        rendered(&err, &path),
        "error: `$norm` is not a layer argument here\n --> DIR/m.toml:6:31\n  |\n6 | body = [\"conv 4 k1\", \"$act\", \"$norm\"]\n  |                               ^^^^^\n  = hint: pass a layer kind word, such as `relu` or `bn`, or a block name for it in the block call\n"
    );
}

#[test]
fn a_fractional_size_asks_for_floor_division() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
args = ["c"]
body = ["conv $c/3 k1"]

[[section]]
name = "s"
layers = ["b 16"]
"#;
    let (_f, path, err) = error_in("fraction", text);
    assert_eq!(
        rendered(&err, &path),
        "error: expression is not a whole number (5.333333)\n --> DIR/m.toml:6:15\n  |\n6 | body = [\"conv $c/3 k1\"]\n  |               ^^^^\n  = hint: use `//`, floor(), ceil() or round()\n"
    );
}

#[test]
fn a_matmul_merge_takes_exactly_two_paths() {
    let text = r#"name = "m"
input = [3, 8, 8]

[blocks.b]
body = ["tokens"]
branches = [["tokens"], ["tokens"]]
merge = "matmul"

[[section]]
name = "s"
layers = ["b"]
"#;
    let (_f, _path, err) = error_in("matmul3", text);
    says(&err, "block `b` multiplies 3 paths as matrices");
}
