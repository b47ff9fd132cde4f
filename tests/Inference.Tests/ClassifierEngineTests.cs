using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Tests.Shared;
using static Streaming.Tests.Inference.TestData;

namespace Streaming.Tests.Inference;

public sealed class ClassifierEngineTests
{
    // 5 frames; the constant synthetic rows are steady like a tone, so the window-level speech decision is off here
    private static readonly ClassifierOptions Options = new() { MinClassifiedSeconds = 0.05, RejectNonSpeech = false };

    private static (ClassifierEngine Engine, MeanBandModel Model) Create(ClassifierOptions? options = null)
    {
        var model = new MeanBandModel(Contract());
        return (new ClassifierEngine(model, options ?? Options), model);
    }

    [Fact]
    public void Accept_FramesOfOneStream_CutsWindowsEveryHop()
    {
        var (engine, _) = Create();
        var results = Run(engine, Chunked("customer", Rows(Repeat(Speech(1), 50)), 50, final: false));

        Assert.Equal([0L, 1, 2, 3], results.Select(w => w.Index));
        Assert.Equal([0.0, 0.1, 0.2, 0.3], results.Select(w => Math.Round(w.StartSeconds, 9)));
        Assert.Equal([0.2, 0.3, 0.4, 0.5], results.Select(w => Math.Round(w.EndSeconds, 9)));
        Assert.All(results, w => Assert.Equal("happy", w.Label));
        Assert.DoesNotContain(results, w => w.IsFinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(23)]
    public void Accept_AnyChunking_GivesSameWindows(int chunkFrames)
    {
        var rows = Rows(Repeat(Speech(0), 17), Repeat(Speech(3), 30), Repeat(Silence(), 25), Repeat(Speech(2), 11));
        var (whole, _) = Create();
        var (chunked, _) = Create();

        var expected = Run(whole, Chunked("customer", rows, 1000));
        var actual = Run(chunked, Chunked("customer", rows, chunkFrames));

        Assert.Equal(Describe(expected), Describe(actual));
    }

    [Fact]
    public void Finish_UncoveredTailLongEnough_AddsEndAlignedFinalWindow()
    {
        var (engine, _) = Create();
        var results = Run(engine, Chunked("customer", Rows(Repeat(Speech(2), 57)), 20));

        Assert.Equal([0L, 1, 2, 3, 4], results.Select(w => w.Index));
        var tail = results[^1];
        Assert.True(tail.IsFinal);
        Assert.Equal(0.37, tail.StartSeconds, 9);
        Assert.Equal(0.57, tail.EndSeconds, 9);
        Assert.Single(results, w => w.IsFinal);
    }

    [Fact]
    public void Finish_TailShorterThanMinimum_MarksLastWindowFinal()
    {
        var (engine, _) = Create();
        var results = Run(engine, Chunked("customer", Rows(Repeat(Speech(2), 53)), 20));

        Assert.Equal([0L, 1, 2, 3], results.Select(w => w.Index));
        Assert.True(results[^1].IsFinal);
        Assert.Single(results, w => w.IsFinal);
    }

    [Fact]
    public void Finish_LastWindowAlreadyFlushed_RepeatsItMarkedFinal()
    {
        var (engine, _) = Create();
        var first = Run(engine, Chunked("customer", Rows(Repeat(Speech(3), 50)), 50, final: false));
        var last = Run(engine, [Frames("customer", 1, 50, [], isFinal: true)]);

        var repeated = Assert.Single(last);
        Assert.True(repeated.IsFinal);
        Assert.Equal(first[^1] with { IsFinal = true }, repeated);
        Assert.Equal(0, engine.ActiveStreams);
    }

    [Fact]
    public void Finish_StreamShorterThanWindow_PadsWithLogFloor()
    {
        var (engine, model) = Create();
        var results = Run(engine, Chunked("customer", Rows(Repeat(Speech(1), 12)), 5));

        var window = Assert.Single(results);
        Assert.True(window.IsFinal);
        Assert.Equal("happy", window.Label);
        Assert.Equal(0.12, window.EndSeconds, 9);
        var input = Assert.Single(model.Inputs); // [bands, 20]: 12 real frames, then 8 of floor
        Assert.Equal(20 * Contract().InputBands, input.Length);
        Assert.Equal(2f, input[1 * 20 + 11]);
        Assert.All(Enumerable.Range(12, 8), t => Assert.Equal(Floor, input[1 * 20 + t]));
    }

    [Fact]
    public void Flush_MfccModel_FeedsMfccOfFramesAndOfTheFloorAsPadding()
    {
        var contract = Contract() with { InputKind = ModelContract.Mfcc };
        var model = new MeanBandModel(contract);
        var engine = new ClassifierEngine(model, Options);
        Run(engine, Chunked("customer", Rows(Repeat(Speech(1), 12)), 12));

        var input = Assert.Single(model.Inputs); // [40 coefficients, 20 frames]
        Assert.Equal(40 * 20, input.Length);
        var expected = new float[40];
        new Streaming.Features.MfccTransform(64, 40).Transform(Speech(1), expected);
        for (var c = 0; c < 40; c++) Assert.Equal(expected[c], input[c * 20 + 11], 5);
        // Orthonormal DCT-II of a constant row: c0 = sqrt(64)·floor, the rest 0.
        Assert.Equal(8 * Floor, input[0 * 20 + 12], 4);
        Assert.Equal(0f, input[5 * 20 + 19], 4);
    }

    [Fact]
    public void Finish_StreamShorterThanMinimum_ReportsOneFinalSilenceWindow()
    {
        var (engine, model) = Create();
        var results = Run(engine, Chunked("customer", Rows(Repeat(Speech(1), 3)), 5));

        var window = Assert.Single(results);
        Assert.True(window.IsFinal);
        Assert.Equal(EmotionWindow.Silence, window.Label);
        Assert.Empty(model.BatchSizes);
    }

    [Fact]
    public void Flush_WindowWithoutSpeechEnergy_ReportsSilenceWithoutModelCall()
    {
        var (engine, model) = Create();
        var results = Run(engine, Chunked("customer", Rows(Repeat(Silence(), 40)), 40));

        Assert.Equal(3, results.Count);
        Assert.All(results, w =>
        {
            Assert.Equal(EmotionWindow.Silence, w.Label);
            Assert.Equal(EmotionWindow.Silence, w.VotedLabel);
            Assert.Empty(w.Probabilities);
            Assert.Equal(0f, w.Confidence);
        });
        Assert.Empty(model.BatchSizes);
    }

    [Theory]
    [InlineData(3, true)]   // 15 % of the window voiced: below the 20 % threshold
    [InlineData(4, false)]  // 20 %: speech
    public void Flush_VoicedFraction_DecidesSilence(int voicedFrames, bool silent)
    {
        var (engine, _) = Create();
        var rows = Rows(Repeat(Speech(0), voicedFrames), Repeat(Silence(), 20 - voicedFrames));
        var window = Run(engine, Chunked("customer", rows, 20, final: false)).Single();

        Assert.Equal(silent, window.Label == EmotionWindow.Silence);
    }

    [Fact]
    public void Flush_SpeechWindow_ProbabilitiesSumToOneAndConfidenceIsMax()
    {
        var (engine, _) = Create();
        var window = Run(engine, Chunked("customer", Rows(Repeat(Speech(3), 20)), 20, final: false)).Single();

        Assert.Equal(4, window.Probabilities.Length);
        Assert.Equal(1f, window.Probabilities.Sum(), 5);
        Assert.Equal(window.Probabilities.Max(), window.Confidence);
        Assert.Equal("angry", window.Label);
    }

    [Fact]
    public void Flush_SilenceBetweenSpeech_DoesNotVoteOrResetHistory()
    {
        // hop = window: each window is 20 frames of one kind. Votes (K = 3): sad, sad, (silence), angry → sad.
        var model = new MeanBandModel(Contract(window: 20, hop: 20));
        var engine = new ClassifierEngine(model, Options);
        var rows = Rows(Repeat(Speech(2), 40), Repeat(Silence(), 20), Repeat(Speech(3), 20));
        var results = Run(engine, Chunked("customer", rows, 80, final: false));

        Assert.Equal(["sad", "sad", EmotionWindow.Silence, "angry"], results.Select(w => w.Label));
        Assert.Equal(["sad", "sad", EmotionWindow.Silence, "sad"], results.Select(w => w.VotedLabel));
    }

    [Fact]
    public void Flush_WindowsOfManyStreams_BatchedAcrossStreamsAndSameAsOneByOne()
    {
        var customer = Rows(Repeat(Speech(1), 30), Repeat(Speech(3), 45));
        var agent = Rows(Repeat(Speech(0), 20), Repeat(Silence(), 20), Repeat(Speech(2), 26));
        var (batched, batchedModel) = Create(new ClassifierOptions { MinClassifiedSeconds = 0.05, MaxBatch = 4, RejectNonSpeech = false });
        var interleaved = Chunked("customer", customer, 10).Zip(Chunked("agent", agent, 10)).SelectMany(p => new[] { p.First, p.Second })
            .Concat(Chunked("customer", customer, 10).Skip(Chunked("agent", agent, 10).Count()));

        var together = Run(batched, interleaved);
        var (alone1, _) = Create();
        var (alone2, _) = Create();
        var expected = Run(alone1, Chunked("customer", customer, 10)).Concat(Run(alone2, Chunked("agent", agent, 10)));

        Assert.Equal(Describe(expected).Order(), Describe(together).Order());
        Assert.All(batchedModel.BatchSizes, size => Assert.InRange(size, 1, 4));
        Assert.Contains(4, batchedModel.BatchSizes);
        Assert.True(batchedModel.BatchSizes.Count < together.Count(w => w.Label != EmotionWindow.Silence));
    }

    [Fact]
    public void Accept_RedeliveredMessages_AreIgnored()
    {
        var rows = Rows(Repeat(Speech(1), 25), Repeat(Speech(2), 40));
        var messages = Chunked("customer", rows, 10);
        var (clean, _) = Create();
        var (replayed, _) = Create();
        var expected = Run(clean, messages);

        var results = new List<EmotionWindow>();
        var accepted = new List<bool>();
        foreach (var m in messages.Take(4).Concat(messages.Take(3)).Concat(messages.Skip(2)))
        {
            accepted.Add(replayed.Accept(m));
            replayed.Flush(results);
        }
        accepted.Add(replayed.Accept(messages[^1]));  // after the stream has ended
        replayed.Flush(results);

        Assert.Equal(Describe(expected), Describe(results));
        Assert.Equal(7, accepted.Count(a => a));
        Assert.False(accepted[^1]);
    }

    [Fact]
    public void Accept_EngineStartedMidStream_NumbersWindowsLikeTheFullRun()
    {
        var rows = Rows(Repeat(Speech(1), 35), Repeat(Speech(3), 45));
        var (full, _) = Create();
        var (restarted, _) = Create();
        var all = Run(full, Chunked("customer", rows, 10));

        // A restarted engine receives the stream from frame 25 on (the messages after the last committed offset).
        var bands = Contract().Features.MelBands;
        var resumed = Run(restarted, Chunked("customer", rows[(25 * bands)..], 10, firstFrame: 25, firstSequence: 3));

        Assert.Equal(3, resumed[0].Index);
        Assert.Equal(Describe(all.Where(w => w.Index >= 3)).Select(Unvoted), Describe(resumed).Select(Unvoted));
    }

    [Fact]
    public void Accept_GapInFrames_SkipsWindowsSpanningIt()
    {
        var (engine, _) = Create();
        var bands = Contract().Features.MelBands;
        var rows = Rows(Repeat(Speech(1), 80));
        var results = Run(engine,
        [
            Frames("customer", 0, 0, rows[..(30 * bands)]),
            Frames("customer", 1, 45, rows[(45 * bands)..], isFinal: true), // frames 30-44 never arrived
        ]);

        Assert.Equal([0L, 1, 5, 6], results.Select(w => w.Index));
        Assert.Equal(0.5, results[2].StartSeconds, 9);
    }

    [Fact]
    public void Accept_RealSpeechAndToneInRandomChunksWithGap_EachWindowDecidedAsTheGateDecidesItsRows()
    {
        // A real call's customer with a DTMF tone over 3 s of its second quarter, so that windows of speech, of tone and of
        // both come; random chunking and a gap, so that the stream's per-frame gate measurements are shifted, grown and restarted.
        var config = FeatureConfig.Telephone8k;
        var signal = SampleAudio.Channel("call-angry-customer.wav", 0);
        var toneFrom = signal.Length / 4;
        for (var i = 0; i < 3 * config.SampleRate; i++)
            signal[toneFrom + i] += (float)(0.2 * (Math.Sin(2 * Math.PI * 697 * i / config.SampleRate) + Math.Sin(2 * Math.PI * 1209 * i / config.SampleRate)));
        var rows = FeatureExtraction.LogMel(signal, config, out var frames);
        var bands = config.MelBands;
        var contract = Contract(window: 200, hop: 100, minFrames: 100);
        var options = new ClassifierOptions { RejectNonSpeech = true };
        var engine = new ClassifierEngine(new MeanBandModel(contract), options);

        var random = new Random(11);
        int gapFrom = frames / 2 + 17, gapTo = gapFrom + 313;
        var messages = new List<FeatureFrames>();
        for (var f = 0; f < frames;)
        {
            if (f == gapFrom) f = gapTo;
            var count = Math.Min(random.Next(1, 40), (f < gapFrom ? gapFrom : frames) - f);
            messages.Add(Frames("customer", messages.Count, f, rows[(f * bands)..((f + count) * bands)], isFinal: f + count == frames));
            f += count;
        }
        var results = Run(engine, messages);

        var gate = new SpeechGate(config, options.SpeechThresholdDbfs);
        var decided = new List<bool>();
        foreach (var window in results)
        {
            var start = (int)Math.Round(window.StartSeconds * 100);
            var real = (int)Math.Round(window.EndSeconds * 100) - start;
            var windowRows = rows.AsSpan(start * bands, real * bands);
            var voiced = Enumerable.Range(0, real).Count(t => gate.IsVoiced(rows.AsSpan((start + t) * bands, bands)));
            var speech = voiced >= options.MinVoicedFraction * real && gate.IsSpeechWindow(windowRows, real);
            Assert.True(speech == (window.Label != EmotionWindow.Silence), $"window {window.Index} at frame {start}: the gate says {(speech ? "speech" : "not speech")}, the stream {window.Label}");
            decided.Add(speech);
        }
        Assert.Contains(true, decided);
        Assert.Contains(false, decided);
        Assert.DoesNotContain(results, w => w.StartSeconds * 100 < gapTo && w.EndSeconds * 100 > gapFrom);
    }

    [Fact]
    public void Accept_WrongBandCount_ThrowsNamingStream()
    {
        var (engine, _) = Create();
        var message = new FeatureFrames(new StreamKey(StreamKey.DefaultTenant, "call-9", "agent"), SpeakerRole.Agent, 4, 0, 2, 40, new float[80], false, default);

        var error = Assert.Throws<InvalidDataException>(() => engine.Accept(message));
        Assert.Contains("call-9/agent #4", error.Message);
        Assert.Contains("40 mel bands", error.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(57)]
    public void Flush_ProsodyModel_EachWindowGetsTheStatisticsOfItsOwnFrames(int chunkFrames)
    {
        const int frames = 57; // windows at 0, 10, 20, 30 and an end-aligned tail at 37
        var model = new MeanBandModel(Contract() with { Prosody = true });
        using var engine = new ClassifierEngine(model, Options);
        var random = new Random(3);
        var prosody = new float[frames * Prosody.Values];
        for (int t = 0; t < frames; t++)
        {
            bool voiced = random.NextDouble() < 0.7;
            prosody[t * Prosody.Values + Prosody.Pitch] = voiced ? (float)(random.NextDouble() * 24 - 6) : 0;
            prosody[t * Prosody.Values + Prosody.Voicing] = (float)(voiced ? 0.6 + 0.4 * random.NextDouble() : 0.5 * random.NextDouble());
            prosody[t * Prosody.Values + Prosody.LogEnergy] = (float)(-12 + 8 * random.NextDouble());
        }
        var messages = Chunked("customer", Rows(Repeat(Speech(2), frames)), chunkFrames)
            .Select(m => m with { Prosody = prosody.AsSpan((int)m.FirstFrame * Prosody.Values, m.FrameCount * Prosody.Values).ToArray() });

        var results = Run(engine, messages);

        Assert.Equal([0.0, 0.1, 0.2, 0.3, 0.37], results.Select(w => Math.Round(w.StartSeconds, 9)));
        var expected = results.Select(w =>
        {
            int start = (int)Math.Round(w.StartSeconds * 100), real = (int)Math.Round((w.EndSeconds - w.StartSeconds) * 100);
            var statistics = new float[ProsodyStatistics.Count];
            ProsodyStatistics.Of(prosody.AsSpan(start * Prosody.Values, real * Prosody.Values), real, statistics);
            return statistics;
        }).ToList();
        Assert.Equal(expected, model.Prosody);
        Assert.Equal(results.Count, model.Prosody.Distinct(new ArrayComparer()).Count()); // different frames, different statistics
    }

    [Fact]
    public void Accept_ProsodyModelFramesWithoutProsody_ThrowsNamingTheProblem()
    {
        using var engine = new ClassifierEngine(new MeanBandModel(Contract() with { Prosody = true }), Options);

        var error = Assert.Throws<InvalidDataException>(() => engine.Accept(Frames("agent", 0, 0, Rows(Repeat(Speech(1), 5)))));

        Assert.Contains("call-1/agent #0", error.Message);
        Assert.Contains("reads prosody", error.Message);
    }

    private sealed class ArrayComparer : IEqualityComparer<float[]>
    {
        public bool Equals(float[]? x, float[]? y) => x!.SequenceEqual(y!);

        public int GetHashCode(float[] obj) => obj.Length == 0 ? 0 : obj[0].GetHashCode();
    }

    [Fact]
    public void DropCall_PendingWindows_AreForgotten()
    {
        var (engine, _) = Create();
        foreach (var m in Chunked("customer", Rows(Repeat(Speech(1), 40)), 40, final: false, call: "a")) engine.Accept(m);
        foreach (var m in Chunked("customer", Rows(Repeat(Speech(2), 40)), 40, final: false, call: "b")) engine.Accept(m);

        Assert.Equal(1, engine.DropCall("a"));
        var results = new List<EmotionWindow>();
        engine.Flush(results);

        Assert.Equal(1, engine.ActiveStreams);
        Assert.All(results, w => Assert.Equal("b", w.Stream.CallId));
        Assert.Equal(3, results.Count);
    }

    [Fact]
    public void EndStream_StreamWhoseFinalNeverCame_EndsItAsTheFinalMessageWould()
    {
        var rows = Rows(Repeat(Speech(2), 40), Repeat(Speech(0), 17));
        var (ended, _) = Create();
        var (finished, _) = Create();
        var expected = Run(finished, Chunked("customer", rows, 20));

        var actual = Run(ended, Chunked("customer", rows, 20, final: false));
        Assert.True(ended.EndStream(new StreamKey(StreamKey.DefaultTenant, "call-1", "customer")));
        ended.Flush(actual);

        Assert.Equal(Describe(expected), Describe(actual));
        Assert.Equal(0, ended.ActiveStreams);
        Assert.False(ended.EndStream(new StreamKey(StreamKey.DefaultTenant, "call-1", "customer"))); // ended already
        Assert.False(ended.EndStream(new StreamKey(StreamKey.DefaultTenant, "call-1", "agent")));    // never seen
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsNamingSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new ClassifierEngine(new MeanBandModel(Contract()), new ClassifierOptions { VotingWindows = 0 }));
        Assert.Contains("VotingWindows", error.Message);
    }

    private static IEnumerable<string> Describe(IEnumerable<EmotionWindow> windows) =>
        windows.Select(w => $"{w.Stream} {w.Index} {w.StartSeconds:F3}-{w.EndSeconds:F3} {w.Label}/{w.VotedLabel} {w.Confidence:F6} [{string.Join(",", w.Probabilities.Select(p => p.ToString("F6")))}] final={w.IsFinal}");

    /// <summary>Voting history is per process: a restarted engine votes from scratch, so compare the rest.</summary>
    private static string Unvoted(string description) => System.Text.RegularExpressions.Regex.Replace(description, @"/\S+", "");
}
