using Streaming.Training.Onnx;
using TorchSharp;
using static TorchSharp.torch;
using G = Streaming.Training.Onnx.OnnxGraphBuilder;

namespace Streaming.Training.Models;

/// <summary>
/// A classifier over feature windows [batch, 1, bands, time]. Every architecture starts with a fixed
/// per-band standardisation (training-set statistics, stored as buffers and written into the ONNX graph),
/// so the runtime feeds raw log-mels / MFCCs exactly as the featurizer computes them.
/// </summary>
internal abstract class EmotionNet : nn.Module<Tensor, Tensor>
{
    protected EmotionNet(string name, int bands, int labels) : base(name)
    {
        Bands = bands;
        Labels = labels;
        norm_mean = zeros(1, 1, bands, 1);
        norm_scale = ones(1, 1, bands, 1);
        // buffers, so they are saved with the weights
        register_buffer("norm_mean", norm_mean);
        register_buffer("norm_scale", norm_scale);
    }

#pragma warning disable IDE1006 // names are the state_dict keys
    private readonly Tensor norm_mean;
    private readonly Tensor norm_scale;
#pragma warning restore IDE1006

    public int Bands { get; }

    /// <summary>
    /// Subtract each window's own per-band mean (cepstral mean normalisation over the window) instead of the
    /// training-set mean: removes gain and channel colouring, which differ between corpora and calls.
    /// </summary>
    public bool PerWindowMean { get; set; }
    public int Labels { get; }

    /// <summary><see cref="Streaming.Contracts.ModelContract.LogMel"/> or <see cref="Streaming.Contracts.ModelContract.Mfcc"/>.</summary>
    public abstract string InputKind { get; }

    /// <summary>Shortest window the pooling stack turns into at least one time step.</summary>
    public abstract int MinFrames { get; }

    /// <summary>False for the fused baseline, whose gender input the product does not have.</summary>
    public virtual bool Exportable => true;

    /// <summary>Sets the per-band standardisation from training-set statistics.</summary>
    public void SetNormalisation(ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        if (mean.Length != Bands || std.Length != Bands) throw new ArgumentException($"normalisation needs {Bands} bands");
        var scale = new float[Bands];
        for (int i = 0; i < Bands; i++) scale[i] = 1f / MathF.Max(std[i], 1e-3f);
        using var _ = no_grad();
        norm_mean.copy_(tensor(mean.ToArray()).reshape(1, 1, Bands, 1));
        norm_scale.copy_(tensor(scale).reshape(1, 1, Bands, 1));
    }

    public override Tensor forward(Tensor features) => Logits(features, null);

    /// <summary>
    /// Logits [batch, labels]; <paramref name="gender"/> ([batch, 3] one-hot M/F/unknown) is used by the fused baseline only,
    /// <paramref name="prosody"/> ([batch, ProsodyStatistics.Count]) by a net with a prosodic branch only.
    /// </summary>
    public Tensor Logits(Tensor features, Tensor? gender, Tensor? prosody = null) =>
        Classify((features - (PerWindowMean ? features.mean([3], keepdim: true) : norm_mean)) * norm_scale, gender, prosody);

    /// <summary>Whether <see cref="Logits"/> needs the windows' prosodic statistics (<see cref="Streaming.Contracts.ModelContract.Prosody"/>).</summary>
    public virtual bool UsesProsody => false;

    protected abstract Tensor Classify(Tensor normalised, Tensor? gender, Tensor? prosody);

    /// <summary>Appends the eval-mode graph after the normalisation; returns the logits' name. <paramref name="prosody"/>: the
    /// prosody input's name, for a net that <see cref="UsesProsody"/>.</summary>
    protected abstract string AppendOnnx(G g, string normalised, string? prosody);

    /// <summary>
    /// Writes the eval-mode graph: input "features" [batch, 1, bands, time] (and "prosody" [batch, ProsodyStatistics.Count] for
    /// a net that <see cref="UsesProsody"/>), output "logits" [batch, labels].
    /// </summary>
    public void AppendGraph(G g, string inputName, string outputName)
    {
        if (!Exportable) throw new NotSupportedException($"{GetName()} cannot be exported: it needs the speaker's gender, which the product's input lacks");
        var input = g.Input(inputName, "batch", 1, Bands, "time");
        var prosody = UsesProsody ? g.Input(Streaming.Contracts.ModelContract.ProsodyInputName, "batch", Streaming.Features.ProsodyStatistics.Count) : null;
        var mean = PerWindowMean
            ? g.Node("ReduceMean", [input], G.Ints("axes", 3), G.Int("keepdims", 1))
            : g.Floats("norm_mean", EmotionNet.Values(norm_mean), 1, 1, Bands, 1);
        var centred = g.Node("Sub", [input, mean]);
        var scaled = g.Node("Mul", [centred, g.Floats("norm_scale", EmotionNet.Values(norm_scale), 1, 1, Bands, 1)]);
        g.Output(AppendOnnx(g, scaled, prosody), outputName, "batch", Labels);
    }

    /// <summary>
    /// ELU (alpha 1) as relu(x) + expm1(−relu(−x)). TorchSharp's elu takes alpha as a temporary native Scalar
    /// that the GC could free mid-call (seen once as a libtorch "toFloat" abort); this form passes no Scalar.
    /// </summary>
    public static Tensor Elu(Tensor x) => nn.functional.relu(x) + (-nn.functional.relu(-x)).expm1();

    public static float[] Values(Tensor t) => t.detach().cpu().contiguous().data<float>().ToArray();

    public long ParameterCount() => parameters().Sum(p => p.numel());
}

/// <summary>Turns trained TorchSharp layers into their eval-mode ONNX equivalents.</summary>
internal static class OnnxExport
{
    /// <summary>Conv weight and bias with an eval-mode BatchNorm folded in: W' = W·γ/√(σ²+ε), b' = (b−μ)·γ/√(σ²+ε) + β.</summary>
    public static (float[] Weight, float[] Bias) Fold(Tensor convWeight, Tensor? convBias, nn.Module bn, double eps)
    {
        var w = EmotionNet.Values(convWeight);
        int outCh = (int)convWeight.shape[0];
        int per = w.Length / outCh;
        var gamma = EmotionNet.Values(bn.get_parameter("weight")!);
        var beta = EmotionNet.Values(bn.get_parameter("bias")!);
        var mean = EmotionNet.Values(bn.get_buffer("running_mean")!);
        var variance = EmotionNet.Values(bn.get_buffer("running_var")!);
        var b = convBias is null ? new float[outCh] : EmotionNet.Values(convBias);
        var bias = new float[outCh];
        for (int o = 0; o < outCh; o++)
        {
            // double here so the folded weights match the framework's float BatchNorm within ~1e-7
            double k = gamma[o] / Math.Sqrt(variance[o] + eps);
            for (int i = 0; i < per; i++) w[o * per + i] = (float)(w[o * per + i] * k);
            bias[o] = (float)((b[o] - mean[o]) * k + beta[o]);
        }
        return (w, bias);
    }

    /// <summary>
    /// Appends an ONNX LSTM from a TorchSharp LSTM (one layer). PyTorch stores gates as i,f,g,o, ONNX as
    /// i,o,f,c, so each direction's W, R and both bias halves are reordered; ONNX's B is [Wb; Rb].
    /// Input [time, batch, in]; returns Y [time, directions, batch, hidden].
    /// </summary>
    public static string Lstm(G g, nn.Module lstm, string input, int inputSize, int hidden, bool bidirectional)
    {
        string[] suffixes = bidirectional ? ["", "_reverse"] : [""];
        int dirs = suffixes.Length;
        var w = new float[dirs * 4 * hidden * inputSize];
        var r = new float[dirs * 4 * hidden * hidden];
        var bias = new float[dirs * 8 * hidden];
        int[] order = [0, 3, 1, 2]; // ONNX gate k comes from PyTorch gate order[k]
        for (int d = 0; d < dirs; d++)
        {
            var wih = EmotionNet.Values(lstm.get_parameter($"weight_ih_l0{suffixes[d]}")!);
            var whh = EmotionNet.Values(lstm.get_parameter($"weight_hh_l0{suffixes[d]}")!);
            var bih = EmotionNet.Values(lstm.get_parameter($"bias_ih_l0{suffixes[d]}")!);
            var bhh = EmotionNet.Values(lstm.get_parameter($"bias_hh_l0{suffixes[d]}")!);
            for (int k = 0; k < 4; k++)
            {
                int src = order[k];
                Array.Copy(wih, src * hidden * inputSize, w, (d * 4 + k) * hidden * inputSize, hidden * inputSize);
                Array.Copy(whh, src * hidden * hidden, r, (d * 4 + k) * hidden * hidden, hidden * hidden);
                Array.Copy(bih, src * hidden, bias, d * 8 * hidden + k * hidden, hidden);
                Array.Copy(bhh, src * hidden, bias, d * 8 * hidden + 4 * hidden + k * hidden, hidden);
            }
        }
        var outputs = g.NodeN("LSTM",
            [input, g.Floats("lstm_W", w, dirs, 4 * hidden, inputSize), g.Floats("lstm_R", r, dirs, 4 * hidden, hidden), g.Floats("lstm_B", bias, dirs, 8 * hidden)],
            1,
            G.Int("hidden_size", hidden),
            G.String("direction", bidirectional ? "bidirectional" : "forward"));
        return outputs[0];
    }

    public static string Linear(G g, TorchSharp.Modules.Linear linear, string input)
    {
        var weight = linear.weight!;
        return g.Node("Gemm",
            [input, g.Floats("fc_W", EmotionNet.Values(weight), weight.shape[0], weight.shape[1]), g.Floats("fc_b", EmotionNet.Values(linear.bias!), weight.shape[0])],
            G.Int("transB", 1));
    }
}
