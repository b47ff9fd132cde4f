"""Throughput of the shipped CNN-BiLSTM on one GPU: the ONNX model's own weights loaded into PyTorch,
checked against ONNX Runtime (CPU) on the same inputs, then timed at several batch sizes (fp32, and bf16
autocast). Prints one JSON line per measurement."""
import json, sys, time
import numpy as np, onnx, onnx.numpy_helper as nh, torch, onnxruntime as ort

path = sys.argv[1]
m = onnx.load(path)
meta = {p.key: p.value for p in m.metadata_props}
bands, frames = int(meta["n_mels"]), int(meta["window_frames"])
init = {t.name: nh.to_array(t) for t in m.graph.initializer}
convs, lstm, gemm, mean, scale = [], None, None, None, None
for n in m.graph.node:
    if n.op_type == "Sub": mean = init.get(n.input[1])  # None: the graph centres each window on its own mean
    elif n.op_type == "Mul" and scale is None: scale = init[n.input[1]]
    if n.op_type == "Conv": convs.append((init[n.input[1]], init[n.input[2]]))
    elif n.op_type == "LSTM": lstm = (init[n.input[1]], init[n.input[2]], init[n.input[3]])
    elif n.op_type == "Gemm": gemm = (init[n.input[1]], init[n.input[2]])

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = torch.nn.ModuleList()
        for w, b in convs:
            c = torch.nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
            c.weight.data = torch.from_numpy(w.copy()); c.bias.data = torch.from_numpy(b.copy())
            self.convs.append(c)
        W, R, B = lstm
        H = R.shape[2]
        self.lstm = torch.nn.LSTM(W.shape[2], H, bidirectional=True, batch_first=True)
        order = [0, 2, 3, 1]  # torch gate k (i,f,g,o) comes from onnx gate order[k] (i,o,f,c)
        def re(a): return np.concatenate([a[k * H:(k + 1) * H] for k in order])
        for d, s in enumerate(["", "_reverse"]):
            getattr(self.lstm, "weight_ih_l0" + s).data = torch.from_numpy(re(W[d]))
            getattr(self.lstm, "weight_hh_l0" + s).data = torch.from_numpy(re(R[d]))
            getattr(self.lstm, "bias_ih_l0" + s).data = torch.from_numpy(re(B[d][:4 * H]))
            getattr(self.lstm, "bias_hh_l0" + s).data = torch.from_numpy(re(B[d][4 * H:]))
        self.fc = torch.nn.Linear(gemm[0].shape[1], gemm[0].shape[0])
        self.fc.weight.data = torch.from_numpy(gemm[0].copy()); self.fc.bias.data = torch.from_numpy(gemm[1].copy())
        self.register_buffer("scale", torch.from_numpy(scale.copy()))
        self.register_buffer("mean", None if mean is None else torch.from_numpy(mean.copy()))
    def forward(self, x):
        x = (x - (x.mean(3, keepdim=True) if self.mean is None else self.mean)) * self.scale
        for c in self.convs: x = torch.nn.functional.max_pool2d(torch.nn.functional.elu(c(x)), 2)
        y, _ = self.lstm(x.permute(0, 3, 1, 2).flatten(2))
        return self.fc(y.mean(1))

torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = False  # plain fp32: the check compares with ONNX Runtime's fp32
torch.backends.cudnn.allow_tf32 = False
net = Net().eval().cuda()
x = np.random.default_rng(1).standard_normal((8, 1, bands, frames)).astype(np.float32) * 3 - 8
sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
with torch.no_grad(): got = net(torch.from_numpy(x).cuda()).float().cpu().numpy()
print(json.dumps({"check": "torch-gpu vs onnxruntime-cpu", "max_abs_diff": float(np.abs(got - ref).max()),
                  "argmax_equal": bool((got.argmax(1) == ref.argmax(1)).all()), "gpu": torch.cuda.get_device_name(0),
                  "input": [1, bands, frames], "torch": torch.__version__, "per_window_mean": mean is None}), flush=True)

def bench(batch, dtype):
    xb = torch.randn(batch, 1, bands, frames, device="cuda") * 3 - 8
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == "bf16"):
        for _ in range(5): net(xb)
        torch.cuda.synchronize()
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 2.0:
            net(xb); reps += 1
        torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / reps
    print(json.dumps({"dtype": dtype, "batch": batch, "ms_per_batch": round(dt * 1e3, 3),
                      "windows_per_s": round(batch / dt)}), flush=True)

for dtype in ["fp32", "bf16"]:
    for b in [1, 16, 64, 256, 1024, 4096, 16384]:
        bench(b, dtype)
