"""Checks a model `nas export` wrote with the ONNX tools users deploy with:
onnx.checker, then onnxruntime on the input of `nas export --sample`, whose
logits must equal naskit's within the tolerance below.

  python onnx_check.py MODEL.onnx SAMPLE.json [ARCH]
ARCH, if given, must be the model's `arch` metadata entry.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

# float32 sums in a different order (oneDNN vs MLAS convolutions): the
# networks' logits agree to ~1e-5 relative; 1e-4 absolute + relative.
TOLERANCE = 1e-4


def main():
    model_path, sample_path = sys.argv[1], sys.argv[2]
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    for key in ("arch", "space", "naskit_version", "naskit_commit", "sizes"):
        if key not in meta:
            sys.exit(f"FAIL {model_path}: no '{key}' in metadata_props ({sorted(meta)})")
    if len(sys.argv) > 3 and meta["arch"] != sys.argv[3]:
        sys.exit(f"FAIL {model_path}: arch metadata {meta['arch']!r}, expected {sys.argv[3]!r}")
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    if batch_dim.dim_param != "batch":
        sys.exit(f"FAIL {model_path}: the batch dimension is not free ({batch_dim})")
    sample = json.load(open(sample_path))
    x = np.array(sample["input"], dtype=np.float32).reshape(sample["input_shape"])
    want = np.array(sample["logits"], dtype=np.float32).reshape(sample["logits_shape"])
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    for batch in sorted({1, x.shape[0]}):
        (got,) = session.run(["logits"], {"input": x[:batch]})
        if got.shape != want[:batch].shape:
            sys.exit(f"FAIL {model_path}: batch {batch}: logits of shape {got.shape}, expected {want[:batch].shape}")
        err = np.abs(got - want[:batch]).max()
        if not np.allclose(got, want[:batch], atol=TOLERANCE, rtol=TOLERANCE):
            sys.exit(f"FAIL {model_path}: batch {batch}: onnxruntime differs from naskit by {err:.3g}")
        print(f"ok {model_path}: batch {batch}, max |onnxruntime - naskit| = {err:.3g}")


if __name__ == "__main__":
    main()
