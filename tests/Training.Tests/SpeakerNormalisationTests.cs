using Streaming.Training;
using Streaming.Training.Data;

namespace Streaming.Tests.Training;

public sealed class SpeakerNormalisationTests
{
    private const int Bands = 2;
    private static readonly float[] PriorMean = [10, -10];
    private static readonly float[] PriorStd = [1, 2];

    /// <summary>A clip of <paramref name="frames"/> frames, every band <paramref name="value"/>, speech span as given.</summary>
    private static Utterance Clip(int line, string speaker, int label, int frames, float value, (int, int) speech)
    {
        var f = Enumerable.Repeat(value, frames * Bands).ToArray();
        var row = new ManifestRow(line, $"{line}.wav", "c", speaker, "F", label, "train", 0);
        return new Utterance(row, [f], [frames], [speech]);
    }

    [Fact]
    public void Earlier_OtherClipsOfTheSpeaker_NeverTheTargetOrAnotherSpeaker()
    {
        var target = Clip(1, "a", 0, 10, 0, (0, 10));
        var clips = new[] { target, Clip(2, "a", 1, 10, 0, (0, 10)), Clip(3, "b", 0, 10, 0, (0, 10)), Clip(4, "a", 0, 10, 0, (0, 10)) };

        for (int seed = 0; seed < 20; seed++)
        {
            var earlier = SpeakerNormalisation.Earlier(target, clips, PrefixOrder.Random, 0, new Random(seed));
            Assert.Equal([2, 4], earlier.Select(u => u.Row.Line).Order());
        }
    }

    [Theory]
    [InlineData(true, new[] { 0, 0, 1, 1 })]
    [InlineData(false, new[] { 1, 1, 0, 0 })]
    public void Earlier_NeutralOrders_PutThatKindFirst(bool neutralFirst, int[] labels)
    {
        var order = neutralFirst ? PrefixOrder.NeutralFirst : PrefixOrder.NonNeutralFirst;
        var target = Clip(1, "a", 0, 10, 0, (0, 10));
        var clips = new[] { target, Clip(2, "a", 1, 10, 0, (0, 10)), Clip(3, "a", 0, 10, 0, (0, 10)), Clip(4, "a", 1, 10, 0, (0, 10)), Clip(5, "a", 0, 10, 0, (0, 10)) };

        var earlier = SpeakerNormalisation.Earlier(target, clips, order, 0, new Random(3));

        Assert.Equal(labels, earlier.Select(u => u.Row.Label));
    }

    [Fact]
    public void Statistics_NothingHeardYet_IsThePrior()
    {
        var (mean, std) = SpeakerNormalisation.Statistics([], Bands, 6000, PriorMean, PriorStd, 300);

        Assert.Equal(PriorMean, mean);
        Assert.Equal(PriorStd[0], std[0], 1e-5);
        Assert.Equal(PriorStd[1], std[1], 1e-5);
    }

    [Fact]
    public void Statistics_PriorWeighsLikeItsPseudoFrames()
    {
        // 100 speech frames at 0 against a prior of 100 pseudo-frames at ±10: the mean lands half-way
        var heard = Clip(2, "a", 0, 100, 0, (0, 100));

        var (mean, std) = SpeakerNormalisation.Statistics([(heard.Variants[0], heard.Speech[0])], Bands, 6000, PriorMean, PriorStd, 100);

        Assert.Equal(5, mean[0], 1e-4);
        Assert.Equal(-5, mean[1], 1e-4);
        // E[x²] = (100·(1 + 100) + 0) / 200 = 50.5, variance 50.5 - 25 = 25.5
        Assert.Equal(Math.Sqrt(25.5), std[0], 1e-4);
    }

    [Fact]
    public void Statistics_SpeechFramesOnly_AndOnlyThePrefix()
    {
        // clip 1: frames 0-9 silence at -50, speech frames 10-19 at 2; clip 2 (later in the call) at 100
        var first = Clip(2, "a", 0, 20, -50, (10, 20));
        first.Variants[0].AsSpan(10 * Bands).Fill(2);
        var later = Clip(3, "a", 0, 20, 100, (0, 20));
        var clips = new[] { (first.Variants[0], first.Speech[0]), (later.Variants[0], later.Speech[0]) };

        // a prefix of 10 frames ends with clip 1's speech: neither its silence nor clip 2 may count
        var (mean, std) = SpeakerNormalisation.Statistics(clips, Bands, 10, PriorMean, PriorStd, 1e-6);

        Assert.Equal(2, mean[0], 1e-3);
        Assert.Equal(2, mean[1], 1e-3);
        Assert.True(std[0] < 0.01, $"std {std[0]}");

        // 15 frames: five of clip 2 follow
        var (mean15, _) = SpeakerNormalisation.Statistics(clips, Bands, 15, PriorMean, PriorStd, 1e-6);
        Assert.Equal((10 * 2 + 5 * 100) / 15.0, mean15[0], 1e-3);
    }

    [Fact]
    public void Apply_StandardisesEachBand()
    {
        float[] window = [1, 3, 10, 30]; // [bands, frames] band-major, 2 frames

        SpeakerNormalisation.Apply(window, 2, [2, 20], [1, 10]);

        Assert.Equal([-1, 1, -1, 1], window);
    }
}
