using Streaming.Contracts;
using TorchSharp.Modules;
using static TorchSharp.torch;
using G = Streaming.Training.Onnx.OnnxGraphBuilder;

namespace Streaming.Training.Models;

/// <summary>
/// Baseline: Conv1D over MFCC frames (coefficients as channels), blocks of [Conv k5 → BatchNorm → MaxPool 2 →
/// ELU → Dropout], averaged over time. <see cref="Trunk"/> is shared with the fused baseline.
/// </summary>
internal sealed class MfccConv1d : EmotionNet
{
    private readonly Conv1dTrunk trunk;
    private readonly Linear head;

    public MfccConv1d(int bands, int labels, IReadOnlyList<int> channels, double dropoutRate)
        : base(nameof(MfccConv1d), bands, labels)
    {
        trunk = new Conv1dTrunk(bands, channels, dropoutRate);
        head = nn.Linear(trunk.OutChannels, labels);
        RegisterComponents();
    }

    public override string InputKind => ModelContract.Mfcc;

    public override int MinFrames => trunk.MinFrames;

    protected override Tensor Classify(Tensor x, Tensor? gender, Tensor? prosody) => head.call(trunk.call(x.squeeze(1)));

    protected override string AppendOnnx(G g, string x, string? prosody)
    {
        var squeezed = g.Node("Squeeze", [x, g.Int64s("axes_1", 1)]);
        return OnnxExport.Linear(g, head, trunk.AppendOnnx(g, squeezed));
    }
}

/// <summary>Conv1D blocks over [B, channels, T], averaged over time to [B, C].</summary>
internal sealed class Conv1dTrunk : TorchSharp.torch.nn.Module<Tensor, Tensor>
{
    private const double BatchNormEps = 1e-5;
    private const int Kernel = 5;

    private readonly ModuleList<Conv1d> convs = new();
    private readonly ModuleList<BatchNorm1d> norms = new();
    private readonly Dropout dropout;
    private readonly int[] _channels;
    private readonly int _inChannels;

    public Conv1dTrunk(int inChannels, IReadOnlyList<int> channels, double dropoutRate) : base(nameof(Conv1dTrunk))
    {
        if (channels.Count == 0) throw new ArgumentException("the Conv1D trunk needs at least one block", nameof(channels));
        _channels = [.. channels];
        _inChannels = inChannels;
        int inCh = inChannels;
        foreach (var c in _channels)
        {
            convs.Add(nn.Conv1d(inCh, c, Kernel, padding: Kernel / 2));
            norms.Add(nn.BatchNorm1d(c, eps: BatchNormEps));
            inCh = c;
        }
        dropout = nn.Dropout(dropoutRate);
        RegisterComponents();
    }

    public int OutChannels => _channels[^1];

    public int MinFrames => 1 << _channels.Length;

    public override Tensor forward(Tensor x)
    {
        for (int i = 0; i < _channels.Length; i++)
            // pooling before the activation: the same values (ELU is increasing) for half the activations
            x = dropout.call(EmotionNet.Elu(nn.functional.max_pool1d(norms[i].call(convs[i].call(x)), 2)));
        return x.mean([2]);
    }

    public string AppendOnnx(G g, string x)
    {
        for (int i = 0; i < _channels.Length; i++)
        {
            var (w, b) = FoldConv(i);
            int inCh = i == 0 ? _inChannels : _channels[i - 1];
            x = g.Node("Conv", [x, g.Floats("conv_W", w, _channels[i], inCh, Kernel), g.Floats("conv_b", b, _channels[i])],
                G.Ints("kernel_shape", Kernel), G.Ints("pads", Kernel / 2, Kernel / 2));
            x = g.Node("MaxPool", [x], G.Ints("kernel_shape", 2), G.Ints("strides", 2));
            x = g.Node("Elu", [x], G.Float("alpha", 1f));
        }
        return g.Node("ReduceMean", [x], G.Ints("axes", 2), G.Int("keepdims", 0));
    }

    private (float[], float[]) FoldConv(int i) => OnnxExport.Fold(convs[i].weight!, convs[i].bias, norms[i], BatchNormEps);
}
