#!/usr/bin/env python3
"""A numpy model of the index arithmetic of the tensor-core convolution kernel
(native/backends/cuda/kernels/conv_mma.cu), runnable without a GPU.

It replays, thread by thread, what the kernel does with addresses: the cp.async loader (each
thread's (r, s, c) state advanced one K tile at a time, zero fill through src-size), the XOR
swizzle of shared memory, the ldmatrix lane addressing, the mma.sync fragment layouts of the PTX
ISA (m16n8k8 tf32, m16n8k16 f16, m16n8k32 s8, written here from the ISA's tables), and the
accumulator -> (row, column) mapping of the epilogue. Values are small integers, so the result
must equal a direct convolution exactly. It checks the mapping, not the hardware: run the real
self-test (conv_selftest.cu) on a GPU too.

Keep it in step with conv_mma.cu (the tile list below is TRTN_MMA_CONFIGS).

    python3 scripts/cuda-selftest/mma_index_model.py [--cases 30] [--seed 1]
"""
import argparse
import sys

import numpy as np

CONFIGS = [  # (BM, BN, WM, WN, K bytes, stages)
    (128, 128, 64, 32, 64, 4),
    (128, 64, 64, 32, 64, 4),
    (64, 128, 32, 64, 64, 4),
    (64, 64, 32, 32, 64, 4),
    (64, 64, 32, 32, 128, 3),
    (64, 32, 32, 16, 128, 4),
    (32, 64, 16, 32, 128, 4),
]


def swizzle_chunk(cpr, row, chunk):
    l = row * cpr + chunk
    return (l & ~7) | ((l ^ (l >> 3)) & 7)


def frag_a(eb, lane, reg, sub):
    """(row, k) of element `sub` of A register `reg` held by `lane` (PTX ISA fragment tables)."""
    g, t = lane >> 2, lane & 3
    row = g + 8 * (reg % 2)
    if eb == 4:
        return row, t + 4 * (reg // 2)
    if eb == 2:
        return row, 2 * t + sub + 8 * (reg // 2)
    return row, 4 * t + sub + 16 * (reg // 2)


def frag_b(eb, lane, reg, sub):
    """(k, n) of element `sub` of B register `reg` held by `lane`."""
    g, t = lane >> 2, lane & 3
    if eb == 4:
        return t + 4 * reg, g
    if eb == 2:
        return 2 * t + sub + 8 * reg, g
    return 4 * t + sub + 16 * reg, g


def ldmatrix_x4(stage, addrs, eb):
    """ldmatrix .x4 .b16: lanes 8i..8i+7 give the row addresses (element offsets of 16-byte rows)
    of matrix i; lane T receives the 32-bit word T % 4 of row T / 4 of each matrix."""
    per_word = 4 // eb
    regs = []
    for lane in range(32):
        words = []
        for mtx in range(4):
            base = addrs[8 * mtx + lane // 4]
            w = lane % 4
            words.append(stage[base + w * per_word: base + (w + 1) * per_word].copy())
        regs.append(words)
    return regs


def run_kernel(cfg, eb, prob, x, wts):
    bm, bn, wm_, wn_, bkb, stages = cfg
    ce, bk, cpr = 16 // eb, bkb // eb, bkb // 16
    threads = (bm // wm_) * (bn // wn_) * 32
    rowstep = threads // cpr
    a_rows, b_rows = bm // rowstep, bn // rowstep
    mi, nj = wm_ // 16, wn_ // 8
    k8 = 32 // eb  # K elements per mma
    p = prob
    out = np.zeros((p["M"], p["G"] * p["Ng"]), dtype=np.int64)
    n_tiles = -(-p["Ng"] // bn)
    m_tiles = -(-p["M"] // bm)
    ktot = p["Ktot"]
    k_tiles = -(-ktot // bk)
    stage_elems = (bm + bn) * bk
    for g in range(p["G"]):
        for block in range(m_tiles * n_tiles):
            nt, m0 = block % n_tiles, (block // n_tiles) * bm
            n0 = nt * bn
            smem = np.zeros(stages * stage_elems, dtype=np.int64)
            # per-thread loader state
            st = []
            for tid in range(threads):
                kc, row0 = tid % cpr, tid // cpr
                rows = []
                for i in range(a_rows):
                    m = m0 + row0 + i * rowstep
                    if m < p["M"]:
                        img, rest = divmod(m, p["P"] * p["Q"])
                        op_, oq = divmod(rest, p["Q"])
                        rows.append((img * p["sn"] + g * p["Cg"], op_ * p["sh_"] - p["ph"], oq * p["sw_"] - p["pw"]))
                    else:
                        rows.append((0, -(1 << 30), 0))
                brow = []
                for i in range(b_rows):
                    n = n0 + row0 + i * rowstep
                    brow.append((g * p["Ng"] + n) * ktot if n < p["Ng"] else None)
                kk = kc * ce
                st.append(dict(kc=kc, row0=row0, rows=rows, brow=brow, kk=kk, kcc=kk % p["Cg_pad"],
                               ks=(kk // p["Cg_pad"]) % p["S"], kr=(kk // p["Cg_pad"]) // p["S"]))
            acc = {}
            for kt in range(k_tiles):
                s = kt % stages
                a_base, b_base = s * stage_elems, s * stage_elems + bm * bk
                for t in st:
                    cbytes = min(p["Cg"] - t["kcc"], ce) * eb if t["kr"] < p["R"] and t["kcc"] < p["Cg"] else 0
                    for i, (off, h0, w0) in enumerate(t["rows"]):
                        h, w = h0 + t["kr"] * p["dh"], w0 + t["ks"] * p["dw"]
                        ok = cbytes > 0 and 0 <= h < p["H"] and 0 <= w < p["W"]
                        dst = a_base + swizzle_chunk(cpr, t["row0"] + i * rowstep, t["kc"]) * ce
                        smem[dst:dst + ce] = 0
                        if ok:
                            src = off + h * p["ish"] + w * p["isw"] + t["kcc"]
                            n_el = cbytes // eb
                            smem[dst:dst + n_el] = x[src:src + n_el]
                    for i, b in enumerate(t["brow"]):
                        dst = b_base + swizzle_chunk(cpr, t["row0"] + i * rowstep, t["kc"]) * ce
                        smem[dst:dst + ce] = 0
                        if b is not None and t["kk"] < ktot:
                            smem[dst:dst + ce] = wts[b + t["kk"]: b + t["kk"] + ce]
                    t["kk"] += bk
                    t["kcc"] += bk
                    while t["kcc"] >= p["Cg_pad"]:
                        t["kcc"] -= p["Cg_pad"]
                        t["ks"] += 1
                        if t["ks"] == p["S"]:
                            t["ks"] = 0
                            t["kr"] += 1
                warps_m = bm // wm_
                for warp in range(threads // 32):
                    wm, wn = (warp % warps_m) * wm_, (warp // warps_m) * wn_
                    for step in range(bkb // 32):
                        af = []
                        for i in range(mi):
                            addrs = [a_base + swizzle_chunk(cpr, wm + i * 16 + (l & 15), 2 * step + (l >> 4)) * ce
                                     for l in range(32)]
                            af.append(ldmatrix_x4(smem, addrs, eb))
                        bf = [None] * nj
                        for j in range(0, nj, 2):
                            addrs = [b_base + swizzle_chunk(cpr, wn + j * 8 + (l & 7) + ((l >> 4) << 3),
                                                            2 * step + ((l >> 3) & 1)) * ce for l in range(32)]
                            r = ldmatrix_x4(smem, addrs, eb)
                            bf[j] = [[r[l][0], r[l][1]] for l in range(32)]
                            bf[j + 1] = [[r[l][2], r[l][3]] for l in range(32)]
                        for i in range(mi):
                            a = np.zeros((16, k8), dtype=np.int64)
                            for l in range(32):
                                for reg in range(4):
                                    for sub, v in enumerate(af[i][l][reg]):
                                        rr, kk = frag_a(eb, l, reg, sub)
                                        a[rr, kk] = v
                            for j in range(nj):
                                b = np.zeros((k8, 8), dtype=np.int64)
                                for l in range(32):
                                    for reg in range(2):
                                        for sub, v in enumerate(bf[j][l][reg]):
                                            kk, nn = frag_b(eb, l, reg, sub)
                                            b[kk, nn] = v
                                d = a @ b
                                for l in range(32):
                                    g_, t_ = l >> 2, l & 3
                                    for e in range(4):
                                        key = (warp, i, j, l, e)
                                        acc[key] = acc.get(key, 0) + d[g_ + 8 * (e // 2), 2 * t_ + e % 2]
            # epilogue mapping
            for (warp, i, j, l, e), v in acc.items():
                wm, wn = (warp % (bm // wm_)) * wm_, (warp // (bm // wm_)) * wn_
                row = wm + i * 16 + (l >> 2) + 8 * (e // 2)
                col = wn + j * 8 + 2 * (l & 3) + e % 2
                m, n = m0 + row, n0 + col
                if m < p["M"] and n < p["Ng"]:
                    out[m, g * p["Ng"] + n] = v
    return out


def reference(prob, xin):
    p = prob
    out = np.zeros((p["M"], p["G"] * p["Ng"]), dtype=np.int64)
    for m in range(p["M"]):
        img, rest = divmod(m, p["P"] * p["Q"])
        op_, oq = divmod(rest, p["Q"])
        for co in range(p["G"] * p["Ng"]):
            g = co // p["Ng"]
            s = 0
            for r in range(p["R"]):
                for q in range(p["S"]):
                    h = op_ * p["sh_"] - p["ph"] + r * p["dh"]
                    w = oq * p["sw_"] - p["pw"] + q * p["dw"]
                    if 0 <= h < p["H"] and 0 <= w < p["W"]:
                        for c in range(p["Cg"]):
                            s += xin[img, h, w, g * p["Cg"] + c] * p["wlog"][co, r, q, c]
            out[m, co] = s
    return out


def random_problem(rng, eb):
    ce = 16 // eb
    G = int(rng.choice([1, 1, 2]))
    Cg = int(rng.integers(1, 3 * ce)) if G == 1 else ce * int(rng.integers(1, 3))
    Ng = int(rng.integers(1, 70))
    R, S = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    H, W = int(rng.integers(R, 9)), int(rng.integers(S, 9))
    sh_, sw_ = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    ph, pw = int(rng.integers(0, 2)), int(rng.integers(0, 2))
    dh = dw = 1
    N = int(rng.integers(1, 3))
    P, Q = (H + 2 * ph - R) // sh_ + 1, (W + 2 * pw - S) // sw_ + 1
    C = G * Cg
    extra = int(rng.integers(0, 2)) * ce  # a following slice in the root
    root_c = -(-(C + extra) // ce) * ce
    xin = rng.integers(-5, 6, size=(N, H, W, C))
    root = np.full((N, H, W, root_c), 10 ** 6, dtype=np.int64)  # other channels: poison
    root[..., :C] = xin
    Cg_pad = -(-Cg // ce) * ce
    wlog = rng.integers(-3, 4, size=(G * Ng, R, S, Cg))
    wts = np.zeros((G * Ng, R, S, Cg_pad), dtype=np.int64)
    wts[..., :Cg] = wlog
    prob = dict(M=N * P * Q, P=P, Q=Q, H=H, W=W, R=R, S=S, sh_=sh_, sw_=sw_, ph=ph, pw=pw, dh=dh, dw=dw, G=G, Cg=Cg,
                Ng=Ng, Cg_pad=Cg_pad, Ktot=R * S * Cg_pad, sn=H * W * root_c, ish=W * root_c, isw=root_c, wlog=wlog)
    return prob, root.reshape(-1), wts.reshape(-1), xin


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    bad = 0
    for case in range(args.cases):
        eb = int(rng.choice([1, 2, 4]))
        cfg = CONFIGS[case % len(CONFIGS)]
        prob, x, wts, xin = random_problem(rng, eb)
        got = run_kernel(cfg, eb, prob, x, wts)
        want = reference(prob, xin)
        ok = np.array_equal(got, want)
        bad += not ok
        print(("PASS" if ok else "FAIL"), f"eb={eb} tile={cfg[:2]} K{cfg[4]}B",
              {k: prob[k] for k in ("M", "G", "Cg", "Ng", "R", "S", "H", "W", "sh_", "sw_", "ph", "pw")})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
