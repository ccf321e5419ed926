"""Checks cellar's exports with the real tools (run by export's Go tests).

usage: check_exports.py MANIFEST
MANIFEST is a JSON list of cases: {"py": model.py, "params": N, "input": [C,H,W],
"classes": K, "onnx": model.onnx or null, "weights": w.safetensors or null,
"x": x.bin (float32 input batch) or null, "logits": logits.bin or null}.
Prints one JSON line per case with what it measured; exits non-zero on a failure.
"""

import importlib.util
import json
import struct
import sys

import torch


def floats(path, shape):
    with open(path, "rb") as f:
        raw = f.read()
    return torch.tensor(struct.unpack(f"<{len(raw) // 4}f", raw)).reshape(shape)


def load(path):
    spec = importlib.util.spec_from_file_location("exported", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    cases = json.load(open(sys.argv[1]))
    failed = 0
    for case in cases:
        out = {"py": case["py"]}
        mod = load(case["py"])
        net = mod.CellarNet().eval()
        out["params"] = sum(p.numel() for p in net.parameters())
        n = 2
        with torch.no_grad():
            y = net(torch.zeros(n, *case["input"]))
        out["shape"] = list(y.shape)
        ok = out["params"] == case["params"] and out["shape"] == [n, case["classes"]]
        if case.get("weights"):
            mod.load_cellar_weights(net, case["weights"])
            x = floats(case["x"], [-1, *case["input"]])
            want = floats(case["logits"], [x.shape[0], case["classes"]])
            with torch.no_grad():
                got = net(x)
            out["max_abs_diff"] = float((got - want).abs().max())
            out["max_abs_logit"] = float(want.abs().max())
            ok = ok and out["max_abs_diff"] <= 1e-4 * max(1.0, out["max_abs_logit"])
        if case.get("onnx"):
            import onnx
            from onnx import shape_inference

            m = onnx.load(case["onnx"])
            onnx.checker.check_model(m, full_check=True)
            inferred = shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
            dims = [d.dim_value or d.dim_param for d in inferred.graph.output[0].type.tensor_type.shape.dim]
            out["onnx_output"] = dims
            names = {i.name: i for i in m.graph.initializer}
            out["onnx_params"] = sum(
                int(torch.tensor(list(t.dims)).prod()) if t.dims else 1
                for name, t in names.items()
                if name.endswith(".weight") or name.endswith(".bias")
            )
            out["onnx_opset"] = m.opset_import[0].version
            ok = ok and out["onnx_params"] == case["params"] and dims[1:] == [case["classes"]]
        out["ok"] = ok
        failed += not ok
        print(json.dumps(out), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
