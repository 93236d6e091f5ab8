#!/usr/bin/env python3
"""Samples the C library's exp (python3's math.exp calls it) for the exp conformance test.

Inputs: N doubles uniform in [-60, 60] (the range Kaneko's sigmoid exp(-2u/u0) meets), drawn by a
xorshift32 generator that test/exp.test.ts repeats exactly, plus a wide sample over [-746, 710] and
edge cases. For every input it records the C library's result in both of glibc's x86-64 builds: the
FMA build (this process, on a CPU with FMA) and the plain build (a child process run with
GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA). The dense sample is stored compactly, as the inputs
where a build's result differs from the correctly rounded exp (computed here with 50-digit decimals)
and by how many ulps; the wide sample and the edges are stored as explicit pairs.

usage: exp-fixture.py [N] > test/fixtures/glibc-exp.json
"""
import decimal, json, math, os, platform, struct, subprocess, sys

SEED = 0x9E3779B9

def draws(n, seed=SEED):
    s = seed
    def nxt():
        nonlocal s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        return s
    for _ in range(n):
        a, b = nxt(), nxt()
        yield ((a >> 5) * 67108864 + (b >> 6)) / 9007199254740992.0  # 53 random bits in [0, 1)

def dense(n):
    return [-60.0 + 120.0 * u for u in draws(n)]

def wide(n):
    return [-746.0 + 1456.0 * u for u in draws(n, seed=12345)]

EDGES = [4.897425202392711, 0.0, -0.0, 1e-300, -1e-300, 2**-54, -2**-54, 2**-53, 511.9, 512.0, -512.0, 709.78, 709.7827128933840,
         709.79, -708.39, -708.4, -709.0, -744.44, -745.1332191019411, -745.14, 1000.0, -1000.0, math.inf, -math.inf]

def ulp_steps(a, b):
    """b - a in units in the last place (both positive or zero)."""
    ia, = struct.unpack('<q', struct.pack('<d', a))
    ib, = struct.unpack('<q', struct.pack('<d', b))
    return ib - ia

def correctly_rounded(x):
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        return float(decimal.Decimal(x).exp())

def libm_exp(x):
    try:
        return math.exp(x)
    except OverflowError:  # Python raises where the C library returns inf
        return math.inf

def child(n):
    xs = dense(n) + wide(n // 100) + EDGES
    sys.stdout.write(json.dumps([libm_exp(x).hex() for x in xs]))

def main():
    n = int(sys.argv[2] if sys.argv[1:2] == ['--child'] else (sys.argv[1] if len(sys.argv) > 1 else 1000000))
    if sys.argv[1:2] == ['--child']:
        return child(n)
    xs = dense(n) + wide(n // 100) + EDGES
    fma = json.loads(subprocess.run([sys.executable, __file__, '--child', str(n)], capture_output=True, text=True, check=True).stdout)
    env = dict(os.environ, GLIBC_TUNABLES='glibc.cpu.hwcaps=-AVX2,-FMA')
    plain = json.loads(subprocess.run([sys.executable, __file__, '--child', str(n)], capture_output=True, text=True, check=True, env=env).stdout)
    fma = [float.fromhex(v) for v in fma]
    plain = [float.fromhex(v) for v in plain]
    if fma == plain:
        sys.exit('the FMA and plain builds agree everywhere: is this an x86-64 CPU with FMA and glibc >= 2.28?')
    diffs_fma, diffs_plain = [], []
    for i in range(n):
        cr = correctly_rounded(xs[i])
        if fma[i] != cr:
            diffs_fma.append([i, ulp_steps(cr, fma[i])])
        if plain[i] != cr:
            diffs_plain.append([i, ulp_steps(cr, plain[i])])
    libc = platform.libc_ver()
    json.dump({
        'source': 'scripts/exp-fixture.py %d' % n,
        'libc': '%s %s, x86-64 (%s)' % (libc[0], libc[1], platform.processor() or platform.machine()),
        'generator': {'kind': 'xorshift32', 'seed': SEED, 'count': n, 'low': -60, 'width': 120},
        'denseDiffersFromCorrectlyRounded': {'fma': diffs_fma, 'plain': diffs_plain},
        'pairs': [[x.hex(), f.hex(), p.hex()] for x, f, p in zip(xs[n:], fma[n:], plain[n:])],
    }, sys.stdout, separators=(',', ':'))

main()
