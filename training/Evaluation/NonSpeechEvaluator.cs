using Streaming.Contracts;
using Streaming.Inference;
using Streaming.Training.Data;

namespace Streaming.Training.Evaluation;

/// <summary>One kind of non-speech signal: windows reported and how many of them got an emotion label.</summary>
internal sealed record NonSpeechResult(
    [property: System.Text.Json.Serialization.JsonPropertyName("kind")] string Kind,
    [property: System.Text.Json.Serialization.JsonPropertyName("clips")] int Clips,
    [property: System.Text.Json.Serialization.JsonPropertyName("windows")] int Windows,
    [property: System.Text.Json.Serialization.JsonPropertyName("labelled")] int Labelled)
{
    [System.Text.Json.Serialization.JsonPropertyName("false_label_rate")]
    public double FalseLabelRate => Windows == 0 ? 0 : (double)Labelled / Windows;
}

/// <summary>
/// Runs generated non-speech (<see cref="NonSpeechSignals"/>) through the featurizer's code and the services'
/// classifier engine (speech gate, windowing, model), with default options unless given, one stream per clip, and counts
/// the reported windows that carry an emotion label instead of silence.
/// </summary>
internal static class NonSpeechEvaluator
{
    public static List<NonSpeechResult> Run(IEmotionModel model, int clipsPerKind, double seconds, int seed, ClassifierOptions? options = null)
    {
        var contract = model.Contract;
        if (contract.Features.SampleRate != NonSpeechSignals.SampleRate)
            throw new InvalidDataException($"model '{contract.Name}' runs at {contract.Features.SampleRate} Hz; the non-speech set is generated at {NonSpeechSignals.SampleRate} Hz");
        using var engine = new ClassifierEngine(model, options);
        var results = new List<NonSpeechResult>();
        var windows = new List<EmotionWindow>();
        for (int k = 0; k < NonSpeechSignals.Kinds.Length; k++)
        {
            var kind = NonSpeechSignals.Kinds[k];
            int total = 0, labelled = 0;
            for (int c = 0; c < clipsPerKind; c++)
            {
                // seeds from arithmetic, not HashCode.Combine, which .NET randomises per process
                var signal = NonSpeechSignals.Generate(kind, seconds, new Random(seed * 7919 + k * 1009 + c));
                windows.Clear();
                engine.Accept(FeatureStore.ClassifierMessage(signal, contract, new StreamKey(StreamKey.DefaultTenant, $"{kind}{c}", "line")));
                engine.Flush(windows);
                total += windows.Count;
                labelled += windows.Count(w => w.Label != EmotionWindow.Silence);
            }
            results.Add(new NonSpeechResult(kind, clipsPerKind, total, labelled));
        }
        return results;
    }
}
