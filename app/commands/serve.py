"""`edge-studio serve`: the cloud tier over HTTP — full MindSpore in this process (engine uvicorn), or
Ray Serve replicas behind the same API (engine ray: a private loopback Ray node, or --address a cluster)."""
from __future__ import annotations

import argparse
import os

from app.core.cloud.ray_engine import BATCH_WAIT_MS, MAX_BATCH
from app.core.cloud.server import (
    DEFAULT_MAX_BODY_MB,
    DEFAULT_PORT,
    MODEL_FILES,
    TOKEN_ENV,
    serve,
)


def cmd_serve(args) -> int:
    from converters.targets import require_mindspore

    token = args.token or os.environ.get(TOKEN_ENV) or None
    max_body = int(args.max_body_mb * 2**20)
    try:
        if args.engine == "ray":
            from app.core.cloud.ray_engine import Batching, Scaling, serve_ray

            scaling = Scaling.parse(args.replicas, args.autoscale)
            batching = Batching(MAX_BATCH if args.max_batch is None else args.max_batch,
                                BATCH_WAIT_MS if args.batch_wait_ms is None else args.batch_wait_ms)
            serve_ray(args.model, host=args.host, port=args.port, token=token, max_body=max_body,
                      announce=args.announce, scaling=scaling, address=args.address, runtime=args.runtime,
                      cpus_per_replica=args.replica_cpus, batching=batching)
        else:
            if (args.replicas is not None or args.autoscale or args.address or args.runtime != "mindspore"
                    or args.max_batch is not None or args.batch_wait_ms is not None):
                raise ValueError("--replicas, --autoscale, --address, --runtime and the batch options need --engine ray")
            require_mindspore("The cloud tier")
            serve(args.model, host=args.host, port=args.port, token=token, max_body=max_body, announce=args.announce)
    except KeyboardInterrupt:
        pass
    return 0


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("serve", help="the cloud tier: serve a MindIR with full MindSpore over HTTP")
    p.add_argument("--model", required=True, help="folder with model.mindir + preprocess.json (e.g. PKG/cloud)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (not loopback: --token is required)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    p.add_argument("--token", help=f"require 'Authorization: Bearer TOKEN' (or set {TOKEN_ENV})")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_MB, help="request size limit (413 above)")
    p.add_argument("--engine", choices=("uvicorn", "ray"), default="uvicorn",
                   help="uvicorn: one process (default); ray: Ray Serve replicas, each holding the model")
    scale = p.add_mutually_exclusive_group()
    scale.add_argument("--replicas", type=int, help="engine ray: this many replicas (default 1)")
    scale.add_argument("--autoscale", metavar="MIN:MAX", help="engine ray: scale replicas on queue length")
    p.add_argument("--address", help="engine ray: join this Ray cluster (ray://HOST:10001, HOST:6379 or auto) "
                                     "instead of starting a private one on 127.0.0.1")
    p.add_argument("--runtime", choices=tuple(MODEL_FILES), default="mindspore",
                   help="engine ray: what each replica runs (onnxruntime serves the folder's model.onnx)")
    p.add_argument("--replica-cpus", type=float, default=1.0, help="engine ray: CPUs Ray reserves per replica")
    p.add_argument("--max-batch", type=int, help=f"engine ray: requests sent to a replica in one call "
                                                 f"(default {MAX_BATCH}; 1: one call per request)")
    p.add_argument("--batch-wait-ms", type=float, help=f"engine ray: how long the first request of a batch "
                                                       f"waits for others (default {BATCH_WAIT_MS})")
    p.add_argument("--announce", action="store_true", help=argparse.SUPPRESS)  # for start_server_process
    p.set_defaults(func=cmd_serve)
