#!/usr/bin/env python3
"""Measuring helper of bench/run.sh (standard library only).

Every measurement appends one JSON record to $BENCH_RESULTS; `report` turns the records into
the table (or JSON) with the goals of issue 6. Subcommands:

  run KEY [--stdout F] [--stderr F] -- CMD...   wall, user+sys CPU, peak RSS (wait4 of the child,
                                                which covers its reaped children too) and the
                                                peak RSS of each process of the tree (VmHWM,
                                                sampled every 5 ms); exits with CMD's code
  ttfb KEY N -- CMD...        time from just before the process is started to the first byte
                              on its stdout pipe, N times (the process is then killed)
  openssl KEY FILE            parses `openssl speed -mr` output (+F line: bytes per second)
  record KEY JSON             any other fact (sizes, counts, versions)
  cut-wav OUT_DIR N BYTES WAV...     N WAV pieces of ~BYTES from the concatenated inputs
  cut-text OUT_DIR N BYTES TEXT      N UTF-8 text pieces of ~BYTES on line boundaries
  cut-mp3 OUT_DIR N BYTES MP3        N MP3 pieces of ~BYTES cut on frame boundaries (CBR)
  crypto-split LIB             reads `perf report --sort dso,symbol` lines on stdin and splits
                              the unresolved samples of LIB (Debian's libcrypto has no symbols)
                              into SHA-256 / AES-GCM / other by the instructions around them
  report [--json] [--micro FILE]
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import wave

RESULTS = os.environ.get("BENCH_RESULTS", "results.jsonl")


def append(rec):
    with open(RESULTS, "a") as f:
        f.write(json.dumps(rec) + "\n")


def load():
    recs = {}
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            for line in f:
                r = json.loads(line)
                recs[r["key"]] = r
    return recs


# ---------------------------------------------------------------- measuring

def tree(pid):
    """pid and its descendants (via /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            name, kib = None, None
            for line in f:
                if line.startswith("Name:"):
                    name = line.split()[1]
                elif line.startswith("VmHWM:"):
                    kib = int(line.split()[1])
            return name, kib
    except OSError:
        return None, None


def run_once(argv, stdout, stderr):
    peaks = {}
    done = threading.Event()
    with open(stdout, "wb") as so, open(stderr, "wb") as se:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=so, stderr=se)

        def sample():
            while not done.is_set():
                for q in tree(p.pid):
                    name, kib = hwm(q)
                    if name and kib:
                        peaks[name] = max(peaks.get(name, 0), kib)
                done.wait(0.005)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        th.join()
    rc = os.waitstatus_to_exitcode(status)
    rec = {"wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime, "maxrss_kib": ru.ru_maxrss,
           "procs": peaks, "rc": rc}
    if rc != 0:
        try:
            with open(stderr, "rb") as f:
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
            rec["stderr_tail"] = lines[-1][:300] if lines else ""
        except OSError:
            pass
    return rec


# Reads the files (directories: the files in them) through, so that they are in the page cache.
def warm(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += [os.path.join(p, f) for f in sorted(os.listdir(p))
                      if os.path.isfile(os.path.join(p, f))]
        else:
            files.append(p)
    for f in files:
        try:
            with open(f, "rb", buffering=0) as fh:
                while fh.read(4 << 20):
                    pass
        except OSError:
            pass  # a missing input: the command reports it, and the figure says so


# run KEY [--stdout F] [--stderr F] [--repeat N] [--warm PATH]… -- CMD…: runs CMD N times
# (default $BENCH_REPEAT, else 3) and records the run of median wall time, with every run's
# wall time and the highest peak memory of any run. Throughput on this VM moves ±30 % between
# identical runs (page-cache work, docs/performance.md); the median of several is what a figure
# needs. Each --warm PATH is read through before every run: this VM's DAMON pages out page
# cache untouched for about a minute, and the figures are defined with their inputs cached.
def cmd_run(argv):
    key = argv.pop(0)
    stdout, stderr = "/dev/null", f"{key}.err"
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    warm_paths = []
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--stdout":
            stdout = argv.pop(0)
        elif opt == "--stderr":
            stderr = argv.pop(0)
        elif opt == "--repeat":
            repeat = int(argv.pop(0))
        elif opt == "--warm":
            warm_paths.append(argv.pop(0))
    argv.pop(0)
    runs = []
    for _ in range(max(1, repeat)):
        warm(warm_paths)
        runs.append(run_once(argv, stdout, stderr))
        if runs[-1]["rc"] != 0:
            break
    failed = [r for r in runs if r["rc"] != 0]
    if failed:
        rec = failed[0]
    else:
        rec = dict(sorted(runs, key=lambda r: r["wall"])[(len(runs) - 1) // 2])
        rec["walls"] = sorted(r["wall"] for r in runs)
        rec["maxrss_kib"] = max(r["maxrss_kib"] for r in runs)
        rec["procs"] = {}
        for r in runs:
            for name, kib in r["procs"].items():
                rec["procs"][name] = max(rec["procs"].get(name, 0), kib)
    rec.update({"key": key, "cmd": argv})
    append(rec)
    return rec["rc"]


# ttfb KEY N -- CMD…: N timed runs after $BENCH_TTFB_WARMUP (default 10) untimed ones of the
# same command: this VM halts idle vCPUs without polling and the bench's sync before these
# runs leaves them idle, so the first runs after it measure the VM waking up, not the command.
def cmd_ttfb(argv):
    key, n = argv[0], int(argv[1])
    cmd = argv[3:]
    warmup = int(os.environ.get("BENCH_TTFB_WARMUP", "10"))
    samples = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        b = os.read(p.stdout.fileno(), 1)
        t1 = time.perf_counter()
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()
        p.stdout.close()
        if not b:
            append({"key": key, "error": f"no output (exit {p.returncode})", "cmd": cmd})
            return 1
        if i >= warmup:
            samples.append((t1 - t0) * 1000)
    append({"key": key, "samples_ms": samples, "median_ms": statistics.median(samples),
            "min_ms": min(samples), "cmd": cmd})
    return 0


def cmd_openssl(argv):
    key, path = argv
    bps = None
    with open(path) as f:
        for line in f:
            if line.startswith("+F:"):
                bps = float(line.strip().split(":")[-1])
    if bps is None:
        append({"key": key, "error": "no +F line in openssl speed output"})
        return 1
    append({"key": key, "bytes_per_s": bps})
    return 0


def cmd_record(argv):
    rec = json.loads(argv[1])
    rec["key"] = argv[0]
    append(rec)
    return 0


# ---------------------------------------------------------------- real-media pieces

def cut_wav(out_dir, n, size, inputs):
    frames, params = [], None
    for path in inputs:
        with wave.open(path) as w:
            p = (w.getnchannels(), w.getsampwidth(), w.getframerate())
            if params is None:
                params = p
            if p != params:
                continue
            frames.append(w.readframes(w.getnframes()))
    data = b"".join(frames)
    ch, width, rate = params
    frame = ch * width
    per = (size // frame) * frame
    step = max(frame, ((len(data) - per) // max(1, n - 1)) // frame * frame)
    for i in range(n):
        off = (i * step) % max(frame, len(data) - per)
        with wave.open(os.path.join(out_dir, f"wav-{i:04d}.wav"), "wb") as w:
            w.setnchannels(ch)
            w.setsampwidth(width)
            w.setframerate(rate)
            w.writeframes(data[off:off + per])


def cut_text(out_dir, n, size, path):
    data = open(path, "rb").read()
    starts = [0] + [i + 1 for i, c in enumerate(data) if c == 10]
    step = max(1, (len(data) - size) // max(1, n - 1))
    for i in range(n):
        want = (i * step) % max(1, len(data) - size)
        s = next(x for x in starts if x >= want)
        e = data.rfind(b"\n", s, s + size) + 1 or min(len(data), s + size)
        piece = data[s:e]
        piece.decode("utf-8")  # real UTF-8 only
        open(os.path.join(out_dir, f"text-{i:04d}.txt"), "wb").write(piece)


def mp3_frames(data):
    """Offsets and lengths of MPEG-1/2 Layer III frames (as lame writes them, CBR)."""
    rates = {3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
             2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]}
    srates = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}
    out, i = [], 0
    while i + 4 <= len(data):
        h = int.from_bytes(data[i:i + 4], "big")
        if (h >> 21) & 0x7FF != 0x7FF or ((h >> 17) & 3) != 1:
            i += 1
            continue
        ver, bri, sri, pad = (h >> 19) & 3, (h >> 12) & 15, (h >> 10) & 3, (h >> 9) & 1
        if ver == 1 or bri in (0, 15) or sri == 3:
            i += 1
            continue
        br = rates[3 if ver == 3 else 2][bri] * 1000
        sr = srates[ver][sri]
        length = (144 if ver == 3 else 72) * br // sr + pad
        out.append((i, length))
        i += length
    return out


def cut_mp3(out_dir, n, size, path):
    data = open(path, "rb").read()
    frames = mp3_frames(data)[1:]  # the first frame is lame's Info tag
    per = max(1, size // frames[0][1])
    step = max(1, (len(frames) - per) // max(1, n - 1))
    for i in range(n):
        k = (i * step) % max(1, len(frames) - per)
        s = frames[k][0]
        e = frames[min(len(frames) - 1, k + per - 1)]
        open(os.path.join(out_dir, f"mp3-{i:04d}.mp3"), "wb").write(data[s:e[0] + e[1]])


# ---------------------------------------------------------------- profile helper

def crypto_split(lib):
    import bisect
    import re
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", lib], capture_output=True,
                         text=True).stdout
    addrs, ops = [], []
    for line in dis.splitlines():
        m = re.match(r"\s+([0-9a-f]+):\s+(\S+)", line)
        if m:
            addrs.append(int(m.group(1), 16))
            ops.append(m.group(2))
    kinds = {"SHA-256 (SHA-NI)": ("sha256rnds2", "sha256msg1", "sha256msg2"),
             "AES-GCM (AES-NI + CLMUL)": ("aesenc", "vaesenc", "aesenclast", "vaesenclast",
                                          "aesdec", "vaesdec", "pclmulqdq", "vpclmulqdq")}
    totals = {}
    base = os.path.basename(lib)
    for line in sys.stdin:
        m = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+\[\.\]\s+0x([0-9a-f]+)", line)
        if not m or not base.startswith(m.group(2).split(".so")[0]):
            continue
        pct, addr = float(m.group(1)), int(m.group(3), 16)
        i = bisect.bisect_left(addrs, addr)
        window = ops[max(0, i - 48):i + 48]
        kind = "other"
        for k, names in kinds.items():
            if any(o in names for o in window):
                kind = k
                break
        totals[kind] = totals.get(kind, 0) + pct
    for k, v in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"    {v:6.2f}%  {base}: {k}")


# ---------------------------------------------------------------- report

MB = 1e6
MiB = 1 << 20


def fmt_time(v, unit):
    ns = v * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}.get(unit, 1)
    for name, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {name}"
    return f"{ns:.3g} ns"


def fmt_rate(bps):
    return f"{bps / MB:,.0f} MB/s"


def report(argv):
    as_json = "--json" in argv
    micro = argv[argv.index("--micro") + 1] if "--micro" in argv else None
    R = load()
    meta = R.get("meta", {})
    rows, notes = [], []

    def get(key):
        r = R.get(key)
        if r is None:
            return None, "not measured"
        if r.get("error"):
            return None, r["error"]
        if "rc" in r and r["rc"] != 0:
            return None, f"exit {r['rc']}: {r.get('stderr_tail', '')}"
        return r, None

    def row(section, name, value, goal, ok, detail=""):
        res = "n/a" if ok is None else ("PASS" if ok else "MISS")
        if goal in ("", None):
            res = "info" if ok is None and value != "n/a" else res
        rows.append({"section": section, "figure": name, "measured": value, "goal": goal or "",
                     "result": res, "detail": detail})

    def cpu(r):
        c = r["user"] + r["sys"]
        w = r.get("walls", [])
        runs = f"; median of {len(w)} runs ({w[0]:.2f}–{w[-1]:.2f} s)" if len(w) > 1 else ""
        return f"wall {r['wall']:.2f} s, CPU {c:.2f} s ({c / r['wall']:.2f} cores){runs}"

    # Limits (openssl speed: CPU time of one core, i.e. what a core does when it gets to run).
    aes, e1 = get("openssl.aes")
    sha, e2 = get("openssl.sha")
    aes_w, _ = get("openssl.aes.elapsed")
    sha_w, _ = get("openssl.sha.elapsed")
    A = aes["bytes_per_s"] if aes else None
    S = sha["bytes_per_s"] if sha else None
    pack_limit = 2 / (1 / A + 2 / S) if A and S else None
    open_limit = 2 / (1 / A + 1 / S) if A and S else None
    load_note = lambda r: f"; wall-clock under this run's load: {fmt_rate(r['bytes_per_s'])}" if r else ""
    row("limits", "AES-256-GCM, 64 KiB blocks, 1 core", fmt_rate(A) if A else "n/a", "", None,
        (e1 or "openssl speed -evp aes-256-gcm (CPU time)") + load_note(aes_w))
    row("limits", "SHA-256, 64 KiB blocks, 1 core", fmt_rate(S) if S else "n/a", "", None,
        (e2 or "openssl speed -evp sha256 (CPU time)") + load_note(sha_w))
    row("limits", "pack limit: AES-GCM + 2× SHA-256 over 2 cores",
        fmt_rate(pack_limit) if pack_limit else "n/a", "", None, "2 / (1/AES + 2/SHA)")
    row("limits", "open limit: SHA-256 + AES-GCM over 2 cores",
        fmt_rate(open_limit) if open_limit else "n/a", "", None, "2 / (1/AES + 1/SHA)")

    size = meta.get("wav_bytes")
    scaled = meta.get("size_mb") != 1024
    sz = f"{size / MiB:,.0f} MiB" if size else "?"

    age_e, ee = get("age.encrypt")
    age_d, ed = get("age.decrypt")
    ms, em = get("minisign.sign")
    for name, r, e in (("age encrypt (X25519 recipient)", age_e, ee),
                       ("age decrypt", age_d, ed), ("minisign -S", ms, em)):
        row("peers", f"{name}, {sz}", fmt_rate(size / r["wall"]) if r else "n/a", "", None,
            cpu(r) if r else e)

    # Pack, compression off.
    pk, e = get("pack.never")
    if pk and size:
        tput = size / pk["wall"]
        if pack_limit:
            x = tput / pack_limit
            row("ours", f"pack {sz} WAV, --compress never: × pack limit", f"{x:.2f}×", "≥ 0.8×",
                x >= 0.8, f"{fmt_rate(tput)}; {cpu(pk)}")
        else:
            row("ours", "pack × pack limit", "n/a", "≥ 0.8×", None, "limit not measured")
        if age_e and ms:
            peer = age_e["wall"] + ms["wall"]
            x = peer / pk["wall"]
            row("ours", "pack: × (age encrypt + minisign sign, back to back)", f"{x:.2f}×",
                "≥ 2×", x >= 2, f"peers {peer:.2f} s vs pack {pk['wall']:.2f} s")
        else:
            row("ours", "pack: × (age + minisign)", "n/a", "≥ 2×", None, ee or em)
    else:
        row("ours", "pack, --compress never", "n/a", "≥ 0.8× limit; ≥ 2× age+minisign", None, e)

    # Open through the sandbox.
    op, e = get("open.stdout")
    if op and size:
        tput = size / op["wall"]
        if age_d:
            x = age_d["wall"] / op["wall"]
            row("ours", "open → /dev/null through the sandbox: × age decrypt", f"{x:.2f}×",
                "≥ 1.5×", x >= 1.5, f"{fmt_rate(tput)}; {cpu(op)}")
        else:
            row("ours", "open: × age decrypt", "n/a", "≥ 1.5×", None, ed)
        if open_limit:
            x = tput / open_limit
            row("ours", "open → /dev/null: × open limit", f"{x:.2f}×", "≥ 0.8×", x >= 0.8,
                "capsule-run open -o - >/dev/null (file ledger, licence)")
    else:
        row("ours", "open → /dev/null through the sandbox", "n/a", "≥ 1.5× age; ≥ 0.8× limit",
            None, e)
    t, e = get("open.test")
    if t and size:
        row("ours", "capsule-run test (discard: output counted + SHA-256)",
            fmt_rate(size / t["wall"]), "", None, cpu(t))
    u, e = get("unpack")
    if u and size:
        row("ours", "capsulec unpack (issuer, no sandbox), for reference",
            fmt_rate(size / u["wall"]), "", None, cpu(u))

    # Verify.
    v, e = get("verify")
    csize = meta.get("capsule_bytes")
    if v and csize and S:
        tput = csize / v["wall"]
        x = tput / S
        row("ours", f"full verify, {sz} capsule: × single-core SHA-256", f"{x:.2f}×", "≥ 0.8×",
            x >= 0.8, f"{fmt_rate(tput)}; {cpu(v)}")
    else:
        row("ours", "full verify × SHA-256", "n/a", "≥ 0.8×", None, e or "limit not measured")

    # Time to first byte.
    big, eb = get("ttfb.big")
    small, es = get("ttfb.small")
    if big:
        ok = big["median_ms"] <= 5
        row("ours", f"time to first byte, {sz} capsule", f"{big['median_ms']:.1f} ms", "≤ 5 ms",
            ok, f"median of {len(big['samples_ms'])}, min {big['min_ms']:.1f} ms")
    else:
        row("ours", f"time to first byte, {sz} capsule", "n/a", "≤ 5 ms", None, eb)
    if small:
        row("ours", "time to first byte, 1 MiB capsule", f"{small['median_ms']:.1f} ms", "", None,
            f"median of {len(small['samples_ms'])}, min {small['min_ms']:.1f} ms")
    if big and small:
        x = big["median_ms"] / small["median_ms"]
        row("ours", f"TTFB {sz} / TTFB 1 MiB", f"{x:.2f}×", "≤ 1.5×", x <= 1.5)
    fr = R.get("ttfb.from")
    if fr and fr.get("na"):
        row("ours", "open --from 90 %: time to first byte", "n/a", "≤ 5 ms, ≤ 1.5× 1 MiB", None,
            fr["na"])
    else:
        f, ef = get("ttfb.from")
        if f:
            ok = f["median_ms"] <= 5 and (not small or f["median_ms"] <= 1.5 * small["median_ms"])
            row("ours", "open --from 90 %: time to first byte", f"{f['median_ms']:.1f} ms",
                "≤ 5 ms, ≤ 1.5× 1 MiB", ok, f"median of {len(f['samples_ms'])}")
        else:
            row("ours", "open --from 90 %: time to first byte", "n/a", "≤ 5 ms", None, ef)

    # Peak RSS.
    if pk:
        m = pk["maxrss_kib"] / 1024
        row("ours", f"peak RSS of pack, {sz}", f"{m:.1f} MiB", "≤ 64 MiB", m <= 64,
            "wait4 ru_maxrss of capsulec")
    if op:
        cap = meta.get("guest_cap_mib", 64)
        procs = op.get("procs", {})
        run_kib = procs.get("capsule-run")
        sbx_kib = procs.get("capsule-sandbox")  # /proc's Name: keeps 15 characters
        whole = op["maxrss_kib"] / 1024
        if run_kib:
            m = run_kib / 1024
            row("ours", f"peak RSS of open (capsule-run), {sz}", f"{m:.1f} MiB", "≤ 64 MiB",
                m <= 64, "VmHWM sampled")
        if sbx_kib:
            m = sbx_kib / 1024
            row("ours", "peak RSS of open (sandbox child)", f"{m:.1f} MiB",
                f"≤ 64 + {cap} MiB (guest cap)", m <= 64 + cap, "VmHWM sampled")
        if not run_kib or not sbx_kib:
            row("ours", "peak RSS of open (largest process of the tree)", f"{whole:.1f} MiB",
                f"≤ 64 + {cap} MiB", whole <= 64 + cap, "wait4 ru_maxrss")

    others = [(n, R[k]) for n, k in (("pack --compress auto", "pack.auto"), ("verify", "verify"),
                                      ("unpack", "unpack")) if k in R and R[k].get("rc") == 0]
    if others:
        row("ours", f"peak RSS of {' / '.join(n for n, _ in others)}, {sz}",
            " / ".join(f"{r['maxrss_kib'] / 1024:.1f}" for _, r in others) + " MiB", "", None,
            "wait4 ru_maxrss; memory must not grow with the input")

    # Catalogue.
    c, e = get("catalogue")
    n = meta.get("catalogue_n")
    if c and n:
        rate = n / c["wall"]
        row("ours", f"catalogue: {n} inputs of ~100 KB, {meta.get('catalogue_flags', '')}",
            f"{rate:,.0f} capsules/s", "≥ 1,000/s", rate >= 1000,
            f"{meta.get('catalogue_mix', '')}; {cpu(c)}")
    else:
        row("ours", "catalogue", "n/a", "≥ 1,000/s", None, e)

    # Compression auto.
    pa, e = get("pack.auto")
    if pa and size and meta.get("capsule_auto_bytes") and csize:
        gained = csize / meta["capsule_auto_bytes"]
        saved = 1 - meta["capsule_auto_bytes"] / csize
        row("ours", f"pack {sz} WAV, --compress auto", f"{pa['wall']:.2f} s, {gained:.3f}×",
            "reported", None,
            f"{fmt_rate(size / pa['wall'])}; capsule {saved * 100:.1f} % smaller than with "
            f"--compress never; {cpu(pa)}")
        rows[-1]["result"] = "info"
    else:
        row("ours", "pack --compress auto", "n/a", "reported", None, e)

    micro_rows = []
    if micro and os.path.exists(micro):
        try:
            for b in json.load(open(micro)).get("benchmarks", []):
                d = {"name": b["name"], "time": b.get("real_time"), "cpu": b.get("cpu_time"),
                     "unit": b.get("time_unit"), "iterations": b.get("iterations")}
                for k in ("bytes_per_second", "call_us", "stored_ratio"):
                    if k in b:
                        d[k] = b[k]
                if b.get("error_occurred"):
                    d["error"] = b.get("error_message")
                micro_rows.append(d)
        except (OSError, ValueError) as ex:
            notes.append(f"micro-benchmarks: {ex}")
    elif meta.get("micro_na"):
        notes.append(f"micro-benchmarks: n/a ({meta['micro_na']})")

    if as_json:
        print(json.dumps({"meta": meta, "limits": {"aes_256_gcm_bytes_per_s": A,
                                                   "sha256_bytes_per_s": S,
                                                   "pack_limit_bytes_per_s": pack_limit,
                                                   "open_limit_bytes_per_s": open_limit},
                          "figures": rows, "micro": micro_rows, "notes": notes,
                          "raw": R}, indent=1))
        return 0

    print(f"# Capsule SDK bench — {meta.get('date', '')}")
    print(f"machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores; "
          f"load average {meta.get('load_start', '?')} at start, {meta.get('load_end', '?')} at end")
    print(f"build: {meta.get('build', '?')}  commit {meta.get('commit', '?')}")
    print(f"big input: {sz} WAV ({meta.get('wav_kind', '')}){' — SCALED DOWN' if scaled else ''}; "
          f"capsule {csize or 0:,} bytes; page cache warm")
    for section, title in (("limits", "Limits measured in this run"),
                           ("peers", "Peers measured in this run"),
                           ("ours", "Capsule SDK vs the goals of issue 6")):
        print(f"\n## {title}\n")
        sel = [r for r in rows if r["section"] == section]
        if section == "ours":
            print("| figure | measured | goal | result | how / detail |")
            print("|---|---|---|---|---|")
            for r in sel:
                print(f"| {r['figure']} | {r['measured']} | {r['goal']} | {r['result']} | "
                      f"{r['detail']} |")
        else:
            print("| figure | measured | how / detail |")
            print("|---|---|---|")
            for r in sel:
                print(f"| {r['figure']} | {r['measured']} | {r['detail']} |")
    if micro_rows:
        print("\n## Micro-benchmarks (Google Benchmark)\n")
        print("| benchmark | time | CPU | throughput / counter |")
        print("|---|---|---|---|")
        for m in micro_rows:
            extra = []
            if "bytes_per_second" in m:
                extra.append(f"{m['bytes_per_second'] / MB:,.0f} MB/s")
            if "call_us" in m:
                extra.append(f"{m['call_us']:.2f} µs/call")
            if "stored_ratio" in m:
                extra.append(f"stored {m['stored_ratio']:.3f} of plaintext")
            if "error" in m:
                extra.append(f"error: {m['error']}")
            print(f"| {m['name']} | {fmt_time(m['time'], m['unit'])} | "
                  f"{fmt_time(m['cpu'], m['unit'])} | {'; '.join(extra)} |")
    for n_ in notes:
        print(f"\nnote: {n_}")
    misses = sum(1 for r in rows if r["result"] == "MISS")
    passes = sum(1 for r in rows if r["result"] == "PASS")
    print(f"\n{passes} PASS, {misses} MISS, {sum(1 for r in rows if r['result'] == 'n/a')} n/a")
    return 0


def main():
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "run":
        return cmd_run(argv)
    if cmd == "ttfb":
        return cmd_ttfb(argv)
    if cmd == "openssl":
        return cmd_openssl(argv)
    if cmd == "record":
        return cmd_record(argv)
    if cmd == "cut-wav":
        cut_wav(argv[0], int(argv[1]), int(argv[2]), argv[3:])
        return 0
    if cmd == "cut-text":
        cut_text(argv[0], int(argv[1]), int(argv[2]), argv[3])
        return 0
    if cmd == "cut-mp3":
        cut_mp3(argv[0], int(argv[1]), int(argv[2]), argv[3])
        return 0
    if cmd == "crypto-split":
        crypto_split(argv[0])
        return 0
    if cmd == "report":
        return report(argv)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
