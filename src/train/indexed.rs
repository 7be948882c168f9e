//! An output layer whose units are coupled (softmax) and its loss, read from files in index
//! notation, instantiated at the network's class count and compiled into [`Tape`]s over the
//! class rows of a batch.
//!
//! From the output file (softmax.dc) the first indexed family `O_i = …` over an input family
//! `z` with sums up to a size `C`; from the loss file (softmaxce.dc) the first unindexed
//! quantity `L = …` over `O_i` and a target family `y_i`. With K classes:
//! - forward: O_k at C = K for k = 1..K, the sums written out (`index::expand_concrete`), one
//!   tape with K outputs over the K rows of Z. When the checker proves, at C = K, that
//!   O_k with every z_j replaced by z_j − m is O_k (the shift identity of the formula), the
//!   tape runs the shifted form with m the largest z of each sample, which cannot overflow;
//!   otherwise it runs the formula as written;
//! - loss: L at C = K over the rows of O and Y; and, when the forward pass is shifted, L over
//!   Z, m and Y with each O_k in its shifted form and each log(exp(u)/s) written u − log(s),
//!   used only when the checker finds it equal to the loss, and only where the loss of the
//!   outputs is not finite (an O_k underflowed to 0 under a log);
//! - output delta: ∂L/∂z_k from the differentiator, in index notation; its readable form
//!   (O_k − y_k) is used only when the checker proves it equal to the derivative, and the
//!   assumptions that proof used (Σ_i y_i = 1) are kept for the report. Otherwise, or without
//!   fusing, the derivative itself runs, definitions expanded, at each k.
//!
//! Nothing here knows a softmax or its derivative; the only numbers that are not from the
//! files are the class count and the per-sample maximum m of the shifted form.

use crate::check::{CheckConfig, Checker, Verdict};
use crate::eval::{Elementwise, Real, Tape, TapeScratch};
use crate::expr::{Builtin, Expr, Func, Node, Symbol};
use crate::index::{self, IndexValue};
use crate::program::{DefKind, Definition, Program};
use crate::simplify::readable::refold_builtins;

use super::formulas::{checked_equal, parse_program, FormulaConfig, FormulaError};

/// Most terms written out when a formula is instantiated at the class count.
const MAX_TERMS: usize = 1 << 16;

/// A compiled coupled output layer with its loss.
#[derive(Debug, Clone)]
pub struct IndexedHead {
    /// The output file's name without `.dc` (softmax).
    pub name: String,
    /// The loss file's name without `.dc` (softmaxce).
    pub loss_name: String,
    /// The number of classes K the tapes are compiled for.
    pub classes: usize,
    /// The output entry `O_i`.
    pub output: Symbol,
    /// Its definition as written in the file (exp(z_i)/Σ_j exp(z_j)).
    pub definition: Expr,
    /// The input entry `z_i`.
    pub input: Symbol,
    /// The size symbol (C).
    pub size: Symbol,
    /// Whether the forward pass runs the max-shifted form (proved equal at C = K).
    pub shifted: bool,
    /// The loss quantity (L).
    pub loss: Symbol,
    /// Its definition as written (−Σ_i y_i·log(O_i)).
    pub loss_definition: Expr,
    /// The target entry `y_i`.
    pub target: Symbol,
    /// The variable of the delta, `z_k`.
    pub delta_var: Symbol,
    /// The derivative ∂L/∂z_k as the differentiator generated it (index notation).
    pub derivative: Expr,
    /// The fused delta (O_k − y_k) when proved equal to `derivative`.
    pub fused: Option<Expr>,
    /// The `assume` lines the proof of the fused delta used (`assume sum(i, 1, C, y_i) =
    /// 1`), as written in their files.
    pub fused_assumes: Vec<String>,
    forward_tape: Tape,
    loss_tape: Tape,
    /// `L` over the rows of Z, the per-sample maximum m and the rows of Y: the loss with
    /// `O_k` replaced by its shifted form and each `log(exp(u)/s)` written `u − log(s)`
    /// (checked equal to the loss of the outputs), when the forward pass is shifted. Finite
    /// where an `O_k` underflows to 0 and `y_k·log(O_k)` read from the outputs is not (−∞, or
    /// NaN at y_k = 0); [`Network::loss`](super::Network::loss) falls back on it then.
    loss_from_z: Option<Tape>,
    /// The formula `loss_from_z` runs (over the z entries, m and the y entries).
    pub loss_from_logits: Option<Expr>,
    delta_tape: Tape,
    /// Whether the delta tape reads z (the unfused derivative) rather than O.
    delta_reads_z: bool,
    elementwise: Elementwise,
}

fn stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.strip_suffix(".dc").unwrap_or(base).to_string()
}

/// The one index slot of `s` when it is an index name (`O_i` → `i`).
fn single_index(s: &Symbol) -> Option<String> {
    let sub = s.sub()?;
    match index::slots(sub).as_slice() {
        [one] if index::is_index_name(one) => Some(one.clone()),
        _ => None,
    }
}

/// The first quantity of `program` with exactly one index slot (`let O_i = …`).
fn indexed_family(program: &Program) -> Option<&Definition> {
    program
        .definitions()
        .find(|d| d.kind == DefKind::Quantity && d.symbol.as_ref().and_then(single_index).is_some())
}

/// The names of indexed families among the free symbols of `e`, except `skip`.
fn families(e: &Expr, skip: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in e.free_symbols() {
        if single_index(&s).is_some() && s.name() != skip && !out.iter().any(|n| n == s.name()) {
            out.push(s.name().to_string());
        }
    }
    out
}

/// Free symbols of sum bounds in `e` (the sizes, C).
fn sizes(e: &Expr) -> Vec<Symbol> {
    let mut out: Vec<Symbol> = Vec::new();
    let mut stack = vec![e.clone()];
    let mut budget = 1usize << 20;
    while let Some(x) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        if let Node::Sum { lo, hi, .. } = x.node() {
            for s in lo.free_symbols().into_iter().chain(hi.free_symbols()) {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        stack.extend(x.node().children().cloned());
    }
    out
}

fn entry(family: &str, k: usize) -> Symbol {
    Symbol::with_sub(family, Some(&k.to_string()))
}

fn entries(family: &str, n: usize) -> Vec<Symbol> {
    (1..=n).map(|k| entry(family, k)).collect()
}

impl IndexedHead {
    /// True when the text defines an indexed family and no one-argument function, i.e. an
    /// output that couples its units (softmax.dc).
    pub fn is_indexed_output(name: &str, text: &str) -> bool {
        let cfg = CheckConfig::default();
        parse_program(name, text, &cfg).is_ok_and(|p| {
            indexed_family(&p).is_some()
                && !p
                    .definitions()
                    .any(|d| d.kind == DefKind::Function && d.params.len() == 1)
        })
    }

    /// Reads the output and loss files and compiles them for `classes` classes.
    ///
    /// # Errors
    ///
    /// Input errors, files without the quantities described in the module doc, fewer than
    /// two classes, a derivative that cannot be taken or a formula that does not compile.
    pub fn from_sources(
        output: (&str, &str),
        loss: (&str, &str),
        classes: usize,
        fc: &FormulaConfig,
        fuse: bool,
    ) -> Result<IndexedHead, FormulaError> {
        let cfg = CheckConfig::default();
        let err = |name: &str, m: String| FormulaError::Diff {
            name: name.to_string(),
            message: m,
        };
        if classes < 2 {
            return Err(err(
                output.0,
                format!("an output over classes needs at least 2 outputs, found {classes}"),
            ));
        }
        let out_prog = parse_program(output.0, output.1, &cfg)?;
        let loss_prog = parse_program(loss.0, loss.1, &cfg)?;
        let odef = indexed_family(&out_prog)
            .ok_or_else(|| err(output.0, "no indexed quantity `let O_i = …`".into()))?;
        let o_sym = odef.symbol.clone().unwrap_or_else(|| Symbol::new("O"));
        let i = single_index(&o_sym).unwrap_or_else(|| "i".into());
        let inputs = families(&odef.body, o_sym.name());
        let [z_name] = inputs.as_slice() else {
            return Err(err(
                output.0,
                format!(
                    "{o_sym} must read exactly one indexed input family, found {}",
                    inputs.len()
                ),
            ));
        };
        let size_syms = sizes(&odef.body);
        let [c_sym] = size_syms.as_slice() else {
            return Err(err(
                output.0,
                format!(
                    "{o_sym} must have sums up to one size (C), found {}",
                    size_syms.len()
                ),
            ));
        };
        let ldef = loss_prog
            .definitions()
            .find(|d| {
                d.kind == DefKind::Quantity
                    && d.params.is_empty()
                    && d.symbol.as_ref().is_some_and(|s| s.sub().is_none())
            })
            .ok_or_else(|| err(loss.0, "no unindexed quantity `let L = …`".into()))?;
        let l_sym = ldef.symbol.clone().unwrap_or_else(|| Symbol::new("L"));
        let mut targets = families(&ldef.body, o_sym.name());
        targets.retain(|n| n != z_name);
        let [y_name] = targets.as_slice() else {
            return Err(err(
                loss.0,
                format!(
                    "{l_sym} must read {} and exactly one target family, found {}",
                    o_sym.name(),
                    targets.len()
                ),
            ));
        };
        // The loss file's own definitions first, the output's after them: they win on a
        // name clash (softmaxce.dc defines O_i too).
        let mut program = loss_prog.clone();
        program.extend_definitions(&out_prog);
        let k_count = classes;
        let c_val = Expr::int(i64::try_from(k_count).unwrap_or(i64::MAX));
        let at_size = |e: &Expr| -> Expr {
            crate::program::substitute(e, std::slice::from_ref(c_sym), std::slice::from_ref(&c_val))
        };
        let concrete = |name: &str, e: &Expr| -> Result<Expr, FormulaError> {
            index::expand_concrete(&at_size(e), MAX_TERMS).map_err(|l| err(name, l.to_string()))
        };
        let compile = |name: &str, what: &'static str, es: &[Expr], ins: &[Symbol]| {
            Tape::compile(es, ins).map_err(|source| FormulaError::Compile {
                name: name.to_string(),
                what,
                source,
            })
        };
        let z_in = entries(z_name, k_count);
        let o_in = entries(o_sym.name(), k_count);
        let y_in = entries(y_name, k_count);

        // Forward: O_k at C = K, and the shifted form when it is proved equal.
        let out_checker = Checker::new(&out_prog, &cfg);
        let body = refold_builtins(&odef.body);
        let mut plain = Vec::with_capacity(k_count);
        for k in 1..=k_count {
            let bk = index::subst_index(&body, &i, &IndexValue::Int(k as i64));
            plain.push(concrete(output.0, &bk)?);
        }
        let m = fresh_symbol(&program, &["m", "M", "zmax"]);
        let shifted_vals: Vec<Expr> = z_in
            .iter()
            .map(|zj| Expr::sub(Expr::sym(zj.clone()), Expr::sym(m.clone())))
            .collect();
        let shifted: Vec<Expr> = plain
            .iter()
            .map(|p| crate::program::substitute(p, &z_in, &shifted_vals))
            .collect();
        let shift_proved = plain
            .iter()
            .zip(&shifted)
            .all(|(p, s)| matches!(out_checker.check_equal(s, p).verdict, Verdict::Proved(_)));
        let forward_tape = if shift_proved {
            let mut ins = z_in.clone();
            ins.push(m.clone());
            compile(output.0, "the output (shifted)", &shifted, &ins)?
        } else {
            compile(output.0, "the output", &plain, &z_in)?
        };

        // Loss: L at C = K over O and y.
        let checker = Checker::new(&program, &cfg);
        let lval = concrete(loss.0, &refold_builtins(&ldef.body))?;
        let mut oy = o_in.clone();
        oy.extend(y_in.iter().cloned());
        let loss_tape = compile(loss.0, "the loss", std::slice::from_ref(&lval), &oy)?;
        let (loss_from_logits, loss_from_z) = if shift_proved {
            let mut ins = z_in.clone();
            ins.push(m.clone());
            ins.extend(y_in.iter().cloned());
            loss_from_logits(&lval, (&o_in, &shifted), &checker)
                .and_then(|stable| {
                    let tape = Tape::compile(std::slice::from_ref(&stable), &ins).ok()?;
                    Some((stable, tape))
                })
                .unzip()
        } else {
            (None, None)
        };

        // Delta: ∂L/∂z_k in index notation.
        let name = format!("{} with {}", output.0, loss.0);
        let used = |x: &str| x == i || program.definitions().any(|d| index::mentions(&d.body, x));
        let k = if used("k") {
            index::fresh_index(|x| used(x))
        } else {
            "k".to_string()
        };
        let zk = Symbol::with_sub(z_name, Some(&k));
        let d = crate::diff::diff(&Expr::sym(l_sym.clone()), &zk, &checker.diff_ctx())
            .map_err(|e| err(&name, e.to_string()))?;
        let derivative = checker.readable(&d.expr).unwrap_or_else(|_| d.expr.clone());
        let mut fused = None;
        let mut fused_assumes = Vec::new();
        if fuse {
            if let Ok(cand) = checker.readable_derivative(&d.expr) {
                let outcome = checker.check_equal(&cand, &d.expr);
                if matches!(outcome.verdict, Verdict::Proved(_)) {
                    fused_assumes = outcome
                        .assumptions
                        .iter()
                        .filter_map(|sp| {
                            let text = if loss_prog.assumptions().any(|a| a.span == *sp) {
                                loss.1
                            } else {
                                output.1
                            };
                            text.get(sp.range()).map(|t| t.trim().to_string())
                        })
                        .collect();
                    fused = Some(cand);
                }
            }
        }
        let (delta_src, delta_reads_z) = match &fused {
            // The fused form runs on O and y; one that still reads z runs as the derivative.
            Some(f) if !f.free_symbols().iter().any(|s| s.name() == z_name.as_str()) => {
                (f.clone(), false)
            }
            _ => {
                let full = program
                    .expand(&d.expr, cfg.limits.max_growth)
                    .map_err(|e| err(&name, e.to_string()))?;
                (full, true)
            }
        };
        let mut deltas = Vec::with_capacity(k_count);
        for kv in 1..=k_count {
            let dk = index::subst_index(&delta_src, &k, &IndexValue::Int(kv as i64));
            deltas.push(concrete(&name, &refold_builtins(&dk))?);
        }
        let ins = if delta_reads_z {
            let mut v = z_in.clone();
            v.extend(y_in.iter().cloned());
            v
        } else {
            oy.clone()
        };
        let delta_tape = compile(&name, "the output delta", &deltas, &ins)?;
        Ok(IndexedHead {
            name: stem(output.0),
            loss_name: stem(loss.0),
            classes: k_count,
            output: o_sym,
            definition: odef.body.clone(),
            input: Symbol::with_sub(z_name, Some(&i)),
            size: c_sym.clone(),
            shifted: shift_proved,
            loss: l_sym,
            loss_definition: ldef.body.clone(),
            target: Symbol::with_sub(y_name, Some(&i)),
            delta_var: zk,
            derivative,
            fused: if delta_reads_z { None } else { fused },
            fused_assumes,
            forward_tape,
            loss_tape,
            loss_from_z,
            loss_from_logits,
            delta_tape,
            delta_reads_z,
            elementwise: fc.elementwise,
        })
    }

    /// `A = O(Z)` over a batch: `z` and `a` are `K × n` row-major.
    pub fn forward<T: Real>(
        &self,
        z: &[T],
        n: usize,
        a: &mut Vec<T>,
        scratch: &mut IndexedScratch<T>,
    ) {
        let rows: Vec<&[T]> = z.chunks_exact(n.max(1)).collect();
        let mut cols = rows.clone();
        let mut m = std::mem::take(&mut scratch.max);
        if self.shifted {
            sample_max(&rows, n, &mut m);
            cols.push(m.as_slice());
        }
        run_rows(&self.forward_tape, &cols, n, a, scratch, self.elementwise);
        scratch.max = m;
    }

    /// L per sample (`out` has n values), from `A` and `Y` (`K × n`).
    pub fn loss<T: Real>(
        &self,
        a: &[T],
        y: &[T],
        n: usize,
        out: &mut Vec<T>,
        scratch: &mut IndexedScratch<T>,
    ) {
        let mut cols: Vec<&[T]> = a.chunks_exact(n.max(1)).collect();
        cols.extend(y.chunks_exact(n.max(1)));
        run_rows(&self.loss_tape, &cols, n, out, scratch, self.elementwise);
    }

    /// L per sample (`out` has n values) from Z and Y (`K × n`), without a logarithm of an
    /// output (see the field `loss_from_z`); false, leaving `out` alone, when there is no
    /// such form.
    pub fn loss_from_z<T: Real>(
        &self,
        z: &[T],
        y: &[T],
        n: usize,
        out: &mut Vec<T>,
        scratch: &mut IndexedScratch<T>,
    ) -> bool {
        let Some(tape) = &self.loss_from_z else {
            return false;
        };
        let mut m = std::mem::take(&mut scratch.max);
        let mut cols: Vec<&[T]> = z.chunks_exact(n.max(1)).collect();
        sample_max(&cols, n, &mut m);
        cols.push(m.as_slice());
        cols.extend(y.chunks_exact(n.max(1)));
        run_rows(tape, &cols, n, out, scratch, self.elementwise);
        scratch.max = m;
        true
    }

    /// ∂L/∂z for every class and sample (`K × n`), from Z, A and Y.
    pub fn delta<T: Real>(
        &self,
        z: &[T],
        a: &[T],
        y: &[T],
        n: usize,
        out: &mut Vec<T>,
        scratch: &mut IndexedScratch<T>,
    ) {
        let first = if self.delta_reads_z { z } else { a };
        let mut cols: Vec<&[T]> = first.chunks_exact(n.max(1)).collect();
        cols.extend(y.chunks_exact(n.max(1)));
        run_rows(&self.delta_tape, &cols, n, out, scratch, self.elementwise);
    }
}

/// The largest z of each sample (`m`, n values) over the class rows: the m of the shifted
/// form, not a formula.
fn sample_max<T: Real>(rows: &[&[T]], n: usize, m: &mut Vec<T>) {
    m.clear();
    m.resize(n, T::NEG_INFINITY);
    for r in rows {
        for (mx, v) in m.iter_mut().zip(r.iter()) {
            *mx = mx.max(*v);
        }
    }
}

/// The loss `lval` (over the outputs `o`) with each output replaced by its shifted form
/// and every `log(exp(u)·s⁻¹)` written `u − log(s)` ([`log_apart`]), when that changes
/// something and the checker finds the result equal to the loss with the outputs
/// replaced (proved, or equal at its sample points within its tolerance).
fn loss_from_logits(
    lval: &Expr,
    (o, shifted): (&[Symbol], &[Expr]),
    checker: &Checker,
) -> Option<Expr> {
    let over_z = crate::program::substitute(lval, o, shifted);
    let stable = log_apart(&over_z);
    if stable == over_z {
        return None;
    }
    // `log(exp(u)/s) = u − log(s)` is exact for s > 0; this is a check of the rewriting.
    checked_equal(checker, &stable, &over_z).then_some(stable)
}

/// `e` with every `log` of a product of `exp(u)` factors and powers `s^q` (q a number, at
/// least one `exp` among the factors) written as the sum `u + … + q·log(s) + …`, and
/// `log(exp(u))` as `u`: the same function where the factors are positive, finite where
/// the product underflows to 0 (`exp(z_k − m)/Σ_j exp(z_j − m)` with `z_k − m` far below 0).
fn log_apart(e: &Expr) -> Expr {
    let e = e.map_children(log_apart);
    let Node::Call(Func::Builtin(Builtin::Log), args) = e.node() else {
        return e;
    };
    let [arg] = args.as_slice() else {
        return e;
    };
    let exp_arg = |f: &Expr| match f.node() {
        Node::Call(Func::Builtin(Builtin::Exp), a) => match a.as_slice() {
            [u] => Some(u.clone()),
            _ => None,
        },
        _ => None,
    };
    if let Some(u) = exp_arg(arg) {
        return u;
    }
    let Node::Mul(factors) = arg.node() else {
        return e;
    };
    if !factors.iter().any(|f| exp_arg(f).is_some()) {
        return e;
    }
    let mut terms = Vec::with_capacity(factors.len());
    for f in factors {
        if let Some(u) = exp_arg(f) {
            terms.push(u);
        } else if let Node::Pow(base, q) = f.node() {
            if q.as_num().is_none() {
                return e;
            }
            let log_base =
                exp_arg(base).unwrap_or_else(|| Expr::call(Builtin::Log, vec![base.clone()]));
            terms.push(Expr::mul(vec![q.clone(), log_base]));
        } else {
            return e;
        }
    }
    Expr::add(terms)
}

/// Buffers of the coupled output's tapes, in `T`.
#[derive(Debug, Clone)]
pub struct IndexedScratch<T = f64> {
    tape: TapeScratch<T>,
    max: Vec<T>,
}

impl<T> Default for IndexedScratch<T> {
    fn default() -> Self {
        IndexedScratch {
            tape: TapeScratch::default(),
            max: Vec::new(),
        }
    }
}

/// Runs a tape over row columns and writes its outputs straight into consecutive rows of
/// `out`; a shape error (which the fixed shapes rule out) shows as NaN.
fn run_rows<T: Real>(
    tape: &Tape,
    cols: &[&[T]],
    n: usize,
    out: &mut Vec<T>,
    scratch: &mut IndexedScratch<T>,
    elementwise: Elementwise,
) {
    let k = tape.n_outputs();
    if out.len() != k * n {
        out.clear();
        out.resize(k * n, T::ZERO);
    }
    let mut rows: Vec<&mut [T]> = out.chunks_exact_mut(n.max(1)).collect();
    let ok = tape
        .eval_into(cols, &mut rows, &mut scratch.tape, elementwise)
        .is_ok();
    if !ok {
        out.fill(T::NAN);
    }
}

/// A symbol none of the program's definitions uses.
fn fresh_symbol(program: &Program, candidates: &[&str]) -> Symbol {
    let used = |s: &Symbol| {
        program
            .definitions()
            .any(|d| d.symbol.as_ref() == Some(s) || d.body.contains_sym(s))
    };
    for c in candidates {
        let s = Symbol::new(c);
        if !used(&s) {
            return s;
        }
    }
    Symbol::with_sub("m", Some("shift"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOFTMAX: &str = include_str!("../../derivations/softmax.dc");
    const CE: &str = include_str!("../../derivations/softmaxce.dc");

    fn head(classes: usize) -> IndexedHead {
        IndexedHead::from_sources(
            ("softmax.dc", SOFTMAX),
            ("softmaxce.dc", CE),
            classes,
            &FormulaConfig::default(),
            true,
        )
        .unwrap()
    }

    #[test]
    fn softmax_ce_delta_is_o_minus_y_proved() {
        let h = head(3);
        assert_eq!(
            h.fused.as_ref().map(crate::print::unicode).as_deref(),
            Some("O_k − y_k")
        );
        assert!(h.shifted);
    }

    #[test]
    fn softmax_ce_has_a_loss_from_the_logits_at_every_class_count() {
        for k in [2, 3, 10] {
            assert!(head(k).loss_from_z.is_some(), "{k} classes");
        }
    }

    #[test]
    fn log_apart_takes_logs_of_exp_quotients_apart_and_nothing_else() {
        let (u, s) = (Expr::var("u"), Expr::var("s"));
        let log = |e: Expr| Expr::call(Builtin::Log, vec![e]);
        let exp = |e: Expr| Expr::call(Builtin::Exp, vec![e]);
        let quotient = Expr::div(exp(u.clone()), s.clone());
        assert_eq!(
            crate::print::ascii(&log_apart(&log(quotient))),
            "u - log(s)"
        );
        assert_eq!(log_apart(&log(exp(u.clone()))), u);
        // Without an exp factor, or with a factor that is not a power, nothing changes.
        for e in [
            log(Expr::div(u.clone(), s.clone())),
            log(Expr::mul(vec![
                exp(u.clone()),
                Expr::sub(u.clone(), s.clone()),
            ])),
            log(Expr::mul(vec![
                exp(u.clone()),
                Expr::pow(s.clone(), u.clone()),
            ])),
        ] {
            assert_eq!(log_apart(&e), e, "{}", crate::print::ascii(&e));
        }
    }
}
