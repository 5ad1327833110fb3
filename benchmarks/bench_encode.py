"""Speed benchmark of the encode stage; writes ``benchmarks/results/encode.json``.

Measures

1. text encoding throughput (bundled all-MiniLM-L6-v2, batch 128) on synthetic product
   descriptions of 20-40 words (~35 tokens) and titles of 5-10 words;
2. image encoding throughput (EfficientNet-Lite0, batch 32, synthetic 320x240 JPEG files,
   decoding included) at the default 224 pixels and at a smaller side;
3. approximate nearest-neighbour search for maximum inner product on seeded random float32
   128-d vectors (200,000 by default, 1,000,000 with ``--full``), 1,000 batched queries:
   recall@10 against exact ``IndexFlatIP`` search and queries a second, swept over IVF
   ``nprobe`` and HNSW ``efSearch``, on two data sets:

   * ``gaussian_mixture``: 1,000 centres drawn from N(0, I), each vector a centre plus N(0, I)
     noise (clustered, as embedding collections are);
   * ``iid_gaussian``: every coordinate i.i.d. N(0, 1), the worst case for any index: all
     inner products concentrate around the same value, so no partition or graph can skip
     much work (reported to show the limit, capped at 200,000 vectors).

   "best" is the fastest setting with recall@10 >= 0.95; "speedup" divides its QPS by the
   exact search's QPS measured on the same batch in the same run.

4. quality on the synthetic world (needs the ingest stage's outputs under ``$HERMES_OUTPUT_ROOT``
   or the project root; skipped with the reason otherwise):

   * ``image_size_quality``: for each EfficientNet-Lite0 input side (64 = the world's images,
     128, 224 = native), the seconds to encode 256 world images without the cache, the rank
     correlation between image-embedding cosines and the world's visual-latent cosines on
     20,000 seeded item pairs, and the cold-start NDCG@10 of the untrained image cosine and of
     the trained image-only tower (the stage's protocol: full ranking of the cold items);
   * ``fused_vs_best_single``: read from the encode stage's ``metrics/encode.json`` and ``reports/diagnostics/encode.json``: the fused
     tower's cold-start NDCG@10 against the best single modality, with its paired bootstrap CI.

Usage::

    python benchmarks/bench_encode.py            # ~3-4 min on 2 cores
    python benchmarks/bench_encode.py --full     # 1M vectors, ~8 min on 2 cores
    python benchmarks/bench_encode.py --device cuda

The shared CPU may be busy with other work; every QPS is a median of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import faiss  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from hermes_core.index.faiss_index import build_index, exact_topk, measure_qps, sweep  # noqa: E402
from hermes_core.device import device_name, resolve_device  # noqa: E402

WORDS = (
    "red blue green black white navy beige olive cotton linen wool leather denim silk "
    "dress shirt jacket coat boots sneakers scarf hat bag backpack lamp chair table sofa "
    "novel thriller album vinyl podcast documentary comedy drama headphones speaker phone "
    "charger kettle blender with pockets zip hood slim regular relaxed fit for men women kids "
    "summer winter outdoor travel office home classic modern vintage soft warm light "
    "waterproof breathable durable handmade organic recycled premium limited edition new "
    "and the a of in on by from great gift everyday comfort style quality design"
).split()


def _synthetic_texts(n: int, seed: int, min_words: int = 20, max_words: int = 40) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(min_words, max_words + 1)))) for _ in range(n)]


def _synthetic_images(folder: Path, n: int, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    y, x = np.mgrid[0:240, 0:320]
    for index in range(n):
        frequencies = rng.uniform(0.01, 0.1, size=(3, 2))
        channels = [
            127 + 120 * np.sin(frequencies[c, 0] * x + frequencies[c, 1] * y + rng.uniform(0, 6)) for c in range(3)
        ]
        pixels = np.stack(channels, axis=-1) + rng.normal(0, 10, size=(240, 320, 3))
        path = folder / f"item_{index:04d}.jpg"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def bench_text(device: str, n_items: int, repeats: int) -> list[dict[str, Any]]:
    from hermes_core.encoders.text import TextEncoder

    start = time.perf_counter()
    encoder = TextEncoder(device=device, batch_size=128, progress_min_items=10**9)
    load_seconds = time.perf_counter() - start
    rows = []
    for name, (min_words, max_words) in (("description_20_40_words", (20, 40)), ("title_5_10_words", (5, 10))):
        texts = _synthetic_texts(n_items, seed=0, min_words=min_words, max_words=max_words)
        encoder.encode(texts[:128])  # warm-up
        load_before = os.getloadavg()[0]
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            encoder.encode(texts)
            seconds.append(time.perf_counter() - start)
        tokens = encoder.sentence_transformer.tokenizer(texts[:256])["input_ids"]
        rows.append(
            {
                "texts": name,
                "model_id": encoder.model_id,
                "dim": encoder.dim,
                "batch_size": 128,
                "n_items": n_items,
                "mean_tokens_per_item": float(np.mean([len(ids) for ids in tokens])),
                "load_seconds": load_seconds,
                "items_per_second": n_items / float(np.median(seconds)),
                "target_items_per_second": 100,
                "loadavg_1min_before": load_before,
            }
        )
    return rows


def bench_images(device: str, sizes: list[int], n_items: int, repeats: int) -> list[dict[str, Any]]:
    from hermes_core.encode.image import EfficientNetLite0Encoder

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        paths = _synthetic_images(Path(folder), n_items, seed=0)
        for size in sizes:
            encoder = EfficientNetLite0Encoder(
                image_size=size, batch_size=32, device=device, progress_min_items=10**9
            )
            encoder.encode(paths[:32])  # warm-up
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                _, mask = encoder.encode(paths)
                seconds.append(time.perf_counter() - start)
            assert mask.all()
            rows.append(
                {
                    "loadavg_1min": os.getloadavg()[0],
                    "image_size": size,
                    "batch_size": 32,
                    "n_items": n_items,
                    "source": "320x240 JPEG files, decoding and preprocessing included",
                    "items_per_second": n_items / float(np.median(seconds)),
                }
            )
    return rows


def _vectors(kind: str, n: int, n_queries: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "iid_gaussian":
        return (
            rng.standard_normal((n, dim), dtype=np.float32),
            rng.standard_normal((n_queries, dim), dtype=np.float32),
        )
    centres = rng.standard_normal((1000, dim), dtype=np.float32)

    def draw(count: int) -> np.ndarray:
        data = centres[rng.integers(0, len(centres), count)]
        data += rng.standard_normal((count, dim), dtype=np.float32)
        return data

    return draw(n), draw(n_queries)


def _nlist_for(n: int) -> int:
    # about 4 sqrt(n) lists, rounded to a power of two (FAISS's usual guideline)
    return int(2 ** round(np.log2(4 * np.sqrt(n))))


def bench_ann(kind: str, n: int, n_queries: int, dim: int, seed: int, repeats: int, with_hnsw: bool,
              nprobe_grid: list[int], ef_grid: list[int]) -> dict[str, Any]:
    started = time.perf_counter()
    vectors, queries = _vectors(kind, n, n_queries, dim, seed)
    flat = build_index(vectors, "flat")
    exact_scores, exact_ids = exact_topk(vectors, queries, 10)
    del exact_scores
    exact_qps = measure_qps(flat, queries, 10, repeats)
    load_at_exact = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    nlist = _nlist_for(n)
    start = time.perf_counter()
    ivf = build_index(vectors, "ivf_flat", nlist=nlist, nprobe=1, seed=seed, train_size=min(n, 40 * nlist))
    ivf_build = time.perf_counter() - start
    for row in sweep(ivf, queries, exact_ids, "nprobe", [p for p in nprobe_grid if p <= nlist], repeats=repeats):
        rows.append({**row, "index_type": "ivf_flat", "nlist": nlist, "build_seconds": ivf_build})
    del ivf
    if with_hnsw:
        start = time.perf_counter()
        hnsw = build_index(vectors, "hnsw", hnsw_m=16, ef_construction=64, ef_search=16)
        hnsw_build = time.perf_counter() - start
        for row in sweep(hnsw, queries, exact_ids, "ef_search", ef_grid, repeats=repeats):
            rows.append(
                {**row, "index_type": "hnsw", "hnsw_m": 16, "ef_construction": 64, "build_seconds": hnsw_build}
            )
        del hnsw
    for row in rows:
        row["speedup_vs_exact"] = row["qps"] / exact_qps
    passing = [row for row in rows if row["search_recall_at_k"] >= 0.95]
    best = max(passing, key=lambda row: row["qps"]) if passing else None
    return {
        "data": kind,
        "n_vectors": n,
        "dim": dim,
        "n_queries": n_queries,
        "k": 10,
        "seed": seed,
        "exact": {"index": "IndexFlatIP", "qps": exact_qps, "loadavg_1min": load_at_exact},
        "sweep": rows,
        "best_at_recall_0_95": best,
        "target": "recall@10 >= 0.95 at >= 10x exact QPS (batched queries)",
        "target_met": bool(best is not None and best["speedup_vs_exact"] >= 10),
        "seconds": time.perf_counter() - started,
    }


def _visual_alignment(image: np.ndarray, mask: np.ndarray, latent: np.ndarray, seed: int, n_pairs: int = 20_000) -> float:
    """Spearman correlation of embedding cosine and visual-latent cosine over random item pairs."""
    rows = np.flatnonzero(mask)
    rng = np.random.default_rng(seed)
    first, second = rng.choice(rows, n_pairs), rng.choice(rows, n_pairs)
    keep = first != second
    first, second = first[keep], second[keep]
    unit = latent / np.linalg.norm(latent, axis=1, keepdims=True)
    embedding_cosine = np.einsum("ij,ij->i", image[first], image[second])
    latent_cosine = np.einsum("ij,ij->i", unit[first], unit[second])
    ranks = [np.argsort(np.argsort(values)) for values in (embedding_cosine, latent_cosine)]
    return float(np.corrcoef(*ranks)[0, 1])


def bench_world_quality(sizes: list[int], device: str) -> dict[str, Any]:
    """Image input side vs cost and quality on the world; fused vs best single from the metrics."""
    from hermes_core.params import load_params
    from hermes_core.encode import stage as st
    from hermes_core.encode.image import EfficientNetLite0Encoder
    from hermes_core.encode.params import EncodeParams
    from hermes_core.workspace import Workspace

    params = load_params(ROOT / "params.yaml", profile="default")
    workspace = Workspace.from_env()
    section: dict[str, Any] = {"workspace": str(workspace.root)}
    metrics_file = workspace.metrics_file("encode")
    diagnostics_file = workspace.diagnostics_file("encode")
    if metrics_file.is_file():
        metrics = json.loads(metrics_file.read_text())
        diagnostics = json.loads(diagnostics_file.read_text()) if diagnostics_file.is_file() else {}
        ndcg = metrics.get("cold_start_ndcg_at_10", {})
        section["fused_vs_best_single"] = {
            "source": str(metrics_file), "fused": ndcg.get("fused"), "text": ndcg.get("text"),
            "image": ndcg.get("image"), "concat": ndcg.get("concat"),
            **diagnostics.get("cold_start_fused_minus_best_single", {}),
        }
    else:
        section["fused_vs_best_single"] = {"skipped": f"no {metrics_file}: run the encode stage first"}
    if params.data.source != "world" or not (workspace.world / "world.npz").is_file():
        section["image_size_quality"] = {"skipped": f"no synthetic world under {workspace.world}"}
        return section
    inputs = st.load_inputs(params, workspace)
    cache = st.cache_folder(params, workspace)
    text_encoder = st.make_text_encoder(params.encode)
    latent = inputs.world.catalogue.visual_latent[inputs.world_item_index]
    sample = [path for path in inputs.items.image_paths if path is not None][:256]
    rows = []
    for size in sizes:
        settings = params.encode.model_dump()
        settings["image"].update(size=size)
        settings.update(device=device)
        settings["fusion"].update(compare=("image_only",), kind="image_only", show_progress=False)
        encode_params = EncodeParams.model_validate(settings)
        timer = EfficientNetLite0Encoder(image_size=size, device=device, progress_min_items=10**9)
        timer.encode(sample[:32])
        start = time.perf_counter()
        timer.encode(sample)
        seconds_256 = time.perf_counter() - start
        encoded = st.encode_catalogue(inputs.items, encode_params, cache, text_encoder)
        training = st.build_training_set(inputs, encoded, encode_params, cache, text_encoder)
        towers = st.train_towers(training, encoded, encode_params)
        evaluation = st.evaluate_cold_start(inputs, encoded, towers, encode_params)
        row = {
            "image_size": size,
            "seconds_per_256_images": seconds_256,
            "catalogue_encode_seconds_estimate": seconds_256 * len(inputs.items) / len(sample),
            "visual_latent_rank_correlation": _visual_alignment(encoded.image, encoded.image_mask, latent, params.encode.seed),
            "cold_start_ndcg_at_10_image_cosine": evaluation.reports["image_cosine"].ndcg.mean,
            "cold_start_ndcg_at_10_image_tower": evaluation.reports["image"].ndcg.mean,
            "image_tower_best_epoch": towers["image_only"].best_epoch,
        }
        rows.append(row)
        print(f"  {size} px: {seconds_256:.1f} s / 256 images, latent rho {row['visual_latent_rank_correlation']:.3f}, "
              f"cold NDCG@10 cosine {row['cold_start_ndcg_at_10_image_cosine']:.4f}, "
              f"tower {row['cold_start_ndcg_at_10_image_tower']:.4f}", flush=True)
    section["image_size_quality"] = rows
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="ANN on 1,000,000 vectors (default 200,000)")
    parser.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda"], help="torch device of the encoders"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "encode.json")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats a measurement (median)")
    parser.add_argument("--skip-encoders", action="store_true", help="only the ANN part")
    parser.add_argument("--skip-ann", action="store_true", help="only the encoders")
    parser.add_argument("--skip-quality", action="store_true", help="no quality section on the world")
    parser.add_argument("--quality-sizes", default="64,128,224", help="image sides compared on the world")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        device = resolve_device(args.device)
    except RuntimeError as error:
        print(f"bench_encode: {error}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {
        "benchmark": "encode",
        "created_unix": time.time(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "faiss_threads": faiss.omp_get_max_threads(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "faiss": faiss.__version__,
        "device": str(device),
        "device_name": device_name(device),
        "ann_device": "cpu (faiss-cpu)",
        "loadavg_1_5_15_at_start": list(os.getloadavg()),
        "note": "the cores may be shared with other processes; the load averages include "
        "this benchmark (about 2 on its own on 2 cores), anything above that is other work",
    }
    if not args.skip_encoders:
        print("text ...", flush=True)
        result["text"] = bench_text(str(device), 2048 if device.type == "cuda" else 512, args.repeats)
        for row in result["text"]:
            print(f"  {row['texts']}: {row['items_per_second']:.0f} items/s", flush=True)
        print("images ...", flush=True)
        result["image"] = bench_images(str(device), [224, 128], 256 if device.type == "cuda" else 64, args.repeats)
        for row in result["image"]:
            print(f"  {row['image_size']} px: {row['items_per_second']:.1f} items/s", flush=True)
    if not args.skip_ann:
        n = 1_000_000 if args.full else 200_000
        result["ann"] = []
        for kind, size, with_hnsw, nprobe_grid in (
            ("gaussian_mixture", n, True, [1, 2, 4, 8, 16, 32]),
            ("iid_gaussian", min(n, 200_000), False, [16, 64, 256, 1024]),
        ):
            print(f"ANN {kind} n={size} ...", flush=True)
            section = bench_ann(kind, size, 1000, 128, seed=0, repeats=args.repeats, with_hnsw=with_hnsw,
                                nprobe_grid=nprobe_grid, ef_grid=[16, 32, 64, 128, 256])
            result["ann"].append(section)
            best = section["best_at_recall_0_95"]
            print(f"  exact {section['exact']['qps']:.0f} qps; best "
                  + ("none >= 0.95" if best is None else
                     f"{best['index_type']} {best['knob']}={best['value']} recall {best['search_recall_at_k']:.3f} "
                     f"{best['qps']:.0f} qps ({best['speedup_vs_exact']:.1f}x)"), flush=True)
    if not args.skip_quality:
        print("world quality ...", flush=True)
        result["world_quality"] = bench_world_quality([int(v) for v in args.quality_sizes.split(",")], str(device))
        fused = result["world_quality"]["fused_vs_best_single"]
        if "ndcg_difference" in fused:
            print(f"  fused cold-start NDCG@10 {fused['fused']:.4f} vs best single ({fused['best_single']}) "
                  f"{fused[fused['best_single']]:.4f}: {fused['ndcg_difference']:+.4f} "
                  f"[{fused['ci_low']:+.4f}, {fused['ci_high']:+.4f}]", flush=True)
    if args.output.is_file():  # sections skipped this time keep their last measured values
        previous = json.loads(args.output.read_text())
        for key in ("text", "image", "ann", "world_quality"):
            if key not in result and key in previous:
                result[key] = previous[key]
                result.setdefault("carried_over_from_previous_run", []).append(key)
    result["total_seconds"] = time.perf_counter() - started
    result["loadavg_1_5_15_at_end"] = list(os.getloadavg())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output} in {result['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
