using Streaming.Contracts;

namespace Streaming.Tests.Distributed;

/// <summary>One window against the one an uninterrupted run gave: what "identical" means in every distributed comparison.</summary>
internal static class WindowAssert
{
    /// <summary>Same times and labels, confidence and probabilities within float tolerance (1e-5), same final flag.</summary>
    public static void Same(EmotionWindow want, EmotionWindow got)
    {
        var where = $"{got.Stream} window {got.Index}";
        Assert.True(want.StartSeconds == got.StartSeconds && want.EndSeconds == got.EndSeconds, $"{where}: {got.StartSeconds}-{got.EndSeconds} s, expected {want.StartSeconds}-{want.EndSeconds} s");
        Assert.True(want.Label == got.Label && want.VotedLabel == got.VotedLabel, $"{where}: {got.Label}/{got.VotedLabel}, expected {want.Label}/{want.VotedLabel}");
        Assert.True(Math.Abs(want.Confidence - got.Confidence) <= 1e-5f, $"{where}: confidence {got.Confidence}, expected {want.Confidence}");
        Assert.True(want.Probabilities.Length == got.Probabilities.Length, $"{where}: {got.Probabilities.Length} probabilities, expected {want.Probabilities.Length}");
        for (var p = 0; p < want.Probabilities.Length; p++)
            Assert.True(Math.Abs(want.Probabilities[p] - got.Probabilities[p]) <= 1e-5f, $"{where}: probability {p} {got.Probabilities[p]}, expected {want.Probabilities[p]}");
        Assert.True(want.IsFinal == got.IsFinal, $"{where}: final {got.IsFinal}, expected {want.IsFinal}");
    }
}
