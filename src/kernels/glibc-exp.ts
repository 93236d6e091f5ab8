/**
 * glibc's exp, bit for bit: a port of sysdeps/ieee754/dbl-64/e_exp.c (glibc 2.28 and later, from
 * Arm's optimized-routines) with its data table, in the two builds glibc picks between at run time
 * on x86-64: `__exp_fma` (CPUs with FMA: what Kaneko's program and python3's math.exp get on current
 * machines) and the plain SSE2 build. glibc's exp is not correctly rounded (about 1 input in 1,300
 * differs by one ulp) and the FMA build differs again from the plain one on some inputs; Kaneko's
 * chaotic trajectories turn one such bit into a different run, so the replays need this exact
 * function. Every fused multiply-add of the FMA build (read off its machine code in glibc 2.36) is
 * one `fma` below, rounded once as the instruction rounds.
 */

// Dekker's split constant, 2^27 + 1.
const SPLIT = 134217729;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: u32[0] low word, u32[1] high word

/**
 * a * b + c rounded once (IEEE fused multiply-add) for operands whose product neither overflows nor
 * underflows: the exact product as two doubles, then the correctly rounded sum of three terms with
 * an intermediate rounding to odd (Boldo and Melquiond, IEEE Trans. Computers 57(4), 2008).
 */
export function fma(a: number, b: number, c: number): number {
  const uh = a * b;
  const ca = SPLIT * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLIT * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  const ul = ah * bh - uh + ah * bl + al * bh + al * bl;
  const th = c + uh;
  const tv = th - c;
  const tl = c - (th - tv) + (uh - tv);
  // v = tl + ul rounded to odd: the nearest double, moved one step toward the exact sum when
  // that sum is not representable and the nearest has an even last bit.
  const v = tl + ul;
  const vv = v - tl;
  const ve = tl - (v - vv) + (ul - vv);
  if (ve === 0) return th + v;
  f64[0] = v;
  if ((u32[0]! & 1) === 0) {
    if (ve > 0 === v > 0) u32[0] = u32[0]! + 1;
    else if (u32[0] === 0) {
      u32[0] = 0xffffffff;
      u32[1] = u32[1]! - 1;
    } else u32[0] = u32[0]! - 1;
  }
  return th + f64[0]!;
}

const fromBits = (hi: number, lo: number): number => {
  u32[1] = hi;
  u32[0] = lo;
  return f64[0]!;
};

// __exp_data: N/ln2, -ln2/N in two parts, the polynomial, the rounding shift (N = 128).
const INV_LN2_N = fromBits(0x40671547, 0x652b82fe);
const NEG_LN2_HI_N = fromBits(0xbf762e42, 0xfefa0000);
const NEG_LN2_LO_N = fromBits(0xbd0cf79a, 0xbc9e3b3a);
const C2 = fromBits(0x3fdfffff, 0xfffffdbd);
const C3 = fromBits(0x3fc55555, 0x5555543c);
const C4 = fromBits(0x3fa55555, 0xcf172b91);
const C5 = fromBits(0x3f811111, 0x67a4d017);
const SHIFT = fromBits(0x43380000, 0x00000000);
const TWO_P1009 = 2 ** 1009;
const TWO_M1022 = 2 ** -1022;

// __exp_data.tab: for i = 0..127, the tail of 2^(i/128) (a double) and the bits of its head with
// i << 45 subtracted, as 64-bit hex words, two entries per 32 hex digits.
const TAB =
  '00000000000000003ff00000000000003c9b3b4f1a88bf6e3feff63da9fb3335'
  +   'bc7160139cd8dc5d3fefec9a3e778061bc905e7a108766d13fefe315e86e7f85'
  +   '3c8cd2523567f6133fefd9b0d3158574bc8bce8023f98efa3fefd06b29ddf6de'
  +   '3c60f74e61e6c8613fefc74518759bc83c90a3e45b33d3993fefbe3ecac6f383'
  +   '3c979aa65d837b6d3fefb5586cf9890f3c8eb51a92fdeffc3fefac922b7247f7'
  +   '3c3ebe3d702f9cd13fefa3ec32d3d1a2bc6a033489906e0b3fef9b66affed31b'
  +   'bc9556522a2fbd0e3fef9301d0125b51bc5080ef8c4eea553fef8abdc06c31cc'
  +   'bc91c923b9d5f4163fef829aaea92de03c80d3e3e95c55af3fef7a98c8a58e51'
  +   'bc801b15eaa593483fef72b83c7d517bbc8f1ff055de323d3fef6af9388c8dea'
  +   '3c8b898c3f1353bf3fef635beb6fcb75bc96d99c7611eb263fef5be084045cd4'
  +   '3c9aecf73e3a2f603fef54873168b9aabc8fe782cb86389d3fef4d5022fcd91d'
  +   '3c8a6f4144a6c38d3fef463b88628cd63c807a05b0e4047d3fef3f49917ddc96'
  +   '3c968efde3a8a8943fef387a6e7562383c875e18f274487d3fef31ce4fb2a63f'
  +   '3c80472b981fe7f23fef2b4565e27cddbc96b87b3f71085e3fef24dfe1f56381'
  +   '3c82f7e16d09ab313fef1e9df51fdee1bc3d219b1a6fbffa3fef187fd0dad990'
  +   '3c8b3782720c0ab43fef1285a6e4030b3c6e149289cecb8f3fef0cafa93e2f56'
  +   '3c834d754db0abb63fef06fe0a31b7153c864201e2ac744c3fef0170fc4cd831'
  +   '3c8fdd395dd3f84a3feefc08b26416ffbc86a3803b8e5b043feef6c55f929ff1'
  +   'bc924aedcc4b50683feef1a7373aa9cbbc9907f81b512d8e3feeecae6d05d866'
  +   'bc71d1e83e9436d23feee7db34e59ff7bc991919b3ce1b153feee32dc313a8e5'
  +   '3c859f48a72a4c6d3feedea64c123422bc9312607a28698a3feeda4504ac801c'
  +   'bc58a78f4817895b3feed60a21f72e2abc7c2c9b67499a1b3feed1f5d950a897'
  +   '3c4363ed60c2ac113feece086061892d3c9666093b0664ef3feeca41ed1d0057'
  +   '3c6ecce1daa103793feec6a2b5c13cd03c93ff8e3f0f12303feec32af0d7d3de'
  +   '3c7690cebb7aafb03feebfdad5362a273c931dbdeb54e0773feebcb299fddd0d'
  +   'bc8f94340071a38e3feeb9b2769d2ca7bc87deccdc93a3493feeb6daa2cf6642'
  +   'bc78dec6bd0f385f3feeb42b569d4f82bc861246ec7b5cf63feeb1a4ca5d920f'
  +   '3c93350518fdd78e3feeaf4736b527da3c7b98b72f8a9b053feead12d497c7fd'
  +   '3c9063e1e21c54093feeab07dd4854293c34c7855019c6ea3feea9268a5946b7'
  +   '3c9432e62b64c0353feea76f15ad2148bc8ce44a6199769f3feea5e1b976dc09'
  +   'bc8c33c53bef4da83feea47eb03a5585bc845378892be9ae3feea34634ccc320'
  +   'bc93cedd785658583feea238825522253c5710aa807e19643feea155d44ca973'
  +   'bc93b3efbf5e22283feea09e667f3bcdbc6a12ad8734b9823feea012750bdabf'
  +   'bc6367efb86da9ee3fee9fb23c651a2fbc80dc3d54e088513fee9f7df9519484'
  +   'bc781f647e5a3ecf3fee9f75e8ec5f74bc86ee4ac08b7db03fee9f9a48a58174'
  +   'bc8619321e55e68a3fee9feb564267c93c909ccb5e09d4d33feea0694fde5d3f'
  +   'bc7b32dcb94da51d3feea11473eb01873c94ecfd5467c06b3feea1ed0130c132'
  +   '3c65ebe1abd66c553feea2f336cf4e62bc88a1c52fb3cf423feea427543e1a12'
  +   'bc9369b6f13b37343feea589994cce13bc805e843a19ff1e3feea71a4623c7ad'
  +   'bc94d450d872576e3feea8d99b4492ed3c90ad675b0e8a003feeaac7d98a6699'
  +   '3c8db72fc1f0eab43feeace5422aa0dbbc65b6609cc5e7ff3feeaf3216b5448c'
  +   '3c7bf68359f35f443feeb1ae99157736bc93091fa71e3d833feeb45b0b91ffc6'
  +   'bc5da9b88b6c1e293feeb737b0cdc5e5bc6c23f97c90b9593feeba44cbc8520f'
  +   'bc92434322f4f9aa3feebd829fde4e50bc85ca6cd7668e4b3feec0f170ca07ba'
  +   '3c71affc2b91ce273feec49182a3f0903c6dd235e10a73bb3feec86319e32323'
  +   'bc87c504226222633feecc667b5de5653c8b1c86e3e231d53feed09bec4a2d33'
  +   'bc91bbd1d3bcbb153feed503b23e255d3c90cc319cee31d23feed99e1330b358'
  +   '3c8469846e735ab33feede6b5579fdbfbc82dfcd978e9db43feee36bbfd3f37a'
  +   '3c8c1a7792cb33873feee89f995ad3adbc907b8f4ad1d9fa3feeee07298db666'
  +   'bc55c3d956dcaeba3feef3a2b84f15fbbc90a40e3da6f6403feef9728de5593a'
  +   'bc68d6f438ad93343feeff76f2fb5e47bc91eee26b588a353fef05b030a1064a'
  +   '3c74ffd70a5fddcd3fef0c1e904bc1d2bc91bdfbfa9298ac3fef12c25bd71e09'
  +   '3c736eae30af0cb33fef199bdd85529c3c8ee3325c9ffd943fef20ab5fffd07a'
  +   '3c84e08fd10959ac3fef27f12e57d14b3c63cdaf384e1a673fef2f6d9406e7b5'
  +   '3c676b2c6c9219683fef3720dcef9069bc808a1883ccb5d23fef3f0b555dc3fa'
  +   'bc8fad5d3ffffa6f3fef472d4a07897cbc900dae3875a9493fef4f87080d89f2'
  +   '3c74a385a63d07a73fef5818dcfba487bc82919e2040220f3fef60e316c98398'
  +   '3c8e5a50d5c192ac3fef69e603db32853c843a59ac016b4b3fef7321f301b460'
  +   'bc82d52107b43e1f3fef7c97337b9b5fbc892ab93b470dc93fef864614f5a129'
  +   '3c74b604603a88d33fef902ee78b3ff63c83c5ec519d72713fef9a51fbc74c83'
  +   'bc8ff7128fd391f03fefa4afa2a490dabc8dae98e223747d3fefaf482d8e67f1'
  +   '3c8ec3bc41aa20083fefba1bee615a273c842b94c3a9eb323fefc52b376bba97'
  +   '3c8a64a931d185ee3fefd0765b6e4540bc8e37bae43be3ed3fefdbfdad9cbe14'
  +   '3c77893b4d91cd9d3fefe7c1819e90d83c5305c14160cc893feff3c22b8f71f1';
const TAIL = new Float64Array(128);
const SHI = new Uint32Array(128);
const SLO = new Uint32Array(128);
for (let i = 0; i < 128; i++) {
  const word = (k: number): [number, number] => [parseInt(TAB.slice(k * 16, k * 16 + 8), 16), parseInt(TAB.slice(k * 16 + 8, k * 16 + 16), 16)];
  const [th, tl] = word(2 * i);
  TAIL[i] = fromBits(th, tl);
  [SHI[i], SLO[i]] = word(2 * i + 1);
}

/** a * b + c, fused (the FMA build) or as two roundings (the plain build). */
const mulAdd = (fused: boolean, a: number, b: number, c: number): number => (fused ? fma(a, b, c) : a * b + c);

function glibcExpBuild(x: number, fused: boolean): number {
  f64[0] = x;
  const hx = u32[1]!;
  let abstop = (hx >>> 20) & 0x7ff;
  if ((abstop - 0x3c9) >>> 0 >= 0x3f) {
    // |x| < 2^-54: 1 + x.
    if (abstop < 0x3c9) return 1 + x;
    if (abstop >= 0x409) {
      if (x === -Infinity) return 0;
      if (abstop >= 0x7ff) return 1 + x;
      return hx >>> 31 ? 0 : Infinity;
    }
    // 512 <= |x| < 1024: the scale may over- or underflow; handled below.
    abstop = 0;
  }
  // x = k ln2/N + r, |r| <= ln2/2N; exp(x) = 2^(k/N) e^r.
  let kd = mulAdd(fused, INV_LN2_N, x, SHIFT);
  f64[0] = kd;
  const ki = u32[0]!;
  kd -= SHIFT;
  const r = fused ? fma(kd, NEG_LN2_LO_N, fma(kd, NEG_LN2_HI_N, x)) : x + kd * NEG_LN2_HI_N + kd * NEG_LN2_LO_N;
  const i = ki & 127;
  const tail = TAIL[i]!;
  // sbits = tab[2i + 1] + (ki << 45): only the high word changes.
  let shi = (SHI[i]! + ((ki & 0x7ffff) << 13)) >>> 0;
  const slo = SLO[i]!;
  const r2 = r * r;
  const tmp = fused
    ? fma(r2 * r2, fma(r, C5, C4), fma(fma(r, C3, C2), r2, tail + r))
    : tail + r + r2 * (C2 + r * C3) + r2 * r2 * (C4 + r * C5);
  if (abstop !== 0) {
    const scale = fromBits(shi, slo);
    return mulAdd(fused, scale, tmp, scale);
  }
  if ((ki & 0x80000000) === 0) {
    // k > 0: the scale's exponent may have overflowed by up to 460.
    shi = (shi - (1009 << 20)) >>> 0;
    const scale = fromBits(shi, slo);
    return TWO_P1009 * mulAdd(fused, scale, tmp, scale);
  }
  // k < 0: care in the subnormal range (both builds round the product on its own here).
  shi = (shi + (1022 << 20)) >>> 0;
  const scale = fromBits(shi, slo);
  const st = scale * tmp;
  let y = scale + st;
  if (y < 1) {
    let lo = scale - y + st;
    const hi = 1 + y;
    lo = 1 - hi + y + lo;
    y = lo + hi - 1;
    if (y === 0) y = 0;
  }
  return TWO_M1022 * y;
}

/** glibc's exp as its FMA build computes it (x86-64 CPUs with FMA and AVX2, glibc >= 2.28). */
export function glibcExp(x: number): number {
  return glibcExpBuild(x, true);
}

/** glibc's exp as its plain (SSE2) build computes it (`GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA`). */
export function glibcExpPlain(x: number): number {
  return glibcExpBuild(x, false);
}
