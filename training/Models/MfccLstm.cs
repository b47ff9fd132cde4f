using Streaming.Contracts;
using TorchSharp.Modules;
using static TorchSharp.torch;
using G = Streaming.Training.Onnx.OnnxGraphBuilder;

namespace Streaming.Training.Models;

/// <summary>Baseline: one LSTM over MFCC frames, outputs averaged over time, a linear layer to the labels.</summary>
internal sealed class MfccLstm : EmotionNet
{
    private readonly LSTM lstm;
    private readonly Dropout dropout;
    private readonly Linear head;
    private readonly int _hidden;

    public MfccLstm(int bands, int labels, int hidden, double dropoutRate) : base(nameof(MfccLstm), bands, labels)
    {
        _hidden = hidden;
        lstm = nn.LSTM(bands, hidden, batchFirst: true);
        dropout = nn.Dropout(dropoutRate);
        head = nn.Linear(hidden, labels);
        RegisterComponents();
    }

    public override string InputKind => ModelContract.Mfcc;

    public override int MinFrames => 1;

    protected override Tensor Classify(Tensor x, Tensor? gender, Tensor? prosody)
    {
        var (y, _, _) = lstm.call(x.squeeze(1).transpose(1, 2));
        return head.call(dropout.call(y.mean([1])));
    }

    protected override string AppendOnnx(G g, string x, string? prosody)
    {
        var squeezed = g.Node("Squeeze", [x, g.Int64s("axes_1", 1)]);
        var tb = g.Node("Transpose", [squeezed], G.Ints("perm", 2, 0, 1)); // [B, C, T] → [T, B, C]
        var y = OnnxExport.Lstm(g, lstm, tb, Bands, _hidden, bidirectional: false);
        var single = g.Node("Squeeze", [y, g.Int64s("axes_1", 1)]); // [T, 1, B, H] → [T, B, H]
        var pooled = g.Node("ReduceMean", [single], G.Ints("axes", 0), G.Int("keepdims", 0));
        return OnnxExport.Linear(g, head, pooled);
    }
}
