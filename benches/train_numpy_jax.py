#!/usr/bin/env python3
"""Per-epoch time of hand-written NumPy backprop and of JAX (jax.jit(jax.grad(...)) on CPU)
on the configurations of benches/train.rs, for the ratios in the trainer's speed notes.

Same data (../shared/data, the fixed `split` column, features standardised with the training
split's statistics), same layouts (units x samples), same optimiser (Adam, lr 1e-3), float64
like derivcheck (JAX is also timed in float32, its default).

    pip install numpy "jax[cpu]"
    python3 benches/train_numpy_jax.py [FILTER]   # or benches/run_numpy_jax.sh [FILTER]

FILTER keeps the configurations whose name ("digits 64-128tanh-10 softmax full") contains it.
Configurations: diabetes 10->64 sigmoid->1 MSE; iris 4->16 tanh->3 sigmoid + BCE per class, full
batch; digits 64->128 tanh->10 with softmax +
cross-entropy (the reference; derivcheck's `--output softmax --loss ce`) and with sigmoid + BCE
per class (derivcheck's default for several classes); full batch
and minibatch 32. Prints one line per configuration and implementation: ms per epoch (median
of repeated epochs, wall-clock and CPU time of all threads: NumPy's BLAS and XLA may use both
cores, and on a loaded machine CPU time is the steadier figure).
"""

import csv
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data")


def load(name, target, ignore=()):
    with open(os.path.join(DATA, name)) as f:
        rows = list(csv.DictReader(f))
    feats = [k for k in rows[0] if k not in (target, "split", *ignore)]
    train = [r for r in rows if r["split"] == "train"]
    x = np.array([[float(r[k]) for k in feats] for r in train])
    y = np.array([float(r[target]) for r in train])
    mu, sd = x.mean(0), x.std(0)
    sd[sd < 1e-12] = 1.0
    return ((x - mu) / sd).T.copy(), y


def one_hot(y, k):
    m = np.zeros((k, y.size))
    m[y.astype(int), np.arange(y.size)] = 1.0
    return m


def init(sizes, seed=0):
    rng = np.random.default_rng(seed)
    ps = []
    for i, o in zip(sizes, sizes[1:]):
        r = np.sqrt(6.0 / (i + o))
        ps += [rng.uniform(-r, r, (o, i)), np.zeros((o, 1))]
    return ps


class Adam:
    def __init__(self, ps, lr=1e-3):
        self.m = [np.zeros_like(p) for p in ps]
        self.v = [np.zeros_like(p) for p in ps]
        self.t, self.lr = 0, lr

    def step(self, ps, gs):
        self.t += 1
        c1, c2 = 1 - 0.9**self.t, 1 - 0.999**self.t
        for p, g, m, v in zip(ps, gs, self.m, self.v):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + 1e-8)


def numpy_grads(ps, x, y, hidden, head):
    w1, b1, w2, b2 = ps
    n = x.shape[1]
    z1 = w1 @ x + b1
    a1 = 1 / (1 + np.exp(-z1)) if hidden == "sigmoid" else np.tanh(z1)
    z2 = w2 @ a1 + b2
    if head == "mse":
        d2 = 2 * (z2 - y) / n
    elif head == "bce":
        d2 = (1 / (1 + np.exp(-z2)) - y) / n
    else:  # softmax + CE
        e = np.exp(z2 - z2.max(0, keepdims=True))
        d2 = (e / e.sum(0, keepdims=True) - y) / n
    g1 = w2.T @ d2
    d1 = g1 * a1 * (1 - a1) if hidden == "sigmoid" else g1 * (1 - a1 * a1)
    return [d1 @ x.T, d1.sum(1, keepdims=True), d2 @ a1.T, d2.sum(1, keepdims=True)]


def batches(x, y, bs):
    n = x.shape[1]
    bs = n if bs == 0 else bs
    return [(x[:, i : i + bs], y[:, i : i + bs]) for i in range(0, n, bs)]


class Timing:
    """Median wall-clock and median CPU time (all threads of the process) per epoch, and the
    fastest epoch's wall-clock and CPU time (what benches/train.rs reports), in ms."""

    def __init__(self, wall, cpu, min_wall, min_cpu):
        self.wall, self.cpu, self.min_wall, self.min_cpu = wall, cpu, min_wall, min_cpu

    def __format__(self, spec):
        return (
            f"{self.wall:{spec}} ms (cpu {self.cpu:{spec}}; "
            f"fastest {self.min_wall:{spec}}, cpu {self.min_cpu:{spec}})"
        )


def time_epochs(run_epoch, reps):
    run_epoch()
    ts, cs = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        run_epoch()
        ts.append(time.perf_counter() - t)
        cs.append(time.process_time() - c)
    return Timing(
        statistics.median(ts) * 1e3,
        statistics.median(cs) * 1e3,
        min(ts) * 1e3,
        min(cs) * 1e3,
    )


def bench_numpy(sizes, x, y, hidden, head, bs, reps):
    ps = init(sizes)
    opt = Adam(ps)
    bl = batches(x, y, bs)

    def epoch():
        for xb, yb in bl:
            opt.step(ps, numpy_grads(ps, xb, yb, hidden, head))

    return time_epochs(epoch, reps)


def bench_jax(sizes, x, y, hidden, head, bs, reps, dtype):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", dtype == "float64")
    dt = jnp.float64 if dtype == "float64" else jnp.float32

    def loss(ps, xb, yb):
        w1, b1, w2, b2 = ps
        z1 = w1 @ xb + b1
        a1 = jax.nn.sigmoid(z1) if hidden == "sigmoid" else jnp.tanh(z1)
        z2 = w2 @ a1 + b2
        n = xb.shape[1]
        if head == "mse":
            return jnp.sum((z2 - yb) ** 2) / n
        if head == "bce":
            return jnp.sum(jnp.logaddexp(0, z2) - yb * z2) / n
        return -jnp.sum(yb * jax.nn.log_softmax(z2, axis=0)) / n

    @jax.jit
    def step(state, xb, yb):
        ps, m, v, t = state
        gs = jax.grad(loss)(ps, xb, yb)
        t = t + 1
        c1, c2 = 1 - 0.9**t, 1 - 0.999**t
        m = [0.9 * mi + 0.1 * g for mi, g in zip(m, gs)]
        v = [0.999 * vi + 0.001 * g * g for vi, g in zip(v, gs)]
        ps = [p - 1e-3 * (mi / c1) / (jnp.sqrt(vi / c2) + 1e-8) for p, mi, vi in zip(ps, m, v)]
        return ps, m, v, t

    ps = [jnp.asarray(p, dtype=dt) for p in init(sizes)]
    state = (ps, [jnp.zeros_like(p) for p in ps], [jnp.zeros_like(p) for p in ps], jnp.asarray(0.0, dt))
    bl = [(jnp.asarray(a, dt), jnp.asarray(b, dt)) for a, b in batches(x, y, bs)]

    def epoch():
        nonlocal state
        for xb, yb in bl:
            state = step(state, xb, yb)
        jax.block_until_ready(state[0])

    return time_epochs(epoch, reps)


def main():
    configs = []
    xd, yd = load("diabetes.csv", "y", ("y_raw",))
    for bs in (0, 32):
        configs.append(("diabetes 10-64sigmoid-1 mse", [10, 64, 1], xd, yd[None, :], "sigmoid", "mse", bs))
    xi, yi = load("iris.csv", "label")
    configs.append(("iris 4-16tanh-3 bce", [4, 16, 3], xi, one_hot(yi, 3), "tanh", "bce", 0))
    xg, yg = load("digits.csv", "label")
    yg = one_hot(yg, 10)
    for head in ("bce", "softmax"):
        for bs in (0, 32):
            configs.append((f"digits 64-128tanh-10 {head}", [64, 128, 10], xg, yg, "tanh", head, bs))
    try:
        import jax  # noqa: F401

        have_jax = True
    except ImportError:
        have_jax = False
    print(f"numpy {np.__version__}" + (f", jax {__import__('jax').__version__}" if have_jax else ", no jax"))
    keep = sys.argv[1] if len(sys.argv) > 1 else ""
    for name, sizes, x, y, hidden, head, bs in configs:
        batch = "full" if bs == 0 else f"mb{bs}"
        if keep not in f"{name} {batch}":
            continue
        reps = 200 if name.startswith("iris") else 50 if bs == 0 else 10
        res = [f"numpy {bench_numpy(sizes, x, y, hidden, head, bs, reps):.3f}"]
        if have_jax:
            for dt in ("float64", "float32"):
                res.append(f"jax-{dt} {bench_jax(sizes, x, y, hidden, head, bs, reps, dt):.3f}")
        print(f"{name} {batch}: " + ", ".join(res))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
