using Streaming.Contracts;
using TorchSharp.Modules;
using static TorchSharp.torch;
using G = Streaming.Training.Onnx.OnnxGraphBuilder;

namespace Streaming.Training.Models;

/// <summary>
/// The brief's CNN-BiLSTM over log-mel windows: blocks of [Conv 3x3 → BatchNorm → MaxPool 2x2 → ELU →
/// Dropout], time kept as the sequence axis (frequency x channels flattened per step), one bidirectional
/// LSTM, its outputs pooled over time (averaged, or attentive statistics: <see cref="AttentiveStatsPooling"/>), a
/// linear layer to the labels.
/// </summary>
internal sealed class CnnBiLstm : EmotionNet
{
    private const double BatchNormEps = 1e-5;

    private readonly ModuleList<Conv2d> convs = new();
    private readonly ModuleList<BatchNorm2d> norms = new();
    private readonly Dropout dropout;
    private readonly LSTM lstm;
    private readonly AttentiveStatsPooling? pooling; // null: the mean over time
    private readonly ProsodyBranch? prosodyBranch; // null: log-mels only
    private readonly Linear head;
    private readonly int[] _channels;
    private readonly int _lstmInput;
    private readonly int _hidden;

    public CnnBiLstm(int bands, int labels, IReadOnlyList<int> channels, int lstmHidden, double dropoutRate, bool attentiveStats = false, bool prosody = false)
        : base(nameof(CnnBiLstm), bands, labels)
    {
        if (channels.Count == 0) throw new ArgumentException("the CNN needs at least one block", nameof(channels));
        if (bands >> channels.Count == 0) throw new ArgumentException($"{channels.Count} poolings of 2 leave no frequency rows of {bands} bands", nameof(channels));
        _channels = [.. channels];
        int inCh = 1;
        foreach (var c in _channels)
        {
            convs.Add(nn.Conv2d(inCh, c, 3, padding: 1));
            norms.Add(nn.BatchNorm2d(c, eps: BatchNormEps));
            inCh = c;
        }
        dropout = nn.Dropout(dropoutRate);
        _lstmInput = inCh * (bands >> _channels.Length);
        _hidden = lstmHidden;
        lstm = nn.LSTM(_lstmInput, lstmHidden, bidirectional: true, batchFirst: true);
        if (attentiveStats) pooling = new AttentiveStatsPooling(2 * lstmHidden);
        if (prosody) prosodyBranch = new ProsodyBranch(dropoutRate);
        head = nn.Linear((pooling?.OutputFeatures ?? 2 * lstmHidden) + (prosody ? ProsodyBranch.Units : 0), labels);
        RegisterComponents();
    }

    public override string InputKind => ModelContract.LogMel;

    public override int MinFrames => 1 << _channels.Length;

    public override bool UsesProsody => prosodyBranch is not null;

    /// <summary>Sets the prosodic branch's standardisation (a net without one has nothing to set).</summary>
    public void SetProsodyNormalisation(ReadOnlySpan<float> mean, ReadOnlySpan<float> std) => prosodyBranch?.SetNormalisation(mean, std);

    protected override Tensor Classify(Tensor x, Tensor? gender, Tensor? prosody)
    {
        for (int i = 0; i < _channels.Length; i++)
            // pooling before the activation: the same values (ELU is increasing) for a quarter of the activations
            x = dropout.call(EmotionNet.Elu(nn.functional.max_pool2d(norms[i].call(convs[i].call(x)), 2)));
        // [B, C, F, T] → [B, T, C·F]: time is the LSTM's sequence axis
        var seq = x.permute(0, 3, 1, 2).flatten(2);
        var (y, _, _) = lstm.call(seq);
        var embedding = pooling is null ? y.mean([1]) : pooling.call(y);
        if (prosodyBranch is not null)
            embedding = cat([embedding, prosodyBranch.call(prosody ?? throw new ArgumentNullException(nameof(prosody), "this net has a prosodic branch"))], 1);
        return head.call(embedding);
    }

    protected override string AppendOnnx(G g, string x, string? prosody)
    {
        for (int i = 0; i < _channels.Length; i++)
        {
            var (w, b) = OnnxExport.Fold(convs[i].weight!, convs[i].bias, norms[i], BatchNormEps);
            int inCh = i == 0 ? 1 : _channels[i - 1];
            x = g.Node("Conv", [x, g.Floats("conv_W", w, _channels[i], inCh, 3, 3), g.Floats("conv_b", b, _channels[i])],
                G.Ints("kernel_shape", 3, 3), G.Ints("pads", 1, 1, 1, 1));
            x = g.Node("MaxPool", [x], G.Ints("kernel_shape", 2, 2), G.Ints("strides", 2, 2));
            x = g.Node("Elu", [x], G.Float("alpha", 1f));
        }
        // [B, C, F, T] → [B, T, C, F] → [B, T, C·F] → [T, B, C·F]; Reshape's 0 keeps batch and time dynamic
        var bt = g.Node("Transpose", [x], G.Ints("perm", 0, 3, 1, 2));
        var flat = g.Node("Reshape", [bt, g.Int64s("shape_0_0_m1", 0, 0, -1)]);
        var tb = g.Node("Transpose", [flat], G.Ints("perm", 1, 0, 2));
        var y = OnnxExport.Lstm(g, lstm, tb, _lstmInput, _hidden, bidirectional: true);
        // Y [T, 2, B, H] → [T, B, 2, H] → [T, B, 2H]: forward then backward, as PyTorch concatenates
        var yt = g.Node("Transpose", [y], G.Ints("perm", 0, 2, 1, 3));
        var yflat = g.Node("Reshape", [yt, g.Int64s("shape_0_0_m1", 0, 0, -1)]);
        var pooled = pooling is null
            ? g.Node("ReduceMean", [yflat], G.Ints("axes", 0), G.Int("keepdims", 0))
            : pooling.AppendOnnx(g, yflat);
        if (prosodyBranch is not null)
            pooled = g.Node("Concat", [pooled, prosodyBranch.AppendOnnx(g, prosody ?? throw new ArgumentNullException(nameof(prosody), "this net has a prosodic branch"))],
                G.Int("axis", 1));
        return OnnxExport.Linear(g, head, pooled);
    }
}
