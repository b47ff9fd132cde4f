using Streaming.Audio;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Pipeline;
using Streaming.Standalone;

namespace Streaming.Tests.Pipeline;

public sealed class CallAnalyzerTests
{
    [Fact]
    public async Task AnalyzeAsync_MoreCallsThanTheStoreKeepsByDefault_EveryCallHasItsTimeline()
    {
        // The in-memory store keeps 1000 ended calls by default; one more must not lose the first call's windows.
        var dir = Directory.CreateTempSubdirectory("streaming-many-").FullName;
        var silence = new float[4000]; // 0.5 s at 8 kHz: one short (silence) window per call, no model call
        var files = Enumerable.Range(0, 1001).Select(i =>
        {
            var path = Path.Combine(dir, $"call{i}.wav");
            WavWriter.WritePcm16(path, 8000, 1, silence);
            return new CallFile(path, $"call{i}");
        }).ToList();
        using var model = EmotionModel.Load(AnalyzeCommand.DefaultModelPath, FeatureConfig.Telephone8k);

        try
        {
            var results = await new CallAnalyzer(model, new ClassifierOptions())
                .AnalyzeAsync(files, customerOnly: false, realTime: false, progress: null, CancellationToken.None);

            Assert.All(results, r => Assert.NotEmpty(Assert.Single(r.Timeline!.Speakers).Windows));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
