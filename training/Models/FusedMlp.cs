using Streaming.Contracts;
using TorchSharp.Modules;
using static TorchSharp.torch;
using G = Streaming.Training.Onnx.OnnxGraphBuilder;

namespace Streaming.Training.Models;

/// <summary>
/// Baseline from the research: Conv1D deep features fused with window statistics (per-coefficient MFCC
/// mean and standard deviation; c0 tracks energy) and the speaker's gender, into an MLP. Gender comes
/// from the manifest, which the live product does not have, so this model is for cross-validation only.
/// </summary>
internal sealed class FusedMlp : EmotionNet
{
    private readonly Conv1dTrunk trunk;
    private readonly Linear hidden;
    private readonly Dropout dropout;
    private readonly Linear head;

    public FusedMlp(int bands, int labels, IReadOnlyList<int> channels, int hiddenUnits, double dropoutRate)
        : base(nameof(FusedMlp), bands, labels)
    {
        trunk = new Conv1dTrunk(bands, channels, dropoutRate);
        hidden = nn.Linear(trunk.OutChannels + 2 * bands + 3, hiddenUnits);
        dropout = nn.Dropout(dropoutRate);
        head = nn.Linear(hiddenUnits, labels);
        RegisterComponents();
    }

    public override string InputKind => ModelContract.Mfcc;

    public override int MinFrames => trunk.MinFrames;

    public override bool Exportable => false;

    protected override Tensor Classify(Tensor x, Tensor? gender, Tensor? prosody)
    {
        var frames = x.squeeze(1);
        var g = gender ?? zeros(frames.shape[0], 3, device: frames.device);
        var fused = cat([trunk.call(frames), frames.mean([2]), frames.std(2, unbiased: false), g], 1);
        return head.call(dropout.call(EmotionNet.Elu(hidden.call(fused))));
    }

    protected override string AppendOnnx(G g, string normalised, string? prosody) =>
        throw new NotSupportedException("the fused baseline is not exported");
}
