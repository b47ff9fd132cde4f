using Streaming.Features;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using G = Streaming.Training.Onnx.OnnxGraphBuilder;

namespace Streaming.Training.Models;

/// <summary>
/// The prosodic branch (issue 12, lever 5): a window's <see cref="ProsodyStatistics"/>, standardised by training-set
/// statistics held as buffers, through one hidden layer (ELU, dropout) whose output is fused with the CNN-BiLSTM's pooled
/// embedding before the head. Input [batch, ProsodyStatistics.Count], output [batch, Units].
/// </summary>
internal sealed class ProsodyBranch : nn.Module<Tensor, Tensor>
{
    public const int Units = 32;

    private readonly Linear hidden;
    private readonly Dropout dropout;
#pragma warning disable IDE1006 // names are the state_dict keys
    private readonly Tensor prosody_mean;
    private readonly Tensor prosody_scale;
#pragma warning restore IDE1006

    public ProsodyBranch(double dropoutRate) : base(nameof(ProsodyBranch))
    {
        hidden = nn.Linear(ProsodyStatistics.Count, Units);
        dropout = nn.Dropout(dropoutRate);
        prosody_mean = zeros(1, ProsodyStatistics.Count);
        prosody_scale = ones(1, ProsodyStatistics.Count);
        register_buffer("prosody_mean", prosody_mean);
        register_buffer("prosody_scale", prosody_scale);
        RegisterComponents();
    }

    /// <summary>Sets the standardisation from the training windows' statistics.</summary>
    public void SetNormalisation(ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        var scale = new float[std.Length];
        for (int i = 0; i < scale.Length; i++) scale[i] = 1f / MathF.Max(std[i], 1e-3f);
        using var _ = no_grad();
        prosody_mean.copy_(tensor(mean.ToArray()).reshape(1, ProsodyStatistics.Count));
        prosody_scale.copy_(tensor(scale).reshape(1, ProsodyStatistics.Count));
    }

    public override Tensor forward(Tensor statistics) =>
        dropout.call(EmotionNet.Elu(hidden.call((statistics - prosody_mean) * prosody_scale)));

    /// <summary>The eval-mode branch: standardisation, the hidden layer and ELU (dropout is the identity); returns its output's name.</summary>
    public string AppendOnnx(G g, string statistics)
    {
        var centred = g.Node("Sub", [statistics, g.Floats("prosody_mean", EmotionNet.Values(prosody_mean), 1, ProsodyStatistics.Count)]);
        var scaled = g.Node("Mul", [centred, g.Floats("prosody_scale", EmotionNet.Values(prosody_scale), 1, ProsodyStatistics.Count)]);
        return g.Node("Elu", [OnnxExport.Linear(g, hidden, scaled)], G.Float("alpha", 1f));
    }
}
