using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using G = Streaming.Training.Onnx.OnnxGraphBuilder;

namespace Streaming.Training.Models;

/// <summary>
/// Attentive statistics pooling (Okabe, Koshinaka &amp; Shinoda, Interspeech 2018): a one-hidden-layer attention
/// scores every time step, e_t = vᵀ tanh(W h_t + b), the scores are softmaxed over time, and the pooled vector is
/// the attention-weighted mean and standard deviation of the steps, [μ; σ] with μ = Σ α_t h_t and
/// σ = √(Σ α_t h_t⊙h_t − μ⊙μ). Input [batch, time, features], output [batch, 2·features].
/// </summary>
internal sealed class AttentiveStatsPooling : nn.Module<Tensor, Tensor>
{
    /// <summary>
    /// Hidden units of the attention. Small on purpose: for the shipped 16-32-64-64 / 128 net (256 features, 12 steps per
    /// 2 s window) the pooling adds ≈ 0.21 M multiply-adds to the ≈ 43 M of the convolutions and LSTM (0.5 %) and
    /// 17,536 parameters (the attention's 16,512 and the head's wider input).
    /// </summary>
    public const int AttentionUnits = 64;

    /// <summary>Floor under the variance: keeps σ's gradient finite where a feature barely moves over the window.</summary>
    public const float VarianceFloor = 1e-5f;

    private readonly Linear attention;
    private readonly Linear score;
    // held by the module so the native scalar lives as long as it (TorchSharp temporaries can be freed mid-call, see EmotionNet.Elu)
    private readonly Scalar _floor = VarianceFloor;
    private readonly int _features;

    public AttentiveStatsPooling(int features) : base(nameof(AttentiveStatsPooling))
    {
        _features = features;
        attention = nn.Linear(features, AttentionUnits);
        // a bias here would add the same constant to every step's score, which the softmax cancels
        score = nn.Linear(AttentionUnits, 1, hasBias: false);
        RegisterComponents();
    }

    public int OutputFeatures => 2 * _features;

    public override Tensor forward(Tensor steps)
    {
        var weights = score.call(attention.call(steps).tanh()).softmax(1); // [B, T, 1]
        var mean = (weights * steps).sum(1);
        var meanSquare = (weights * steps * steps).sum(1);
        // relu: rounding can push Σαh² − μ² a hair below zero
        var std = (nn.functional.relu(meanSquare - mean * mean) + _floor).sqrt();
        return cat([mean, std], 1);
    }

    /// <summary>Appends the pooling for <paramref name="steps"/> [time, batch, features]; returns [batch, 2·features].</summary>
    public string AppendOnnx(G g, string steps)
    {
        var w = EmotionNet.Values(attention.weight!); // [units, features]; MatMul wants its transpose
        var wt = new float[w.Length];
        for (int u = 0; u < AttentionUnits; u++)
            for (int f = 0; f < _features; f++) wt[f * AttentionUnits + u] = w[u * _features + f];
        var hidden = g.Node("MatMul", [steps, g.Floats("attention_W", wt, _features, AttentionUnits)]);
        hidden = g.Node("Tanh", [g.Node("Add", [hidden, g.Floats("attention_b", EmotionNet.Values(attention.bias!), AttentionUnits)])]);
        var scores = g.Node("MatMul", [hidden, g.Floats("attention_v", EmotionNet.Values(score.weight!), AttentionUnits, 1)]); // [T, B, 1]
        var weights = g.Node("Softmax", [scores], G.Int("axis", 0));
        // opset 13+ ReduceSum takes its axes as an input
        var time = g.Int64s("axes_time", 0);
        var mean = g.Node("ReduceSum", [g.Node("Mul", [weights, steps]), time], G.Int("keepdims", 0));
        var meanSquare = g.Node("ReduceSum", [g.Node("Mul", [weights, g.Node("Mul", [steps, steps])]), time], G.Int("keepdims", 0));
        var variance = g.Node("Relu", [g.Node("Sub", [meanSquare, g.Node("Mul", [mean, mean])])]);
        var std = g.Node("Sqrt", [g.Node("Add", [variance, g.Floats("variance_floor", [VarianceFloor], 1)])]);
        return g.Node("Concat", [mean, std], G.Int("axis", 1));
    }
}
