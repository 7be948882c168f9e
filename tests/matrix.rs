//! Matrix and vector notation: shapes, the expansion to index form, shape errors with their
//! position, and the layout convention of `∂z/∂h`.

use derivcheck::check::{CheckConfig, Checker};
use derivcheck::limits::Limits;
use derivcheck::load::load;
use derivcheck::print::{self, Format, PrintOptions};
use derivcheck::program::{Item, Layout, Program};
use derivcheck::source::SourceFile;

fn loaded(text: &str) -> (SourceFile, derivcheck::load::Loaded) {
    let src = SourceFile::new("m.dc", text.to_owned());
    let l = load(&src, &Limits::default());
    (src, l)
}

fn program(text: &str) -> Program {
    let (_, l) = loaded(text);
    assert!(l.errors.is_empty(), "input errors: {:?}", l.errors);
    l.program
}

fn ascii(e: &derivcheck::expr::Expr) -> String {
    print::to_string(e, Format::Ascii, &PrintOptions::default())
}

/// The claims of `p` as `lhs = rhs` in ASCII.
fn claims(p: &Program) -> Vec<String> {
    p.items
        .iter()
        .filter_map(|i| match i {
            Item::Claim(c) => Some(format!("{} = {}", ascii(&c.lhs), ascii(&c.rhs))),
            _ => None,
        })
        .collect()
}

/// The verdict words of every claim, in `layout`.
fn verdicts(text: &str, layout: Layout) -> Vec<&'static str> {
    let mut p = program(text);
    p.set_layout(layout);
    Checker::new(&p, &CheckConfig::default())
        .check_program()
        .iter()
        .map(|s| s.outcome.verdict.word())
        .collect()
}

/// The first input error as `line:column: message`.
fn first_error(text: &str) -> String {
    let (src, l) = loaded(text);
    let e = l.errors.first().expect("an input error");
    let lc = src.line_col(e.span().start);
    format!("{}:{}: {}", lc.line, lc.column, e.message())
}

const AFFINE: &str = "assume Ω ∈ ℝ^{M×N}\nassume h ∈ ℝ^N\nassume β ∈ ℝ^M\nlet z = β + Ω·h\n";

#[test]
fn matrix_definition_becomes_an_indexed_family() {
    let p = program(AFFINE);
    let def = p.definitions().last().expect("the definition of z");
    let sym = def.symbol.as_ref().expect("a quantity");
    assert_eq!(sym.sub(), Some("i"));
    assert_eq!(ascii(&def.body), "beta_i + sum(j, 1, N, Omega_{ij}*h_j)");
}

#[test]
fn ascii_spelling_reads_the_same() {
    let ascii_text =
        "assume Omega in R^(M x N)\nassume h in R^N\nassume beta in R^M\nlet z = beta + Omega*h\nclaim dz/dh = Omega^T\n";
    let unicode_text = format!("{AFFINE}claim ∂z/∂h = Ωᵀ\n");
    assert_eq!(
        claims(&program(ascii_text)),
        claims(&program(&unicode_text))
    );
    assert_eq!(
        claims(&program(ascii_text)),
        vec!["d/dh_k z_i = Omega_{ik}".to_owned()]
    );
}

#[test]
fn layout_decides_which_side_is_transposed() {
    let transposed = format!("{AFFINE}claim ∂z/∂h = Ωᵀ\n");
    let jacobian = format!("{AFFINE}claim ∂z/∂h = Ω\n");
    assert_eq!(verdicts(&transposed, Layout::Denominator), vec!["correct"]);
    assert_eq!(verdicts(&transposed, Layout::Numerator), vec!["incorrect"]);
    assert_eq!(verdicts(&jacobian, Layout::Numerator), vec!["correct"]);
    assert_eq!(verdicts(&jacobian, Layout::Denominator), vec!["incorrect"]);
    // The default (no set_layout) is denominator layout.
    let p = program(&transposed);
    assert_eq!(claims(&p), vec!["d/dh_k z_i = Omega_{ik}".to_owned()]);
}

#[test]
fn gradient_of_a_scalar_has_the_shape_of_the_variable_in_either_layout() {
    let text =
        format!("{AFFINE}let E = ½·sum(i, 1, M, z_i²)\nclaim ∂E/∂Ω = z·hᵀ\nclaim ∂E/∂h = Ωᵀ·z\n");
    assert_eq!(
        verdicts(&text, Layout::Denominator),
        vec!["correct", "correct"]
    );
    assert_eq!(
        verdicts(&text, Layout::Numerator),
        vec!["correct", "correct"]
    );
    assert_eq!(
        claims(&program(&text)),
        vec![
            "d/d(Omega_{kl}) E = z_k*h_l".to_owned(),
            "dE/dh_k = sum(j, 1, M, Omega_{jk}*z_j)".to_owned()
        ]
    );
}

#[test]
fn elementwise_function_and_hadamard_product() {
    let text = "assume W ∈ ℝ^{K×H}\nassume d ∈ ℝ^K\nassume z ∈ ℝ^H\nlet g = Wᵀ·d ⊙ σ'(z)\nlet f = W^T*d .* sigma(z)\n";
    let p = program(text);
    let bodies: Vec<String> = p.definitions().map(|d| ascii(&d.body)).collect();
    assert_eq!(
        bodies,
        vec![
            "sum(j, 1, K, W_{ji}*d_j)*sigma'(z_i)".to_owned(),
            "sum(j, 1, K, W_{ji}*d_j)*sigma(z_i)".to_owned()
        ]
    );
}

/// A number added to a vector is added to every entry (1 − a, the ones vector of the
/// textbooks): σ'(z) = σ(z) ⊙ (1 − σ(z)) is proved in matrix form.
#[test]
fn a_number_added_to_a_vector_is_added_to_every_entry() {
    let text =
        "assume z ∈ ℝ^H\nlet a = σ(z)\nlet g = a ⊙ (1 - a)\nclaim g = σ'(z)\nclaim g = 1 - a\n";
    let p = program(text);
    let bodies: Vec<String> = p.definitions().map(|d| ascii(&d.body)).collect();
    assert_eq!(bodies.last().map(String::as_str), Some("a_i*(1 - a_i)"));
    assert_eq!(
        verdicts(text, Layout::Denominator),
        vec!["correct", "incorrect"]
    );
}

#[test]
fn mismatched_inner_dimensions_are_an_input_error_at_the_product() {
    let text = format!("{AFFINE}let E = ½·sum(i, 1, M, z_i²)\nclaim ∂E/∂h = Ω·z\n");
    assert_eq!(
        first_error(&text),
        "6:15: shapes do not fit: a matrix product of shapes M×N and M×1: the inner dimensions N and M differ"
    );
}

#[test]
fn other_shape_errors_name_the_shapes() {
    let base = "assume a ∈ ℝ^M\nassume b ∈ ℝ^N\nassume W ∈ ℝ^{M×N}\n";
    assert_eq!(
        first_error(&format!("{base}let c = a + b\n")),
        "4:9: shapes do not fit: a sum of values of different shapes (M×1 and N×1)"
    );
    assert_eq!(
        first_error(&format!("{base}let c = a ⊙ b\n")),
        "4:9: shapes do not fit: an elementwise product ⊙ of different shapes (M×1 and N×1)"
    );
    assert_eq!(
        first_error(&format!("{base}let c = a + y\n")),
        "4:9: shapes do not fit: a sum of a scalar and a value of shape M×1"
    );
    assert_eq!(
        first_error(&format!(
            "{base}let E = sum(i, 1, M, a_i)\nclaim ∂E/∂W = a·bᵀ + W·b\n"
        )),
        "5:15: shapes do not fit: a sum of values of different shapes (M×N and M×1)"
    );
}

#[test]
fn wrong_layout_shape_is_not_an_error_but_a_wrong_shape_is() {
    let text = format!("{AFFINE}claim ∂z/∂h = h\n");
    assert_eq!(
        first_error(&text),
        "5:15: shapes do not fit: ∂z/∂h is M×N in numerator layout and N×M in denominator layout; the right side is N×1"
    );
}

#[test]
fn transpose_and_hadamard_without_shapes_are_errors() {
    assert_eq!(
        first_error("let c = xᵀ\n"),
        "1:9: shapes do not fit: a transpose of a scalar"
    );
    assert_eq!(
        first_error("let c = x ⊙ y\n"),
        "1:9: shapes do not fit: an elementwise product ⊙ with a scalar (write `·` for scaling)"
    );
}

#[test]
fn hostile_matrix_input_does_not_panic() {
    for text in [
        "assume W ∈ ℝ^{}\n",
        "assume W ∈ ℝ^{M×}\n",
        "assume W ∈ ℝ^{M×N×K}\n",
        "assume W ∈ ℝ^(M x N\n",
        "assume W_i ∈ ℝ^N\n",
        "assume W ∈ ℝ^N\nclaim ∂W/∂x = W\n",
        "assume W ∈ ℝ^N\nderive W = W\n",
        "assume W ∈ ℝ^N\nlet c = sum(i, 1, N, W)\n",
        "assume W ∈ ℝ^N\nlet c = W^2\n",
        "ᵀᵀ ⊙ .*\n",
        "let c = (a ⊙ b)ᵀᵀ\n",
    ] {
        let (_, l) = loaded(text);
        assert!(!l.errors.is_empty(), "expected an input error for {text:?}");
    }
}

/// A 1×1 product (hᵀ·h) is a scalar on either side of a claim.
#[test]
fn a_one_by_one_product_is_a_scalar_in_a_claim() {
    let text = "assume h ∈ ℝ^N\nclaim hᵀ·h = sum(j, 1, N, h_j^2)\nclaim hᵀ·h = 2\n";
    assert_eq!(
        verdicts(text, Layout::Denominator),
        vec!["correct", "incorrect"]
    );
}
