#!/usr/bin/env python3
"""An independent, straightforward Python re-implementation of Kaneko's 1999 ED sample program
(the numerics of ED_SPEC.md section 4: sources summed in order, Kaneko's update operation order,
the C library's exp through Python's math.exp). It reproduces test/fixtures/kaneko-parity4-seed1.json
exactly (`--check FILE`) and writes recordings in the same format for other seeds, sizes, output
counts and targets, which the test suite replays to show that nothing in the shared file is special-cased.

usage: kaneko-reference.py --bits 3 --hidden 6 --task mirror --seed 7 > rec.json
       (tasks: parity, one output; mirror, one output per bit; parities, two outputs)
       kaneko-reference.py --check test/fixtures/kaneko-parity4-seed1.json
"""
import argparse, json, math, random, sys

def run(bits, hidden, outputs, inputs, targets, init, alpha=0.8, beta=0.8, u0=0.4, u1=1.0, stop=0.1, max_epochs=10000):
    htypes = [-1 if j % 2 == 0 else 1 for j in range(hidden)]
    src_t = [1, -1] + [1, -1] * bits
    out_src_t = [1, -1] + htypes
    nets = [{'hidden': [list(r) for r in n['hidden']], 'output': list(n['output'])} for n in init]
    sig = lambda u: 1 / (1 + math.exp(-2 * u / u0))
    epochs = []
    for ep in range(max_epochs):
        outs, err_sum, wrong = [], 0.0, 0
        for x, t in zip(inputs, targets):
            src = [beta, beta] + [v for xi in x for v in (xi, xi)]
            row = []
            for n, net in enumerate(nets):
                ho = []
                for wj in net['hidden']:
                    s = 0.0
                    for w, v in zip(wj, src):
                        s += w * v
                    ho.append(sig(s))
                osrc = [beta, beta] + ho
                s = 0.0
                for w, v in zip(net['output'], osrc):
                    s += w * v
                o = sig(s)
                row.append(o)
                e = t[n] - o
                err_sum += abs(e)
                wrong += abs(e) > 0.5
                dp, dm = max(e, 0.0), max(-e, 0.0)
                hp, hm = dp * u1, dm * u1
                wo = net['output']
                for i in range(len(wo)):
                    if wo[i] != 0:
                        d = alpha * osrc[i]; d *= o; d *= (1 - o)
                        wo[i] += d * (dp if out_src_t[i] > 0 else dm) * out_src_t[i] * 1
                for j, wj in enumerate(net['hidden']):
                    for i in range(len(wj)):
                        if wj[i] != 0:
                            d = alpha * src[i]; d *= ho[j]; d *= (1 - ho[j])
                            wj[i] += d * (hp if src_t[i] > 0 else hm) * src_t[i] * htypes[j]
            outs.append(row)
        epochs.append({'epoch': ep + 1, 'outputs': outs, 'errSum': err_sum, 'wrong': wrong})
        if err_sum < stop:
            break
    return htypes, epochs, nets

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bits', type=int, default=4)
    ap.add_argument('--hidden', type=int, default=8)
    ap.add_argument('--task', choices=['parity', 'mirror', 'parities'], default='parity')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--check')
    a = ap.parse_args()
    if a.check:
        r = json.load(open(a.check))
        p = r['params']
        _, epochs, final = run(r['bits'], r['hidden'], r['outputs'], r['inputs'], r['targets'], r['initialWeights'],
                               p['alpha'], p['beta'], p['u0'], p['u1'], p['stopErrSum'], p['maxEpochs'])
        same = epochs == [dict(e) for e in r['epochs']] and final == r['finalWeights']
        print('identical' if same else 'DIFFERENT')
        sys.exit(0 if same else 1)
    rng = random.Random(a.seed)
    n_pat = 2 ** a.bits
    inputs = [[(k >> i) & 1 for i in range(a.bits)] for k in range(n_pat)]
    if a.task == 'parity':
        targets = [[sum(x) % 2] for x in inputs]
    elif a.task == 'parities':  # two outputs: the parity of all bits and of all but the last
        targets = [[sum(x) % 2, sum(x[:-1]) % 2] for x in inputs]
    else:
        targets = [[x[a.bits - 1 - c] for c in range(a.bits)] for x in inputs]
    outputs = len(targets[0])
    htypes = [-1 if j % 2 == 0 else 1 for j in range(a.hidden)]
    src_t = [1, -1] + [1, -1] * a.bits
    init = [{'hidden': [[round(rng.random(), 4) * s * t for s in src_t] for t in htypes],
             'output': [round(rng.random(), 4) * s for s in [1, -1] + htypes]} for _ in range(outputs)]
    htypes, epochs, final = run(a.bits, a.hidden, outputs, inputs, targets, init)
    json.dump({'source': 'scripts/kaneko-reference.py (independent Python re-implementation)', 'seed': a.seed, 'bits': a.bits,
               'hidden': a.hidden, 'outputs': outputs, 'patterns': [a.task],
               'params': {'alpha': 0.8, 'beta': 0.8, 'u0': 0.4, 'u1': 1.0, 'stopErrSum': 0.1, 'maxEpochs': 10000},
               'hiddenTypes': htypes, 'inputs': inputs, 'targets': targets, 'initialWeights': init, 'epochs': epochs,
               'epochsRun': len(epochs), 'finalWeights': final}, sys.stdout)

main()
