using Streaming.Contracts;
using Streaming.Features;
using Streaming.Pipeline;

namespace Streaming.Tests.Pipeline;

public sealed class FeaturizerStageTests
{
    private static readonly FeatureConfig Config = FeatureConfig.Telephone8k;
    private static readonly StreamKey Key = new(StreamKey.DefaultTenant, "call", "customer");

    private static float[] Noise(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
    }

    // the extractor computes frames that arrive eight or more at a time in another kernel than the
    // rest: values depend on the chunking by float rounding only (1e-5), and the stage rounds them to half
    // precision, which can put two values that close on either side of a rounding boundary: one unit of half apart
    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f + Math.Abs(expected[i]) / 1024, $"value {i}: {actual[i]}, expected {expected[i]}");
    }

    private static List<AudioChunk> Chunks(float[] signal, int size)
    {
        var chunks = new List<AudioChunk>();
        for (int offset = 0, seq = 0; offset < signal.Length; offset += size, seq++)
        {
            var n = Math.Min(size, signal.Length - offset);
            chunks.Add(new AudioChunk(Key, SpeakerRole.Customer, seq, offset, 8000, signal.AsSpan(offset, n).ToArray(),
                offset + n >= signal.Length, DateTimeOffset.UnixEpoch));
        }
        return chunks;
    }

    [Fact]
    public async Task HandleAsync_ChunkedStream_MatchesWholeSignal()
    {
        var signal = Noise(8000 * 3 + 123, 1);
        var sink = new CollectingSink<FeatureFrames>();
        var stage = new FeaturizerStage(Config, sink);
        await stage.HandleAsync(Chunks(signal, 1600), CancellationToken.None);

        var expected = FeatureExtraction.LogMel(signal, Config, out var frames);
        Assert.Equal(frames, sink.Messages.Sum(m => m.FrameCount));
        AssertClose(expected, sink.Messages.SelectMany(m => m.LogMel).ToArray());
        Assert.Equal(0, stage.ActiveStreams); // the final chunk released the stream
    }

    [Fact]
    public async Task HandleAsync_Frames_AreTheExtractorsRoundedToHalfPrecision()
    {
        var chunks = Chunks(Noise(8000 * 2 + 37, 4), 160); // 20 ms chunks, as live calls arrive
        var sink = new CollectingSink<FeatureFrames>();
        await new FeaturizerStage(Config, sink).HandleAsync(chunks, CancellationToken.None);

        var extractor = new LogMelExtractor(Config);
        var expected = new List<float>();
        foreach (var chunk in chunks)
        {
            var rows = new float[extractor.MaxFrames(chunk.Samples.Length) * Config.MelBands];
            extractor.Process(chunk.Samples, rows);
            expected.AddRange(rows.Select(v => (float)(Half)v));
        }
        var actual = sink.Messages.SelectMany(m => m.LogMel).ToArray();

        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits)); // bit for bit
        Assert.True(FramePrecision.IsHalf(actual));
    }

    [Fact]
    public async Task EndStreamAsync_StreamWithoutItsFinalChunk_EmptyFinalFramesAfterTheLastAndStreamForgotten()
    {
        var chunks = Chunks(Noise(8000, 3), 1600);
        var sink = new CollectingSink<FeatureFrames>();
        var stage = new FeaturizerStage(Config, sink);
        await stage.HandleAsync(chunks.SkipLast(1).ToList(), CancellationToken.None);
        var last = sink.Messages[^1];

        await stage.EndStreamAsync(Key, CancellationToken.None);
        await stage.EndStreamAsync(Key, CancellationToken.None); // nothing held any more: nothing published

        var end = sink.Messages[^1];
        Assert.Equal(chunks.Count, sink.Messages.Count);
        Assert.Equal((last.Sequence + 1, last.FirstFrame + last.FrameCount, 0, true, SpeakerRole.Customer), (end.Sequence, end.FirstFrame, end.FrameCount, end.IsFinal, end.Role));
        Assert.Null(stage.ResumeSequence(Key));
        Assert.Equal(0, stage.ActiveStreams);
    }

    [Fact]
    public async Task HandleAsync_RedeliveredChunk_IsIgnored()
    {
        var chunks = Chunks(Noise(8000, 2), 1600);
        var sink = new CollectingSink<FeatureFrames>();
        var stage = new FeaturizerStage(Config, sink);
        await stage.HandleAsync(chunks.Take(3).ToList(), CancellationToken.None);
        await stage.HandleAsync(chunks.Skip(1).ToList(), CancellationToken.None); // 1 and 2 again, then the rest

        Assert.Equal(Enumerable.Range(0, chunks.Count).Select(i => (long)i), sink.Messages.Select(m => m.Sequence));
    }

    [Fact]
    public async Task HandleAsync_StartsMidStream_KeepsStreamWideFrameIndices()
    {
        var signal = Noise(8000 * 2, 3);
        var chunks = Chunks(signal, 1000); // 1000 is not a multiple of the 80-sample hop
        var whole = new CollectingSink<FeatureFrames>();
        await new FeaturizerStage(Config, whole).HandleAsync(chunks, CancellationToken.None);

        var takeover = new CollectingSink<FeatureFrames>();
        await new FeaturizerStage(Config, takeover).HandleAsync(chunks.Skip(5).ToList(), CancellationToken.None);

        var first = takeover.Messages[0].FirstFrame;
        Assert.Equal((5000 + 79) / 80, first);
        var wholeRows = whole.Messages.SelectMany(m => m.LogMel).Skip((int)first * Config.MelBands).ToArray();
        var takeoverRows = takeover.Messages.SelectMany(m => m.LogMel).ToArray();
        AssertClose(wholeRows, takeoverRows);
    }

    [Fact]
    public async Task HandleAsync_ChunksMissingMidStream_FramesAfterTheGapKeepTheirStreamPosition()
    {
        var chunks = Chunks(Noise(8000 * 2, 4), 1600);
        var whole = new CollectingSink<FeatureFrames>();
        await new FeaturizerStage(Config, whole).HandleAsync(chunks, CancellationToken.None);

        // chunks 3-5 never arrive: what follows them is featurized where it belongs in the stream, not right after chunk 2
        var gapped = new CollectingSink<FeatureFrames>();
        await new FeaturizerStage(Config, gapped).HandleAsync([.. chunks.Take(3), .. chunks.Skip(6)], CancellationToken.None);

        var after = gapped.Messages.Where(m => m.Sequence >= 6).ToList();
        Assert.Equal(6 * 1600 / 80, after[0].FirstFrame);
        var wholeRows = whole.Messages.SelectMany(m => m.LogMel).Skip((int)after[0].FirstFrame * Config.MelBands).ToArray();
        AssertClose(wholeRows, after.SelectMany(m => m.LogMel).ToArray());
    }

    [Fact]
    public async Task HandleAsync_WrongSampleRate_RejectsNamingTheRate()
    {
        var stage = new FeaturizerStage(Config, new CollectingSink<FeatureFrames>());
        var chunk = new AudioChunk(Key, SpeakerRole.Customer, 0, 0, 16000, new float[160], false, DateTimeOffset.UnixEpoch);
        var e = await Assert.ThrowsAsync<MessageRejectedException>(() => stage.HandleAsync([chunk], CancellationToken.None).AsTask());
        Assert.Contains("16000 Hz", e.Message);
    }
    /// <summary>Vowel-like buzz at 140 Hz with pauses: voiced frames, unvoiced frames and pitch to carry.</summary>
    private static float[] Voiced(int n, int seed)
    {
        var noise = Noise(n, seed);
        return Enumerable.Range(0, n).Select(i => (i / 4000) % 3 == 2 ? 0.001f * noise[i]
            : (float)(0.2 * Math.Sin(2 * Math.PI * 140 * i / 8000) + 0.1 * Math.Sin(2 * Math.PI * 280 * i / 8000)) + 0.01f * noise[i]).ToArray();
    }

    private static float[] HalfRounded(float[] values)
    {
        var copy = values.ToArray();
        FramePrecision.Round(copy);
        return copy;
    }

    [Fact]
    public async Task HandleAsync_WithProsody_EachMessageCarriesItsOwnFramesProsodyAndTheLogMelsAreUnchanged()
    {
        var signal = Voiced(8000 * 3 + 37, 5);
        var chunks = Chunks(signal, 160); // 20 ms chunks, as live calls arrive
        var plain = new CollectingSink<FeatureFrames>();
        await new FeaturizerStage(Config, plain).HandleAsync(chunks, CancellationToken.None);
        var sink = new CollectingSink<FeatureFrames>();
        var stage = new FeaturizerStage(Config, sink, prosody: true);
        await stage.HandleAsync(chunks, CancellationToken.None);

        var expected = Prosody.Frames(signal, Config, out int frames);
        Assert.Equal(frames, sink.Messages.Sum(m => m.FrameCount));
        Assert.All(sink.Messages, m => Assert.Equal(m.FrameCount * Prosody.Values, m.Prosody!.Length));
        Assert.Equal(HalfRounded(expected), sink.Messages.SelectMany(m => m.Prosody!).ToArray()); // bit for bit
        Assert.Contains(expected.Where((_, i) => i % Prosody.Values == Prosody.Pitch), p => p != 0);
        Assert.Equal(plain.Messages.SelectMany(m => m.LogMel), sink.Messages.SelectMany(m => m.LogMel));
        // every message continues where the previous one ended, at most the pitch search's look-ahead behind the plain stage
        for (int i = 0; i < chunks.Count; i++)
        {
            var (m, p) = (sink.Messages[i], plain.Messages[i]);
            Assert.Equal(i == 0 ? 0 : sink.Messages[i - 1].FirstFrame + sink.Messages[i - 1].FrameCount, m.FirstFrame);
            Assert.InRange(p.FirstFrame + p.FrameCount - (m.FirstFrame + m.FrameCount), 0, 3);
        }
        Assert.Equal(0, stage.ActiveStreams);
        Assert.All(plain.Messages, m => Assert.Null(m.Prosody));
    }

    [Fact]
    public async Task HandleAsync_WithProsodyStartingMidStream_SameProsodyAsTheWholeStream()
    {
        var chunks = Chunks(Voiced(8000 * 2, 6), 1000); // 1000 is not a multiple of the 80-sample hop
        var whole = new CollectingSink<FeatureFrames>();
        await new FeaturizerStage(Config, whole, prosody: true).HandleAsync(chunks, CancellationToken.None);

        var takeover = new CollectingSink<FeatureFrames>();
        await new FeaturizerStage(Config, takeover, prosody: true).HandleAsync(chunks.Skip(5).ToList(), CancellationToken.None);

        var first = (int)takeover.Messages[0].FirstFrame;
        Assert.Equal(whole.Messages.SelectMany(m => m.Prosody!).Skip(first * Prosody.Values), takeover.Messages.SelectMany(m => m.Prosody!));
        Assert.Equal(whole.Messages.Sum(m => m.FrameCount) - first, takeover.Messages.Sum(m => m.FrameCount));
    }

    [Fact]
    public async Task EndStreamAsync_WithProsody_TheFinalMessageCarriesTheFramesStillWaitingForTheirProsody()
    {
        var signal = Voiced(8000, 7);
        var chunks = Chunks(signal, 1600);
        var sink = new CollectingSink<FeatureFrames>();
        var stage = new FeaturizerStage(Config, sink, prosody: true);
        await stage.HandleAsync(chunks.SkipLast(1).ToList(), CancellationToken.None);

        await stage.EndStreamAsync(Key, CancellationToken.None);

        // as if the stream had ended after the chunks it got: every frame of those samples, prosody included, went out
        var received = signal.AsSpan(0, 1600 * (chunks.Count - 1));
        var expected = Prosody.Frames(received, Config, out int frames);
        var end = sink.Messages[^1];
        Assert.True(end.IsFinal);
        Assert.InRange(end.FrameCount, 1, 3);
        Assert.Equal(frames, sink.Messages.Sum(m => m.FrameCount));
        Assert.Equal(HalfRounded(expected), sink.Messages.SelectMany(m => m.Prosody!).ToArray());
        Assert.Equal(0, stage.ActiveStreams);
    }
}
