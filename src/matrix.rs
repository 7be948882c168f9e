//! Matrix and vector notation: shapes, shape inference, and the expansion of a matrix or
//! vector expression to its entry at given indices (index form), which is how every matrix
//! statement is checked.
//!
//! A vector declared `ℝ^N` is a column (N×1); a matrix `ℝ^{M×N}` has M rows and N columns. The
//! entry of each form at row r and column c (`entry`):
//!
//! - a vector h: (h)_{r,1} = h_r; a matrix Ω: (Ω)_{rc} = Ω_{rc}; a scalar s: s (broadcast);
//! - (A + B)_{rc} = A_{rc} + B_{rc} (same shapes); a number is added to every entry
//!   ((1 − a)_{r1} = 1 − a_r: the ones vector of the textbooks), any other scalar added to a
//!   vector or matrix is a shape error;
//! - (A·B)_{rc} = Σ_{j=1}^{K} A_{rj}·B_{jc} for A M×K and B K×N (a fresh bound index j,
//!   `index::fresh_index`); with K = 1 (an outer product such as δ·xᵀ) no sum: A_{r1}·B_{1c};
//! - (s·A)_{rc} = s·A_{rc}, (A/s)_{rc} = A_{rc}/s for a scalar s;
//! - (Aᵀ)_{rc} = A_{cr};
//! - (A ⊙ B)_{rc} = A_{rc}·B_{rc} (same shapes);
//! - f(A)_{rc} = f(A_{rc}) for a one-argument function f (σ, σ', exp, …), elementwise.
//!
//! Shape errors (inner dimensions that differ, a sum or ⊙ of different shapes, a division by
//! a matrix) are returned as `ShapeError`s with the span of the offending operation; lowering
//! reports them as input errors. Nothing here panics.

use crate::expr::{Expr, Node, Symbol};
use crate::program::substitute;
use crate::source::Span;

/// A dimension: 1, or a size (a size symbol such as N, or an integer literal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    /// The dimension 1 (the column of a vector, the row of a transposed vector).
    One,
    /// Any other size.
    Size(Expr),
}

impl Dim {
    /// The dimension of a literal or symbol: `1` is `One`.
    pub fn of(e: Expr) -> Dim {
        if e.is_one() {
            Dim::One
        } else {
            Dim::Size(e)
        }
    }

    /// The upper bound of a sum over this dimension.
    pub fn bound(&self) -> Expr {
        match self {
            Dim::One => Expr::one(),
            Dim::Size(e) => e.clone(),
        }
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::One => write!(f, "1"),
            Dim::Size(e) => write!(f, "{e}"),
        }
    }
}

/// A declared shape: `ℝ^N` (a column vector) or `ℝ^{M×N}` (a matrix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A column vector of N entries, written with one index (`h_j`).
    Vector(Dim),
    /// A matrix with rows and columns, written with two indices (`Ω_{ij}`).
    Matrix(Dim, Dim),
}

impl Shape {
    /// Rows and columns.
    pub fn dims(&self) -> Dims {
        match self {
            Shape::Vector(n) => Dims {
                rows: n.clone(),
                cols: Dim::One,
            },
            Shape::Matrix(m, n) => Dims {
                rows: m.clone(),
                cols: n.clone(),
            },
        }
    }

    /// Number of index slots of an entry (1 for a vector, 2 for a matrix).
    pub fn rank(&self) -> usize {
        match self {
            Shape::Vector(_) => 1,
            Shape::Matrix(..) => 2,
        }
    }
}

/// Rows × columns of a value that is not a scalar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dims {
    /// Number of rows.
    pub rows: Dim,
    /// Number of columns.
    pub cols: Dim,
}

impl Dims {
    /// The transposed dimensions.
    pub fn transposed(&self) -> Dims {
        Dims {
            rows: self.cols.clone(),
            cols: self.rows.clone(),
        }
    }

    /// The shape a value of these dimensions is declared with (`N×1` is the vector `ℝ^N`).
    pub fn shape(&self) -> Shape {
        match (&self.rows, &self.cols) {
            (r, Dim::One) => Shape::Vector(r.clone()),
            (r, c) => Shape::Matrix(r.clone(), c.clone()),
        }
    }
}

impl std::fmt::Display for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}×{}", self.rows, self.cols)
    }
}

/// A matrix or vector expression with the span of each node.
#[derive(Debug, Clone)]
pub struct Mat {
    /// The node.
    pub kind: MatKind,
    /// Where it is written.
    pub span: Span,
}

/// The nodes of a matrix expression.
#[derive(Debug, Clone)]
pub enum MatKind {
    /// A name with a shape (declared or defined): its entries are `name_{rc}`.
    Var(Symbol, Shape),
    /// A scalar, broadcast where it meets a matrix by `·`, `/` or `+`.
    Scalar(Expr),
    /// A sum of terms, each with its sign (true: negated).
    Add(Vec<(bool, Mat)>),
    /// `A·B`: a matrix product, or a scaling when one side is a scalar.
    Mul(Box<Mat>, Box<Mat>),
    /// `A/s` for a scalar s.
    Div(Box<Mat>, Box<Mat>),
    /// `A ⊙ B`.
    Hadamard(Box<Mat>, Box<Mat>),
    /// `Aᵀ`.
    Transpose(Box<Mat>),
    /// `f(A)` elementwise: `template` with `param` replaced by each entry.
    Map {
        /// The function applied to `param` (`σ'(param)`).
        template: Expr,
        /// The placeholder.
        param: Symbol,
        /// The argument.
        arg: Box<Mat>,
    },
}

/// A shape error: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// What is wrong, as a sentence fragment (`the inner dimensions N and K of Ω·x differ`).
    pub message: String,
    /// The operation.
    pub span: Span,
}

fn err<T>(span: Span, message: String) -> Result<T, ShapeError> {
    Err(ShapeError { message, span })
}

impl Mat {
    /// A node.
    pub fn new(kind: MatKind, span: Span) -> Mat {
        Mat { kind, span }
    }

    /// The dimensions of the value, `None` for a scalar, or the first shape error.
    pub fn dims(&self) -> Result<Option<Dims>, ShapeError> {
        match &self.kind {
            MatKind::Var(_, shape) => Ok(Some(shape.dims())),
            MatKind::Scalar(_) => Ok(None),
            MatKind::Add(terms) => {
                let mut acc: Option<(Dims, Span)> = None;
                let mut any_scalar = false;
                for (_, t) in terms {
                    match (t.dims()?, &acc) {
                        // A number is added to every entry (1 − a: the ones vector).
                        (None, _) if matches!(&t.kind, MatKind::Scalar(e) if e.as_num().is_some()) => {}
                        (None, _) => any_scalar = true,
                        (Some(d), None) => acc = Some((d, t.span)),
                        (Some(d), Some((a, _))) if &d == a => {}
                        (Some(d), Some((a, _))) => {
                            return err(
                                self.span,
                                format!("a sum of values of different shapes ({a} and {d})"),
                            )
                        }
                    }
                }
                match acc {
                    Some((d, _)) if any_scalar => err(
                        self.span,
                        format!("a sum of a scalar and a value of shape {d}"),
                    ),
                    acc => Ok(acc.map(|(d, _)| d)),
                }
            }
            MatKind::Mul(a, b) => match (a.dims()?, b.dims()?) {
                (None, d) | (d, None) => Ok(d),
                (Some(x), Some(y)) if x.cols == y.rows => Ok(Some(Dims {
                    rows: x.rows,
                    cols: y.cols,
                })),
                (Some(x), Some(y)) => err(
                    self.span,
                    format!(
                        "a matrix product of shapes {x} and {y}: the inner dimensions {} and {} differ",
                        x.cols, y.rows
                    ),
                ),
            },
            MatKind::Div(a, b) => match b.dims()? {
                None => a.dims(),
                Some(d) => err(
                    self.span,
                    format!("a division by a value of shape {d} (only division by a scalar is read)"),
                ),
            },
            MatKind::Hadamard(a, b) => match (a.dims()?, b.dims()?) {
                (Some(x), Some(y)) if x == y => Ok(Some(x)),
                (Some(x), Some(y)) => err(
                    self.span,
                    format!("an elementwise product ⊙ of different shapes ({x} and {y})"),
                ),
                _ => err(
                    self.span,
                    "an elementwise product ⊙ with a scalar (write `·` for scaling)".to_owned(),
                ),
            },
            MatKind::Transpose(a) => match a.dims()? {
                Some(d) => Ok(Some(d.transposed())),
                None => err(self.span, "a transpose of a scalar".to_owned()),
            },
            MatKind::Map { arg, .. } => arg.dims(),
        }
    }

    /// The entry at row `r` and column `c` (each an index symbol or an integer), in index
    /// form. `taken` holds the index names in scope (the free indices of the statement and
    /// the bound indices of enclosing sums), which a fresh bound index avoids. Call `dims`
    /// first: an expression with a shape error expands to some value, never panics.
    pub fn entry(&self, r: &Expr, c: &Expr, taken: &mut Vec<String>) -> Expr {
        match &self.kind {
            MatKind::Var(sym, shape) => {
                // Label slots first (`W_{ℓ+1}` has the entries `W_{ℓ+1,i,k}`).
                let mut slots = sym.sub().map(crate::index::slots).unwrap_or_default();
                match shape {
                    Shape::Vector(_) => slots.push(slot(r)),
                    Shape::Matrix(..) => slots.extend([slot(r), slot(c)]),
                }
                let sub = crate::index::join_slots(&slots);
                Expr::sym(Symbol::with_sub(sym.name(), Some(&sub)))
            }
            MatKind::Scalar(e) => e.clone(),
            MatKind::Add(terms) => Expr::add(
                terms
                    .iter()
                    .map(|(neg, t)| {
                        let e = t.entry(r, c, taken);
                        if *neg {
                            Expr::neg(e)
                        } else {
                            e
                        }
                    })
                    .collect(),
            ),
            MatKind::Mul(a, b) => {
                let (da, db) = (a.dims().ok().flatten(), b.dims().ok().flatten());
                match (da, db) {
                    (Some(x), Some(_)) => match x.cols {
                        Dim::One => {
                            let one = Expr::one();
                            Expr::mul(vec![a.entry(r, &one, taken), b.entry(&one, c, taken)])
                        }
                        Dim::Size(k) => {
                            let j = crate::index::fresh_index(|s| taken.iter().any(|t| t == s));
                            taken.push(j.clone());
                            let js = Expr::sym(Symbol::new(&j));
                            let body =
                                Expr::mul(vec![a.entry(r, &js, taken), b.entry(&js, c, taken)]);
                            taken.pop();
                            Expr::new(Node::Sum {
                                index: Symbol::new(&j),
                                lo: Expr::one(),
                                hi: k,
                                body,
                            })
                        }
                    },
                    _ => Expr::mul(vec![a.entry(r, c, taken), b.entry(r, c, taken)]),
                }
            }
            MatKind::Div(a, b) => Expr::div(a.entry(r, c, taken), b.entry(r, c, taken)),
            MatKind::Hadamard(a, b) => Expr::mul(vec![a.entry(r, c, taken), b.entry(r, c, taken)]),
            MatKind::Transpose(a) => a.entry(c, r, taken),
            MatKind::Map {
                template,
                param,
                arg,
            } => {
                let e = arg.entry(r, c, taken);
                substitute(template, std::slice::from_ref(param), &[e])
            }
        }
    }

    /// True when no node of the expression has a shape (it is an ordinary scalar).
    pub fn is_scalar_leaf(&self) -> bool {
        matches!(self.kind, MatKind::Scalar(_))
    }
}

/// The subscript slot of an index value: the index name or the integer.
fn slot(e: &Expr) -> String {
    match (e.as_sym(), e.as_num()) {
        (Some(s), _) => s.name().to_owned(),
        (None, Some(n)) => n.to_string(),
        _ => e.to_string(),
    }
}

/// The index symbol named `name`.
pub fn index_sym(name: &str) -> Expr {
    Expr::sym(Symbol::new(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, shape: Shape) -> Mat {
        Mat::new(MatKind::Var(Symbol::new(name), shape), Span::default())
    }

    fn size(name: &str) -> Dim {
        Dim::Size(Expr::var(name))
    }

    fn mul(a: Mat, b: Mat) -> Mat {
        Mat::new(MatKind::Mul(Box::new(a), Box::new(b)), Span::default())
    }

    fn tr(a: Mat) -> Mat {
        Mat::new(MatKind::Transpose(Box::new(a)), Span::default())
    }

    fn entry_text(m: &Mat, r: &str, c: &str) -> String {
        let mut taken = vec![r.to_owned(), c.to_owned()];
        let c = if c == "1" { Expr::one() } else { index_sym(c) };
        m.entry(&index_sym(r), &c, &mut taken).to_string()
    }

    #[test]
    fn affine_layer_expands_to_a_sum_over_the_inner_dimension() {
        let omega = var("Omega", Shape::Matrix(size("M"), size("N")));
        let h = var("h", Shape::Vector(size("N")));
        let beta = var("beta", Shape::Vector(size("M")));
        let prod = mul(omega, h);
        let z = Mat::new(
            MatKind::Add(vec![(false, beta), (false, prod)]),
            Span::default(),
        );
        let dims = z.dims().ok().flatten();
        assert_eq!(dims.map(|d| d.to_string()), Some("M×1".to_owned()));
        assert_eq!(
            entry_text(&z, "i", "1"),
            "beta_i + sum(j, 1, N, Omega_{ij}*h_j)"
        );
    }

    #[test]
    fn bound_index_avoids_the_free_ones() {
        let w = var("W", Shape::Matrix(size("M"), size("N")));
        let x = var("x", Shape::Vector(size("N")));
        let m = mul(w, x);
        assert_eq!(entry_text(&m, "j", "1"), "sum(m, 1, N, W_{jm}*x_m)");
    }

    #[test]
    fn transpose_swaps_the_indices_and_nested_products_get_distinct_indices() {
        let w = var("W", Shape::Matrix(size("M"), size("N")));
        let v = var("v", Shape::Matrix(size("M"), size("M")));
        let d = var("d", Shape::Vector(size("M")));
        let m = mul(tr(w), mul(v, d));
        assert_eq!(
            m.dims().ok().flatten().map(|d| d.to_string()),
            Some("N×1".into())
        );
        assert_eq!(
            entry_text(&m, "i", "1"),
            "sum(j, 1, M, W_{ji}*sum(m, 1, M, v_{jm}*d_m))"
        );
    }

    #[test]
    fn outer_product_has_no_sum() {
        let d = var("d", Shape::Vector(size("M")));
        let x = var("x", Shape::Vector(size("N")));
        let m = mul(d, tr(x));
        assert_eq!(
            m.dims().ok().flatten().map(|d| d.to_string()),
            Some("M×N".into())
        );
        assert_eq!(entry_text(&m, "k", "l"), "d_k*x_l");
    }

    #[test]
    fn mismatched_inner_dimensions_are_a_shape_error() {
        let w = var("W", Shape::Matrix(size("M"), size("N")));
        let x = var("x", Shape::Vector(size("M")));
        let res = mul(w, x).dims();
        assert_eq!(
            res.err().map(|e| e.message),
            Some(
                "a matrix product of shapes M×N and M×1: the inner dimensions N and M differ"
                    .to_owned()
            )
        );
    }

    #[test]
    fn hadamard_of_different_shapes_is_a_shape_error() {
        let a = var("a", Shape::Vector(size("M")));
        let b = var("b", Shape::Vector(size("N")));
        let m = Mat::new(MatKind::Hadamard(Box::new(a), Box::new(b)), Span::default());
        assert!(m.dims().is_err());
        let sum = Mat::new(
            MatKind::Add(vec![
                (false, var("a", Shape::Vector(size("M")))),
                (
                    true,
                    Mat::new(
                        MatKind::Scalar(Expr::sym(Symbol::new("y"))),
                        Span::default(),
                    ),
                ),
            ]),
            Span::default(),
        );
        assert!(sum.dims().is_err());
        // A number is added to every entry: a − 1 is a vector like a.
        let minus_one = Mat::new(
            MatKind::Add(vec![
                (false, var("a", Shape::Vector(size("M")))),
                (
                    true,
                    Mat::new(MatKind::Scalar(Expr::one()), Span::default()),
                ),
            ]),
            Span::default(),
        );
        assert_eq!(
            minus_one.dims().ok().flatten(),
            Some(Shape::Vector(size("M")).dims())
        );
    }
}
