using Streaming.Inference;
using Streaming.Tests.Shared;
using Streaming.Training.Evaluation;

namespace Streaming.Tests.Training;

/// <summary>
/// Generated key tones, call-progress tones, hold music, line noise and a formant-synthesised voice through the
/// shipped model and the classifier engine: they must come out as silence, not as an emotion.
/// </summary>
public sealed class NonSpeechTests
{
    private static readonly string ModelPath = Path.Combine(RepositoryPaths.Root, "models", "emotion-cnn-bilstm.onnx");

    [Fact]
    public void Run_ShippedModelWithDefaultGate_FewWindowsGetAnEmotion()
    {
        using var model = OnnxEvaluator.OpenModel(ModelPath, 1);

        var results = NonSpeechEvaluator.Run(model, clipsPerKind: 8, seconds: 20, seed: 1);

        Assert.Equal(NonSpeechSignals.Kinds, results.Select(r => r.Kind));
        var overall = (double)results.Sum(r => r.Labelled) / results.Sum(r => r.Windows);
        Assert.True(overall < 0.02, $"non-speech windows with an emotion: {overall:P1} ({Describe(results)})");
        // the synthetic voice is speech-like by design and gets through more often (models/README.md, Non-speech)
        Assert.All(results, r => Assert.True(r.FalseLabelRate < (r.Kind == "synthetic-voice" ? 0.08 : 0.05), $"{r.Kind}: {r.FalseLabelRate:P1} of {r.Windows} windows labelled ({Describe(results)})"));
    }

    [Fact]
    public void Run_LevelRuleAlone_LabelsMostNonSpeech()
    {
        // the set is loud enough to matter: without the window decision, the level rule passes most of it
        using var model = OnnxEvaluator.OpenModel(ModelPath, 1);

        var results = NonSpeechEvaluator.Run(model, clipsPerKind: 2, seconds: 20, seed: 1, new ClassifierOptions { RejectNonSpeech = false });

        Assert.All(results, r => Assert.True(r.FalseLabelRate > 0.5, $"{r.Kind}: only {r.FalseLabelRate:P1} labelled by the level rule alone"));
    }

    [Theory]
    [InlineData("dtmf")]
    [InlineData("hold-music")]
    [InlineData("synthetic-voice")]
    public void Generate_SameSeed_SameSignal(string kind)
    {
        var a = NonSpeechSignals.Generate(kind, 2, new Random(5));
        var b = NonSpeechSignals.Generate(kind, 2, new Random(5));

        Assert.InRange(a.Length, 14400, 17800); // 2 s, ±10 % when the telephone channel changes the speed
        Assert.Equal(a, b);
        Assert.Contains(a, v => v != 0);
    }

    [Fact]
    public void Generate_UnknownKind_ThrowsNamingKinds()
    {
        var e = Assert.Throws<ArgumentException>(() => NonSpeechSignals.Generate("fax", 1, new Random(1)));
        Assert.Contains("dtmf", e.Message);
    }

    private static string Describe(List<NonSpeechResult> results) => string.Join(", ", results.Select(r => $"{r.Kind} {r.Labelled}/{r.Windows}"));
}
